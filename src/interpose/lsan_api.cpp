// The LeakSanitizer interface (sanitizer/lsan_interface.h) and dbgalloc_leak_check:
// thin wrappers over leaks/leaks.hpp and the debug layer's ignore marks.
#include <cstddef>
#include <cstdint>

#include "dbgalloc/dbgalloc.h"
#include "debug/allocator.hpp"
#include "interpose/runtime.hpp"
#include "leaks/leaks.hpp"
#include "options/options.hpp"
#include "platform/format.hpp"
#include "report/report.hpp"

namespace {
void warn(const char* what, const void* p, std::size_t size) {
  dbgalloc::report::output_fd();
  dbgalloc::platform::StackText<256> out;
  out.text("dbgalloc: warning: ").text(what).text(" (").hex(reinterpret_cast<std::uintptr_t>(p)).text(", ")
      .dec(size).text(")\n");
  out.flush();
}
}  // namespace

DBGALLOC_EXPORT __attribute__((noinline)) size_t dbgalloc_leak_check(void) {
  dbgalloc::interpose::ensure_started();
  return dbgalloc::leaks::check_leaks(dbgalloc::leaks::LeakCheck::recoverable);
}

DBGALLOC_EXPORT __attribute__((noinline)) void __lsan_do_leak_check(void) {
  dbgalloc::interpose::ensure_started();
  dbgalloc::leaks::check_leaks(dbgalloc::leaks::LeakCheck::final_check);
}

DBGALLOC_EXPORT __attribute__((noinline)) int __lsan_do_recoverable_leak_check(void) {
  dbgalloc::interpose::ensure_started();
  return dbgalloc::leaks::check_leaks(dbgalloc::leaks::LeakCheck::recoverable) > 0 ? 1 : 0;
}

DBGALLOC_EXPORT void __lsan_ignore_object(const void* p) {
  dbgalloc::interpose::ensure_started();
  if (!dbgalloc::debug::ignore_for_leaks(p) && dbgalloc::options::current().verbosity > 0) {
    warn("__lsan_ignore_object: not the start of a live block", p, 0);
  }
}

DBGALLOC_EXPORT void __lsan_disable(void) { ++dbgalloc::debug::leak_check_disabled_depth(); }

DBGALLOC_EXPORT void __lsan_enable(void) {
  int& depth = dbgalloc::debug::leak_check_disabled_depth();
  if (depth > 0) {
    --depth;
  } else {
    warn("__lsan_enable without a matching __lsan_disable", nullptr, 0);
  }
}

DBGALLOC_EXPORT void __lsan_register_root_region(const void* p, size_t size) {
  if (!dbgalloc::leaks::register_root_region(p, size)) warn("__lsan_register_root_region: table full", p, size);
}

DBGALLOC_EXPORT void __lsan_unregister_root_region(const void* p, size_t size) {
  if (!dbgalloc::leaks::unregister_root_region(p, size)) {
    warn("__lsan_unregister_root_region: region was not registered", p, size);
  }
}
