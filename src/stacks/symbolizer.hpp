// One frame's symbol and line, from libbacktrace directly: one state for the whole
// process (Boost.Stacktrace kept one per thread, about 23 MB each, never freed), used
// under a lock. libbacktrace takes its memory from mmap; the names land in the
// caller's fixed buffers. The one allocation left is __cxa_demangle's result (freed at
// once); when it fails, the mangled name is shown. Nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::stacks {

struct Symbol {
  char function[512];   // demangled; "" when unknown
  char file[512];       // "" when unknown
  std::size_t line;     // 0 when unknown
};

// Looks `pc` up as is (callers pass pc - 1 for a return address). False, with an
// empty Symbol, when this thread is already symbolizing (a signal during a report).
bool symbolize(std::uintptr_t pc, Symbol* out);

// fork: taken before the allocator's locks (a lookup allocates while holding it),
// released in the parent, reset in the child.
void lock_symbolizer_for_fork();
void unlock_symbolizer_after_fork();
void reset_symbolizer_after_fork();

}  // namespace dbgalloc::stacks
