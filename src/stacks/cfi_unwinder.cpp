// CFI unwinder: see cfi_unwinder.hpp.
#include "stacks/cfi_unwinder.hpp"

#include <boost/stacktrace/safe_dump_to.hpp>

namespace dbgalloc::stacks::cfi_unwinder {

__attribute__((noinline)) std::size_t capture(std::uintptr_t* frames, std::size_t max,
                                              std::size_t skip) {
  static_assert(sizeof(boost::stacktrace::detail::native_frame_ptr_t) == sizeof(std::uintptr_t));
  // collect() is BOOST_NOINLINE and with skip 0 starts at a PC in its caller (this
  // function); skip + 1 starts at our caller.
  std::size_t count = boost::stacktrace::detail::this_thread_frames::collect(
      reinterpret_cast<boost::stacktrace::detail::native_frame_ptr_t*>(frames), max, skip + 1);
  // Keeps the call above from becoming a tail call, which would shift `skip` by one.
  asm volatile("" ::: "memory");
  return count;
}

}  // namespace dbgalloc::stacks::cfi_unwinder
