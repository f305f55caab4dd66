// Frame-pointer unwinder: see frame_pointer_unwinder.hpp.
#include "stacks/frame_pointer_unwinder.hpp"

#include "stacks/stack_bounds.hpp"

namespace dbgalloc::stacks::frame_pointer_unwinder {

__attribute__((noinline)) std::size_t capture(std::uintptr_t* frames, std::size_t max,
                                              std::size_t skip) {
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
  if (max == 0 || !current_stack_bounds(&low, &high)) return 0;
  // __builtin_frame_address also forces this function to keep a frame record.
  auto fp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  // Everything below our own frame is dead stack.
  if (fp > low) low = fp;
  std::size_t count = 0;
  while (count < max) {
    // Written so that a frame pointer near the top of the address space cannot wrap.
    if (fp < low || fp > high || high - fp < 2 * sizeof(std::uintptr_t) || (fp & 7) != 0) break;
    const auto* record = reinterpret_cast<const std::uintptr_t*>(fp);
    std::uintptr_t next = record[0];
    std::uintptr_t return_address = record[1];
    if (return_address == 0) break;
    if (skip > 0) {
      --skip;
    } else {
      frames[count++] = return_address;
    }
    if (next <= fp) break;
    fp = next;
  }
  return count;
}

}  // namespace dbgalloc::stacks::frame_pointer_unwinder
