// The state of the program at a call into a given function on the calling thread's
// stack: the leak check at exit uses it to scan the exiting thread's stack only from the
// frame that called exit (the frames of exit, the exit handlers and the check itself
// hold stale copies of dead frames' pointers in the slots they never wrote).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::stacks {

struct CallerState {
  std::uintptr_t sp;                 // the caller's stack pointer at the call (the callee's CFA)
  std::uintptr_t registers[12];      // callee-saved registers as they were at the call
  std::size_t register_count;
};

// Walks this thread's stack (libgcc's unwinder, .eh_frame) to the innermost frame of
// the exported function named `function` and describes its caller. False when no such
// frame is found (no unwind tables, a static program without dynamic symbols). Takes
// the loader's lock (dladdr); never allocates.
bool find_caller_of(const char* function, CallerState* out);

}  // namespace dbgalloc::stacks
