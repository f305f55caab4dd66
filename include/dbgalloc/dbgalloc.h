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

/* Marks every block live now as not a leak, so a later leak check only reports
 * blocks allocated after this call (the GoogleTest listener calls it as each test
 * starts). Returns the number of blocks marked. */
size_t dbgalloc_ignore_existing_blocks(void);

/* Sends reports to descriptor fd from now on (-1: back to stderr); returns the
 * descriptor reports went to before. The GoogleTest listener uses it to capture a
 * test's report. A log_path option, once its file is open, takes precedence. */
int dbgalloc_set_report_fd(int fd);

/* Sets halt_on_error (0: reports carry on; 1: the first report ends the process) and
 * returns the previous setting. The GoogleTest listener turns it off around its
 * checks so that a finding fails one test, not the whole run. */
int dbgalloc_set_halt_on_error(int halt);

#ifdef __cplusplus
}
#endif

#endif
