// The allocator's figures, read in one place: dbgalloc_get_stats, print_stats=1 (and
// dbgalloc_print_stats) and the sanitizer interface's getters all take them from here,
// so each figure has one definition.
#pragma once

#include <cstddef>

struct dbgalloc_stats;
struct mallinfo2;

namespace dbgalloc::interpose::statistics {

// Bytes the program's live blocks occupy in the heap (headers and canaries included),
// plus the pages of guard blocks, which are not heap chunks
// (__sanitizer_get_current_allocated_bytes).
std::size_t allocated_bytes();
// Bytes of the page allocator's spans mapped now (heap segments, directly mapped
// blocks, guard blocks), their guard pages included (__sanitizer_get_heap_size).
std::size_t mapped_bytes();
// Bytes in the heap's free chunks (__sanitizer_get_free_bytes).
std::size_t free_bytes();
// The public API's counts (dbgalloc.h): heap chunks only, guard blocks apart.
void fill(struct dbgalloc_stats* out);
// glibc's mallinfo2 (and malloc_info's figures): the heap's mapped, in-use and free
// bytes, free chunks, directly mapped blocks.
void fill(struct mallinfo2* out);
// Two or three lines on the report descriptor: counts, peaks, quarantine, guard
// blocks, errors, the stack depot and the unwinder, signal-heap allocations.
void print();

}  // namespace dbgalloc::interpose::statistics
