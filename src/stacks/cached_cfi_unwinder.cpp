// Cached CFI unwinder: see cached_cfi_unwinder.hpp for the table protocol.
#include "stacks/cached_cfi_unwinder.hpp"

#include <atomic>

#include "platform/platform.hpp"
#include "stacks/cfi_unwinder.hpp"
#include "stacks/eh_frame.hpp"
#include "stacks/stack_bounds.hpp"

namespace dbgalloc::stacks::cached_cfi_unwinder {

namespace {

constexpr std::size_t kSlots = std::size_t{1} << 16;  // 1 MiB of address space
constexpr std::size_t kMaxProbes = 16;
constexpr std::uint64_t kBusy = std::uint64_t{1} << 63;

struct Slot {
  std::atomic<std::uint64_t> key;
  std::atomic<std::uint64_t> rule;
};

std::atomic<Slot*> table{nullptr};
std::atomic<bool> table_unavailable{false};
std::atomic<std::uint64_t> rules_cached{0};
std::atomic<std::uint64_t> fallbacks{0};

Slot* slots() {
  Slot* current = table.load(std::memory_order_acquire);
  if (current != nullptr || table_unavailable.load(std::memory_order_relaxed)) return current;
  auto* fresh = static_cast<Slot*>(platform::map(kSlots * sizeof(Slot)));
  if (fresh == nullptr) {
    table_unavailable.store(true, std::memory_order_relaxed);
    return nullptr;
  }
  Slot* expected = nullptr;
  if (table.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) return fresh;
  platform::unmap(fresh, kSlots * sizeof(Slot));
  return expected;
}

std::size_t slot_index(std::uintptr_t pc) {
  return static_cast<std::size_t>((pc * 0x9e3779b97f4a7c15ull) >> 40) & (kSlots - 1);
}

__attribute__((noinline)) UnwindRule miss(Slot* table_slots, std::uintptr_t pc) {
  UnwindRule rule = find_unwind_rule(pc);
  if (table_slots == nullptr) return rule;
  std::size_t index = slot_index(pc);
  for (std::size_t probe = 0; probe < kMaxProbes; ++probe) {
    Slot& slot = table_slots[(index + probe) & (kSlots - 1)];
    std::uint64_t key = slot.key.load(std::memory_order_acquire);
    if (key == 0 && slot.key.compare_exchange_strong(key, pc | kBusy, std::memory_order_acquire)) {
      slot.rule.store(rule.pack(), std::memory_order_relaxed);
      slot.key.store(pc, std::memory_order_release);
      rules_cached.fetch_add(1, std::memory_order_relaxed);
      return rule;
    }
    // Someone else holds (or is writing) this PC's slot: their rule is ours.
    if ((key & ~kBusy) == pc) return rule;
  }
  return rule;
}

inline UnwindRule shared_rule_for(Slot* table_slots, std::uintptr_t pc) {
  if (table_slots != nullptr) {
    std::size_t index = slot_index(pc);
    for (std::size_t probe = 0; probe < kMaxProbes; ++probe) {
      Slot& slot = table_slots[(index + probe) & (kSlots - 1)];
      std::uint64_t key = slot.key.load(std::memory_order_acquire);
      if (key == pc) return UnwindRule::unpack(slot.rule.load(std::memory_order_relaxed));
      if (key == 0) break;
    }
  }
  return miss(table_slots, pc);
}

// A per-thread direct-mapped cache in front of the shared table: a thread's hot PCs
// stay in L1 instead of missing into the 1 MiB table on every frame.
struct RecentRule {
  std::uintptr_t pc;
  std::uint64_t rule;
};
constexpr std::size_t kRecentRules = 512;
thread_local RecentRule tls_recent_rules[kRecentRules] __attribute__((tls_model("initial-exec")));

inline UnwindRule rule_for(Slot* table_slots, std::uintptr_t pc) {
  RecentRule& recent = tls_recent_rules[(pc ^ (pc >> 9)) & (kRecentRules - 1)];
  if (recent.pc == pc) return UnwindRule::unpack(recent.rule);
  UnwindRule rule = shared_rule_for(table_slots, pc);
  // A signal handler on this thread may look in between: invalidate, fill, then key.
  recent.pc = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  recent.rule = rule.pack();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  recent.pc = pc;
  return rule;
}

}  // namespace

__attribute__((noinline)) std::size_t capture(std::uintptr_t* frames, std::size_t max,
                                              std::size_t skip) {
  if (max == 0) return 0;
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
  Slot* table_slots = slots();
  if (current_stack_bounds(&low, &high)) {
    // This function keeps a frame record (forced by __builtin_frame_address), so the
    // first step needs no rule: CFA = RBP + 16.
    auto fp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    const auto* record = reinterpret_cast<const std::uintptr_t*>(fp);
    std::uintptr_t sp = fp + 16;
    std::uintptr_t rbp = record[0];
    std::uintptr_t pc = record[1];
    std::size_t to_skip = skip;
    std::size_t count = 0;
    for (;;) {
      if (pc == 0) return count;
      if (to_skip > 0) {
        --to_skip;
      } else {
        frames[count++] = pc;
        if (count == max) return count;
      }
      UnwindRule rule = rule_for(table_slots, pc);
      if (rule.kind == UnwindRule::end_of_stack) return count;
      if (rule.kind != UnwindRule::frame) break;
      std::uintptr_t cfa = (rule.cfa_from_rbp ? rbp : sp) + static_cast<std::intptr_t>(rule.cfa_offset);
      std::uintptr_t ra_slot = cfa + static_cast<std::intptr_t>(rule.ra_offset8) * 8;
      std::uintptr_t rbp_slot = cfa + static_cast<std::intptr_t>(rule.rbp_offset8) * 8;
      // The caller's frame lies above this one, and both slots must be inside the stack.
      if (cfa <= sp || cfa > high || ra_slot < sp || ra_slot + 8 > high) break;
      if (rule.rbp_offset8 != 0 && (rbp_slot < sp || rbp_slot + 8 > high)) break;
      pc = *reinterpret_cast<const std::uintptr_t*>(ra_slot);
      if (rule.rbp_offset8 != 0) rbp = *reinterpret_cast<const std::uintptr_t*>(rbp_slot);
      sp = cfa;
    }
  }
  fallbacks.fetch_add(1, std::memory_order_relaxed);
  std::size_t count = cfi_unwinder::capture(frames, max, skip + 1);
  // No tail call: cfi_unwinder counts this frame as the one to skip.
  asm volatile("" ::: "memory");
  return count;
}

Stats stats() {
  return Stats{rules_cached.load(std::memory_order_relaxed), fallbacks.load(std::memory_order_relaxed)};
}

}  // namespace dbgalloc::stacks::cached_cfi_unwinder
