// Frame-pointer unwinder: follows the saved-RBP chain, frame record = { saved rbp,
// return address }. Each frame pointer must lie inside the calling thread's stack, be
// 8-byte aligned and strictly above the previous one, so a function built without
// frame pointers (whose RBP holds anything) ends the walk instead of crashing it. In
// such code the walk stops early or skips the functions without frame pointers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::stacks::frame_pointer_unwinder {

// skip = 0: frames[0] is a PC in the caller. Async-signal-safe once the thread's stack
// bounds are cached (platform::thread_stack_bounds).
std::size_t capture(std::uintptr_t* frames, std::size_t max, std::size_t skip);
// The same walk from a live frame record above the caller's frame: frames[0] is its
// return address.
std::size_t capture_from_record(std::uintptr_t* frames, std::size_t max, std::uintptr_t record);

}  // namespace dbgalloc::stacks::frame_pointer_unwinder
