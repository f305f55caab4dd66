// One frame's symbol and line, from libbacktrace directly: one state for the whole
// process (Boost.Stacktrace kept one per thread, about 23 MB each, never freed), used
// under a lock. libbacktrace takes its memory from mmap; the names land in the
// caller's fixed buffers. The one allocation left is __cxa_demangle's result (freed at
// once); when it fails, the mangled name is shown. Nothing here throws.
//
// A return address inside inlined code stands for several source frames: libbacktrace
// gives one per inline level, the innermost first and the function that holds the code
// last. symbolize_levels hands each one out, as ASan and valgrind print them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::stacks {

struct Symbol {
  char function[512];   // demangled; "" when unknown
  char file[512];       // "" when unknown
  std::size_t line;     // 0 when unknown
};

// Most inline levels shown for one address; deeper nests keep their outermost ones.
inline constexpr std::size_t kMaxInlineLevels = 16;

// Looks `pc` up as is (callers pass pc - 1 for a return address): the function that
// holds the code, with the line of the outermost call site. False, with an empty
// Symbol, when this thread is already symbolizing (a signal during a report).
bool symbolize(std::uintptr_t pc, Symbol* out);

// Every source frame at `pc`, innermost first: visit(symbol, inlined, context) once per
// level, `inlined` false for the last (the function that holds the code). Returns the
// number of levels visited (1 when nothing is known: an empty Symbol). The visitor runs
// without the symbolizer's lock; one Symbol lives at a time, on this stack.
using LevelVisitor = void (*)(const Symbol& symbol, bool inlined, void* context);
std::size_t symbolize_levels(std::uintptr_t pc, LevelVisitor visit, void* context);

// fork: taken before the allocator's locks (a lookup allocates while holding it),
// released in the parent, reset in the child.
void lock_symbolizer_for_fork();
void unlock_symbolizer_after_fork();
void reset_symbolizer_after_fork();

}  // namespace dbgalloc::stacks
