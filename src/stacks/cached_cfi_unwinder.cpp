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

// A thread's previous walk, replayed where a new walk meets it. A step is a pure
// function of the unwinder state (pc, sp, rbp) and the stack words it reads, so once a
// walk reaches a state the previous walk also passed through, each further step only
// re-reads the recorded slots: while they hold the same words it lands on the recorded
// next state, with no rule lookup and nothing written. The first word that differs
// hands the walk back to the rules, so the result is always what a full walk gives.
// Captures in one thread mostly share their outer frames, so most steps replay.
struct Step {
  std::uintptr_t pc;
  std::uintptr_t sp;
  std::uintptr_t rbp;
  std::uintptr_t ra_slot;   // where the next state's PC was read; 0: no step recorded
  std::uintptr_t rbp_slot;  // where its RBP was read; 0: RBP carried over
  std::uint8_t ends;        // the walk ends at this state (end-of-stack rule)
  std::uint8_t cfa_from_rbp;
  std::uint8_t needs_rbp;   // the recorded walk from here depends on this state's RBP
};
constexpr std::size_t kMaxSteps = 64;
// Outermost state first, so a new walk that replays the outer part only writes its
// own inner states on top.
struct Trail {
  std::size_t count;
  unsigned busy;  // a capture owns the trail; one nested in it (a signal) leaves it alone
  std::uint64_t replayed;
  Step steps[kMaxSteps];
};
// One trail per kind of call site: captures made from different places (an allocation
// and a free, say) alternate, and each would otherwise overwrite the trail the next one
// of its kind could replay. capture_keyed picks the trail by the caller's key.
constexpr std::size_t kTrails = 4;
thread_local Trail tls_trails[kTrails] __attribute__((tls_model("initial-exec")));

std::size_t trail_index(std::uintptr_t key) {
  return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ull) >> 62) & (kTrails - 1);
}

// needs_rbp for steps[from, count), from the outer neighbour's. The outermost state of
// a walk that was cut short (depth limit) is taken to need it.
void mark_rbp_needs(Step* steps, std::size_t from, std::size_t count) {
  for (std::size_t r = from; r < count; ++r) {
    Step& step = steps[r];
    step.needs_rbp = r == 0 ? !(step.ends || step.pc == 0)
                            : step.cfa_from_rbp || (step.rbp_slot == 0 && steps[r - 1].needs_rbp);
  }
}

// Copies states (innermost first) into the trail, outermost first, at `at`.
void place_reversed(Step* to, std::size_t at, const Step* states, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) to[at + n - 1 - i] = states[i];
}

}  // namespace

__attribute__((noinline)) std::size_t capture(std::uintptr_t* frames, std::size_t max,
                                              std::size_t skip) {
  std::size_t count = capture_keyed(frames, max, skip + 1, 0);
  // No tail call: this frame is the one skip + 1 drops.
  asm volatile("" ::: "memory");
  return count;
}

__attribute__((noinline)) std::size_t capture_keyed(std::uintptr_t* frames, std::size_t max, std::size_t skip,
                                                    std::uintptr_t key) {
  if (max == 0) return 0;
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
  Slot* table_slots = slots();
  if (current_stack_bounds(&low, &high)) {
    Trail& trail = tls_trails[trail_index(key)];
    const bool own = trail.busy == 0;
    if (own) {
      trail.busy = 1;
      std::atomic_signal_fence(std::memory_order_seq_cst);
    }
    Step* const old = trail.steps;
    const std::size_t old_count = own ? trail.count : 0;
    // New states, innermost first: those before the replay, then (after a divergence)
    // those beyond it.
    Step fresh[kMaxSteps];
    std::size_t fresh_count = 0;
    bool recordable = own;
    std::size_t cursor = old_count;  // old states at or above it lie below sp
    bool matched = false;            // the walk met the old trail
    bool replaying = false;
    bool left_trail = false;         // ...and went on past it by rules
    std::size_t first = 0;           // the old state the walk met
    std::size_t at = 0;              // the old state the walk is at while replaying
    std::size_t inner_count = 0;     // fresh states before the meeting point
    std::uint64_t replayed = 0;

    auto finish = [&](std::size_t result) {
      if (!own) return result;
      std::size_t total = 0;
      if (!recordable) {
        total = 0;
      } else if (!matched) {
        total = fresh_count;
        place_reversed(old, 0, fresh, fresh_count);
        mark_rbp_needs(old, 0, total);
      } else if (!left_trail) {
        // Old states [0, first] stand (the walk ended on them); the new inner ones go on top.
        total = first + 1 + inner_count;
        if (total <= kMaxSteps) {
          place_reversed(old, first + 1, fresh, inner_count);
          mark_rbp_needs(old, first + 1, total);
        }
      } else {
        // Old states [at, first] stay, moved above the new outer ones.
        std::size_t outer = fresh_count - inner_count;
        std::size_t kept = first - at + 1;
        total = outer + kept + inner_count;
        if (total <= kMaxSteps) {
          __builtin_memmove(old + outer, old + at, kept * sizeof(Step));
          place_reversed(old, 0, fresh + inner_count, outer);
          place_reversed(old, outer + kept, fresh, inner_count);
          mark_rbp_needs(old, 0, total);
        }
      }
      trail.count = total <= kMaxSteps ? total : 0;
      trail.replayed += replayed;
      std::atomic_signal_fence(std::memory_order_seq_cst);
      trail.busy = 0;
      return result;
    };

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
      Step* state = nullptr;  // where this state's step is recorded
      if (!replaying && recordable) {
        if (fresh_count < kMaxSteps) {
          state = &fresh[fresh_count++];
          *state = Step{pc, sp, rbp, 0, 0, 0, 0, 0};
        } else {
          recordable = false;
        }
      }
      if (pc == 0) return finish(count);
      if (to_skip > 0) {
        --to_skip;
      } else {
        frames[count++] = pc;
        if (count == max) return finish(count);
      }
      if (!matched && old_count > 0) {
        while (cursor > 0 && old[cursor - 1].sp < sp) --cursor;
        if (cursor > 0) {
          const Step& seen = old[cursor - 1];
          if (seen.sp == sp && seen.pc == pc && (seen.rbp == rbp || !seen.needs_rbp)) {
            matched = replaying = true;
            first = at = cursor - 1;
            if (state != nullptr) --fresh_count;  // old[first] stands for it
            inner_count = fresh_count;
          }
        }
      }
      if (replaying) {
        const Step& seen = old[at];
        if (seen.ends) return finish(count);
        if (seen.ra_slot != 0 && at > 0 && seen.ra_slot + 8 <= high &&
            (seen.rbp_slot == 0 || seen.rbp_slot + 8 <= high)) {
          const Step& next = old[at - 1];
          pc = *reinterpret_cast<const std::uintptr_t*>(seen.ra_slot);
          if (seen.rbp_slot != 0) rbp = *reinterpret_cast<const std::uintptr_t*>(seen.rbp_slot);
          sp = next.sp;
          ++replayed;
          if (pc == next.pc && (rbp == next.rbp || !next.needs_rbp)) {
            --at;  // the same words as last time: the recorded next state
          } else {
            replaying = false;  // a new state, stepped from old[at]
            left_trail = true;
          }
          continue;
        }
        // Nothing recorded beyond old[at]: go on by rules, recording the step there.
        replaying = false;
        left_trail = true;
        state = recordable ? &old[at] : nullptr;
      }
      UnwindRule rule = rule_for(table_slots, pc);
      if (rule.kind == UnwindRule::end_of_stack) {
        if (state != nullptr) state->ends = 1;
        return finish(count);
      }
      if (rule.kind != UnwindRule::frame) break;
      std::uintptr_t cfa = (rule.cfa_from_rbp ? rbp : sp) + static_cast<std::intptr_t>(rule.cfa_offset);
      std::uintptr_t ra_slot = cfa + static_cast<std::intptr_t>(rule.ra_offset8) * 8;
      std::uintptr_t rbp_slot = cfa + static_cast<std::intptr_t>(rule.rbp_offset8) * 8;
      // The caller's frame lies above this one, and both slots must be inside the stack.
      if (cfa <= sp || cfa > high || ra_slot < sp || ra_slot + 8 > high) break;
      if (rule.rbp_offset8 != 0 && (rbp_slot < sp || rbp_slot + 8 > high)) break;
      if (state != nullptr) {
        state->ra_slot = ra_slot;
        state->rbp_slot = rule.rbp_offset8 != 0 ? rbp_slot : 0;
        state->cfa_from_rbp = rule.cfa_from_rbp;
      }
      pc = *reinterpret_cast<const std::uintptr_t*>(ra_slot);
      if (rule.rbp_offset8 != 0) rbp = *reinterpret_cast<const std::uintptr_t*>(rbp_slot);
      sp = cfa;
    }
    // A walk the rules cannot finish is not recorded (and any replay is forgotten).
    if (own) {
      trail.count = 0;
      std::atomic_signal_fence(std::memory_order_seq_cst);
      trail.busy = 0;
    }
  }
  fallbacks.fetch_add(1, std::memory_order_relaxed);
  std::size_t count = cfi_unwinder::capture(frames, max, skip + 1);
  // No tail call: cfi_unwinder counts this frame as the one to skip.
  asm volatile("" ::: "memory");
  return count;
}

std::uint64_t steps_replayed_in_thread() {
  std::uint64_t replayed = 0;
  for (const Trail& trail : tls_trails) replayed += trail.replayed;
  return replayed;
}

Stats stats() {
  return Stats{rules_cached.load(std::memory_order_relaxed), fallbacks.load(std::memory_order_relaxed)};
}

}  // namespace dbgalloc::stacks::cached_cfi_unwinder
