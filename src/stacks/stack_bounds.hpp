// The calling thread's stack range, for unwinders that must not read outside it.
#pragma once

#include <cstdint>

#include "platform/platform.hpp"
#include "platform/reentry.hpp"

namespace dbgalloc::stacks {

// platform::thread_stack_bounds caches per thread, but its first call in a thread goes
// through pthread_getattr_np, which allocates (glibc 2.36: three times, for the
// affinity mask, in every thread but the main one). The scope routes those allocations
// past tracking; tests/stacks/no_allocation_test.cpp checks that nothing else does.
inline bool current_stack_bounds(std::uintptr_t* low, std::uintptr_t* high) {
  platform::InternalScope internal;
  return platform::thread_stack_bounds(low, high);
}

}  // namespace dbgalloc::stacks
