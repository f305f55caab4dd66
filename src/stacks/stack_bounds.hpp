// The calling thread's stack range, for unwinders that must not read outside it.
#pragma once

#include <cstdint>

#include "platform/platform.hpp"
#include "platform/reentry.hpp"

namespace dbgalloc::stacks {

// platform::thread_stack_bounds caches per thread, but its first call in a thread goes
// through pthread_getattr_np. glibc 2.36 makes no allocation there (measured), older
// versions allocate (the affinity mask, a FILE on /proc/self/maps); the scope routes
// any such allocation past tracking.
inline bool current_stack_bounds(std::uintptr_t* low, std::uintptr_t* high) {
  platform::InternalScope internal;
  return platform::thread_stack_bounds(low, high);
}

}  // namespace dbgalloc::stacks
