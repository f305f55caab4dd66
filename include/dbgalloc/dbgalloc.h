/* dbgalloc public C API: available when a program runs under the preload or links
 * libdbgalloc. Declared weak-friendly: check `&dbgalloc_check_heap != 0` before calling
 * when the library may be absent. */
#ifndef DBGALLOC_DBGALLOC_H
#define DBGALLOC_DBGALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dbgalloc_stats {
  size_t allocations;      /* successful allocations so far */
  size_t frees;            /* successful frees so far */
  size_t live_blocks;      /* blocks allocated and not freed */
  size_t in_use_bytes;     /* heap bytes held by live blocks, headers included */
  size_t mapped_bytes;     /* bytes the heap has mapped from the OS */
  size_t errors;           /* reports made so far */
};

/* Fills *out; returns 0. */
int dbgalloc_get_stats(struct dbgalloc_stats* out);

/* Walks every heap invariant; returns 0 when the heap is sound, else prints what is
 * broken and returns 1. */
int dbgalloc_check_heap(void);

/* Prints one statistics line to the report stream. */
void dbgalloc_print_stats(void);

/* Runs a leak check now (recoverable: never exits): prints the leak report when
 * anything is lost and returns the number of leaked blocks (definitely plus
 * indirectly lost, suppressions applied). Blocks the program can still reach are not
 * leaks. See docs/leaks.md. */
size_t dbgalloc_leak_check(void);

#ifdef __cplusplus
}
#endif

#endif
