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

// The unwinder state: where a walk stands.
struct WalkState {
  std::uintptr_t pc;
  std::uintptr_t sp;
  std::uintptr_t rbp;
};

// One walk against the thread's previous one (its trail): notes the new states, finds
// where the walk meets the trail, replays it from there, and writes the trail back.
class TrailWalk {
 public:
  explicit TrailWalk(Trail& trail) : trail_(trail), own_(trail.busy == 0) {
    if (own_) {
      trail.busy = 1;
      std::atomic_signal_fence(std::memory_order_seq_cst);
    }
    old_count_ = own_ ? trail.count : 0;
    cursor_ = old_count_;
    recordable_ = own_;
  }

  // Where the step from state `s` is to be recorded (nullptr: not recorded).
  Step* note(const WalkState& s) {
    if (replaying_ || !recordable_) return nullptr;
    if (fresh_count_ == kMaxSteps) {
      recordable_ = false;
      return nullptr;
    }
    Step* step = &fresh_[fresh_count_++];
    *step = Step{s.pc, s.sp, s.rbp, 0, 0, 0, 0, 0};
    return step;
  }

  // Looks for `s` among the previous walk's states (`noted` is what note() gave for it);
  // from a match on, the walk replays.
  void meet(const WalkState& s, const Step* noted) {
    if (matched_ || old_count_ == 0) return;
    while (cursor_ > 0 && old()[cursor_ - 1].sp < s.sp) --cursor_;
    if (cursor_ == 0) return;
    const Step& seen = old()[cursor_ - 1];
    if (seen.sp != s.sp || seen.pc != s.pc || (seen.rbp != s.rbp && seen.needs_rbp)) return;
    matched_ = replaying_ = true;
    first_ = at_ = cursor_ - 1;
    if (noted != nullptr) --fresh_count_;  // old[first] stands for it
    inner_count_ = fresh_count_;
  }

  bool replaying() const { return replaying_; }

  enum class Replayed { moved, ended, stopped };
  // One step from old[at] by its recorded slots. `stopped`: nothing is recorded beyond
  // old[at], so the walk goes on by rules from `s` and records that step in *noted.
  Replayed replay(WalkState& s, std::uintptr_t high, Step** noted) {
    const Step& seen = old()[at_];
    if (seen.ends) return Replayed::ended;
    if (seen.ra_slot != 0 && at_ > 0 && seen.ra_slot + 8 <= high && (seen.rbp_slot == 0 || seen.rbp_slot + 8 <= high)) {
      const Step& next = old()[at_ - 1];
      s.pc = *reinterpret_cast<const std::uintptr_t*>(seen.ra_slot);
      if (seen.rbp_slot != 0) s.rbp = *reinterpret_cast<const std::uintptr_t*>(seen.rbp_slot);
      s.sp = next.sp;
      ++replayed_;
      if (s.pc == next.pc && (s.rbp == next.rbp || !next.needs_rbp)) {
        --at_;  // the same words as last time: the recorded next state
      } else {
        replaying_ = false;  // a new state, stepped from old[at]
        left_trail_ = true;
      }
      return Replayed::moved;
    }
    replaying_ = false;
    left_trail_ = true;
    *noted = recordable_ ? &old()[at_] : nullptr;
    return Replayed::stopped;
  }

  // The walk ended: the trail becomes its states.
  void finish() {
    if (!own_) return;
    std::size_t total = recordable_ ? merge_into_trail() : 0;
    trail_.count = total <= kMaxSteps ? total : 0;
    trail_.replayed += replayed_;
    release();
  }

  // A walk the rules cannot finish is not recorded (and any replay is forgotten).
  void abandon() {
    if (!own_) return;
    trail_.count = 0;
    release();
  }

 private:
  Step* old() { return trail_.steps; }

  void release() {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    trail_.busy = 0;
  }

  // Writes the new states around what stays of the old trail; returns the step count
  // (over kMaxSteps: nothing written, the trail is dropped).
  std::size_t merge_into_trail() {
    if (!matched_) {
      place_reversed(old(), 0, fresh_, fresh_count_);
      mark_rbp_needs(old(), 0, fresh_count_);
      return fresh_count_;
    }
    if (!left_trail_) {
      // Old states [0, first] stand (the walk ended on them); the new inner ones go on top.
      std::size_t total = first_ + 1 + inner_count_;
      if (total <= kMaxSteps) {
        place_reversed(old(), first_ + 1, fresh_, inner_count_);
        mark_rbp_needs(old(), first_ + 1, total);
      }
      return total;
    }
    // Old states [at, first] stay, moved above the new outer ones.
    std::size_t outer = fresh_count_ - inner_count_;
    std::size_t kept = first_ - at_ + 1;
    std::size_t total = outer + kept + inner_count_;
    if (total <= kMaxSteps) {
      __builtin_memmove(old() + outer, old() + at_, kept * sizeof(Step));
      place_reversed(old(), 0, fresh_ + inner_count_, outer);
      place_reversed(old(), outer + kept, fresh_, inner_count_);
      mark_rbp_needs(old(), 0, total);
    }
    return total;
  }

  Trail& trail_;
  const bool own_;             // a capture nested in another (a signal) leaves the trail alone
  bool recordable_ = false;
  bool matched_ = false;       // the walk met the old trail
  bool replaying_ = false;
  bool left_trail_ = false;    // ...and went on past it by rules
  std::size_t old_count_ = 0;
  std::size_t cursor_ = 0;     // old states at or above it lie below sp
  std::size_t first_ = 0;      // the old state the walk met
  std::size_t at_ = 0;         // the old state the walk is at while replaying
  std::size_t inner_count_ = 0;  // fresh states before the meeting point
  std::uint64_t replayed_ = 0;
  std::size_t fresh_count_ = 0;
  // New states, innermost first: those before the replay, then (after a divergence)
  // those beyond it.
  Step fresh_[kMaxSteps];
};

enum class RuleStep { moved, ended, unexpressible };

// One step by the cached rule for s.pc, recorded in `noted` when given.
RuleStep step_by_rule(Slot* table_slots, WalkState& s, std::uintptr_t high, Step* noted) {
  UnwindRule rule = rule_for(table_slots, s.pc);
  if (rule.kind == UnwindRule::end_of_stack) {
    if (noted != nullptr) noted->ends = 1;
    return RuleStep::ended;
  }
  if (rule.kind != UnwindRule::frame) return RuleStep::unexpressible;
  std::uintptr_t cfa = (rule.cfa_from_rbp ? s.rbp : s.sp) + static_cast<std::intptr_t>(rule.cfa_offset);
  std::uintptr_t ra_slot = cfa + static_cast<std::intptr_t>(rule.ra_offset8) * 8;
  std::uintptr_t rbp_slot = cfa + static_cast<std::intptr_t>(rule.rbp_offset8) * 8;
  // The caller's frame lies above this one, and both slots must be inside the stack.
  if (cfa <= s.sp || cfa > high || ra_slot < s.sp || ra_slot + 8 > high) return RuleStep::unexpressible;
  if (rule.rbp_offset8 != 0 && (rbp_slot < s.sp || rbp_slot + 8 > high)) return RuleStep::unexpressible;
  if (noted != nullptr) {
    noted->ra_slot = ra_slot;
    noted->rbp_slot = rule.rbp_offset8 != 0 ? rbp_slot : 0;
    noted->cfa_from_rbp = rule.cfa_from_rbp;
  }
  s.pc = *reinterpret_cast<const std::uintptr_t*>(ra_slot);
  if (rule.rbp_offset8 != 0) s.rbp = *reinterpret_cast<const std::uintptr_t*>(rbp_slot);
  s.sp = cfa;
  return RuleStep::moved;
}

// Walks from `s` (frames[0] is s.pc unless `skip` drops it), replaying `trail` where it
// can. False when the rules cannot finish the walk: the caller falls back.
bool walk(WalkState s, std::uintptr_t high, Trail& trail, std::uintptr_t* frames, std::size_t max,
          std::size_t skip, std::size_t* count) {
  Slot* table_slots = slots();
  TrailWalk trail_walk(trail);
  std::size_t n = 0;
  for (;;) {
    Step* noted = trail_walk.note(s);
    if (s.pc == 0) break;
    if (skip > 0) {
      --skip;
    } else {
      frames[n++] = s.pc;
      if (n == max) break;
    }
    trail_walk.meet(s, noted);
    if (trail_walk.replaying()) {
      TrailWalk::Replayed replayed = trail_walk.replay(s, high, &noted);
      if (replayed == TrailWalk::Replayed::moved) continue;
      if (replayed == TrailWalk::Replayed::ended) break;
    }
    RuleStep step = step_by_rule(table_slots, s, high, noted);
    if (step == RuleStep::ended) break;
    if (step == RuleStep::unexpressible) {
      trail_walk.abandon();
      return false;
    }
  }
  trail_walk.finish();
  *count = n;
  return true;
}

// The state a frame record { saved rbp, return address } at `record` stands for: the
// caller's, at the call.
WalkState state_at_record(std::uintptr_t record) {
  const auto* words = reinterpret_cast<const std::uintptr_t*>(record);
  return WalkState{words[1], record + 16, words[0]};
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
  if (current_stack_bounds(&low, &high)) {
    // This function keeps a frame record (forced by __builtin_frame_address), so the
    // first step needs no rule.
    WalkState start = state_at_record(reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)));
    std::size_t count = 0;
    if (walk(start, high, tls_trails[trail_index(key)], frames, max, skip, &count)) return count;
  }
  fallbacks.fetch_add(1, std::memory_order_relaxed);
  std::size_t count = cfi_unwinder::capture(frames, max, skip + 1);
  // No tail call: cfi_unwinder counts this frame as the one to skip.
  asm volatile("" ::: "memory");
  return count;
}

bool capture_from_record(std::uintptr_t* frames, std::size_t max, std::uintptr_t record, std::uintptr_t high,
                         std::size_t* count) {
  if (max == 0) return false;
  WalkState start = state_at_record(record);
  if (walk(start, high, tls_trails[trail_index(start.pc)], frames, max, 0, count)) return true;
  fallbacks.fetch_add(1, std::memory_order_relaxed);
  return false;
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
