// The dbgalloc_* API for tests and programs that want to ask the allocator directly.
#include "dbgalloc/dbgalloc.h"

#include "debug/allocator.hpp"
#include "heap/arenas.hpp"
#include "interpose/runtime.hpp"
#include "platform/format.hpp"
#include "report/report.hpp"

DBGALLOC_EXPORT int dbgalloc_get_stats(struct dbgalloc_stats* out) {
  dbgalloc::interpose::ensure_started();
  dbgalloc::heap::ArenaStats stats = dbgalloc::heap::arenas().stats();
  out->allocations = stats.allocations;
  out->frees = stats.frees;
  out->live_blocks = stats.heap.live_chunks;
  out->in_use_bytes = stats.heap.in_use_bytes;
  out->mapped_bytes = stats.heap.mapped_bytes;
  out->errors = dbgalloc::report::error_count();
  return 0;
}

DBGALLOC_EXPORT int dbgalloc_check_heap(void) {
  dbgalloc::interpose::ensure_started();
  return dbgalloc::debug::check_all("dbgalloc_check_heap", reinterpret_cast<std::uintptr_t>(__builtin_return_address(0))) == 0 ? 0 : 1;
}

DBGALLOC_EXPORT void dbgalloc_print_stats(void) {
  dbgalloc::interpose::ensure_started();
  dbgalloc::interpose::print_stats();
}
