// CFI unwinder through Boost.Stacktrace: boost::stacktrace::detail::this_thread_frames::
// collect, i.e. libgcc's _Unwind_Backtrace reading .eh_frame for every frame of every
// capture. Complete stacks in any code with unwind tables, no allocation, but about
// 200 ns per frame. Also the fallback of the cached CFI unwinder.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::stacks::cfi_unwinder {

// skip = 0: frames[0] is a PC in the caller.
std::size_t capture(std::uintptr_t* frames, std::size_t max, std::size_t skip);

}  // namespace dbgalloc::stacks::cfi_unwinder
