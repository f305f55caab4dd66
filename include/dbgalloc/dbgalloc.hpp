// dbgalloc C++ helpers: available when the program runs under the preload or links
// libdbgalloc (these call the LeakSanitizer interface functions dbgalloc exports).
#pragma once

#include <cstddef>

#include "dbgalloc/dbgalloc.h"

extern "C" {
// As declared in <sanitizer/lsan_interface.h>.
void __lsan_disable(void);
void __lsan_enable(void);
void __lsan_ignore_object(const void* p);
void __lsan_register_root_region(const void* p, size_t size);
void __lsan_unregister_root_region(const void* p, size_t size);
int __lsan_do_recoverable_leak_check(void);
void __lsan_do_leak_check(void);
}

namespace dbgalloc {

// Blocks this thread allocates while an object of this class lives are never reported
// as leaks (nor is anything reachable only from them). Nests.
//
//   {
//     dbgalloc::ScopedLeakIgnore ignore;
//     cache = new Table;   // deliberately never freed
//   }
class ScopedLeakIgnore {
 public:
  ScopedLeakIgnore() { __lsan_disable(); }
  ~ScopedLeakIgnore() { __lsan_enable(); }
  ScopedLeakIgnore(const ScopedLeakIgnore&) = delete;
  ScopedLeakIgnore& operator=(const ScopedLeakIgnore&) = delete;
};

// Marks one live block (and what only it reaches) as not a leak; returns p.
template <typename T>
T* ignore_leak(T* p) {
  __lsan_ignore_object(p);
  return p;
}

// The number of blocks leaked right now (reports them; never exits).
inline std::size_t leak_check() { return dbgalloc_leak_check(); }

}  // namespace dbgalloc
