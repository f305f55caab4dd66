// See thread_origins.hpp.
#include "stacks/thread_origins.hpp"

#include <atomic>
#include <cstdint>

namespace dbgalloc::stacks {

namespace {
constexpr std::size_t kSlots = 8192;

struct Slot {
  std::atomic<int> thread{0};           // 0 while being written
  std::atomic<std::uint64_t> origin{0};  // parent << 32 | creation stack
};
constinit Slot slots[kSlots];

Slot& slot_of(int thread) { return slots[static_cast<std::uint32_t>(thread) % kSlots]; }
}  // namespace

void record_thread_origin(int thread, const ThreadOrigin& origin) {
  Slot& slot = slot_of(thread);
  slot.thread.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  slot.origin.store(static_cast<std::uint64_t>(static_cast<std::uint32_t>(origin.parent)) << 32 | origin.creation,
                    std::memory_order_relaxed);
  slot.thread.store(thread, std::memory_order_release);
}

bool thread_origin(int thread, ThreadOrigin* out) {
  if (thread <= 0) return false;
  Slot& slot = slot_of(thread);
  if (slot.thread.load(std::memory_order_acquire) != thread) return false;
  std::uint64_t packed = slot.origin.load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (slot.thread.load(std::memory_order_relaxed) != thread) return false;
  out->parent = static_cast<int>(packed >> 32);
  out->creation = static_cast<StackId>(packed & 0xffffffffu);
  return true;
}

}  // namespace dbgalloc::stacks
