// The dbgalloc_* API for tests and programs that want to ask the allocator directly.
#include "dbgalloc/dbgalloc.h"

#include "debug/allocator.hpp"
#include "interpose/runtime.hpp"
#include "interpose/statistics.hpp"
#include "options/options.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"
#include "report/report.hpp"
#include "stacks/entry_frame.hpp"

DBGALLOC_EXPORT int dbgalloc_get_stats(struct dbgalloc_stats* out) {
  dbgalloc::interpose::ensure_started();
  dbgalloc::interpose::statistics::fill(out);
  return 0;
}

DBGALLOC_EXPORT int dbgalloc_check_heap(void) {
  dbgalloc::interpose::ensure_started();
  return dbgalloc::debug::check_all("dbgalloc_check_heap", DBGALLOC_ENTRY_CALLER()) == 0 ? 0 : 1;
}

DBGALLOC_EXPORT void dbgalloc_print_stats(void) {
  dbgalloc::interpose::ensure_started();
  dbgalloc::interpose::statistics::print();
}

DBGALLOC_EXPORT size_t dbgalloc_ignore_existing_blocks(void) {
  dbgalloc::interpose::ensure_started();
  return dbgalloc::debug::ignore_all_live_blocks();
}

DBGALLOC_EXPORT int dbgalloc_set_report_fd(int fd) {
  dbgalloc::interpose::ensure_started();
  int previous = dbgalloc::platform::report_fd();
  dbgalloc::platform::set_report_fd(fd);
  return previous;
}

DBGALLOC_EXPORT int dbgalloc_set_halt_on_error(int halt) {
  dbgalloc::interpose::ensure_started();
  dbgalloc::options::Options changed = dbgalloc::options::current();
  int previous = changed.halt_on_error ? 1 : 0;
  changed.halt_on_error = halt != 0;
  dbgalloc::options::set_current(changed);
  return previous;
}
