// Frame-pointer unwinder: see frame_pointer_unwinder.hpp.
#include "stacks/frame_pointer_unwinder.hpp"

#include "stacks/stack_bounds.hpp"

namespace dbgalloc::stacks::frame_pointer_unwinder {

namespace {

// Follows the chain from the record at `fp`; nothing below `low` is read. Inlined: a
// tail call from capture() would free the frame record it starts from.
__attribute__((always_inline)) inline std::size_t walk(std::uintptr_t fp, std::uintptr_t low, std::uintptr_t high, std::uintptr_t* frames,
                 std::size_t max, std::size_t skip) {
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

}  // namespace

__attribute__((noinline)) std::size_t capture(std::uintptr_t* frames, std::size_t max,
                                              std::size_t skip) {
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
  if (max == 0 || !current_stack_bounds(&low, &high)) return 0;
  // __builtin_frame_address also forces this function to keep a frame record.
  auto fp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  // Everything below our own frame is dead stack.
  if (fp > low) low = fp;
  return walk(fp, low, high, frames, max, skip);
}

std::size_t capture_from_record(std::uintptr_t* frames, std::size_t max, std::uintptr_t record) {
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
  if (max == 0 || !current_stack_bounds(&low, &high)) return 0;
  if (record > low) low = record;
  return walk(record, low, high, frames, max, 0);
}

}  // namespace dbgalloc::stacks::frame_pointer_unwinder
