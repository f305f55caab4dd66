// Helpers shared by the leak case programs (leak_cases, lsan_hooks_cases).
#pragma once

#include <cstddef>

#define NOINLINE __attribute__((noinline))

namespace leak_cases {

// Overwrites 64 KiB below the caller, so no stale copy of a lost pointer survives in a
// dead frame.
NOINLINE inline void scrub_stack() {
  volatile char buffer[64 * 1024];
  for (std::size_t i = 0; i < sizeof buffer; ++i) buffer[i] = 0;
  asm volatile("" : : "r"(buffer) : "memory");
}

// Keeps a pointer out of every register and stack slot the compiler might reuse.
NOINLINE inline void drop(void* p) { asm volatile("" : : "r"(p) : "memory"); }

}  // namespace leak_cases
