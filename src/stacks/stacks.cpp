// Stacks API: the configured unwinder, the process depot, and record/lookup on top.
//
// The process depot is a constant-initialised global with a trivial destructor: it is
// usable before any constructor runs (malloc may be called by the loader) and is still
// there while other threads record during exit.
#include "stacks/stacks.hpp"

#include <atomic>

#include "stacks/cached_cfi_unwinder.hpp"
#include "stacks/cfi_unwinder.hpp"
#include "stacks/entry_frame.hpp"
#include "stacks/frame_pointer_unwinder.hpp"
#include "stacks/stack_bounds.hpp"
#include "stacks/stack_depot.hpp"

namespace dbgalloc::stacks {

namespace {
constinit StackDepot process_depot;
std::atomic<Unwinder> current_unwinder{Unwinder::cfi_cached};
std::atomic<std::size_t> current_depth{kDefaultDepth};

// Keeps a call from being compiled as a tail call, which would remove the caller's
// frame and shift every `skip` count by one.
inline void no_tail_call() { asm volatile("" ::: "memory"); }
}  // namespace

void configure(Unwinder unwinder, std::size_t max_depth) {
  if (max_depth < 1) max_depth = 1;
  if (max_depth > kMaxFrames) max_depth = kMaxFrames;
  current_unwinder.store(unwinder, std::memory_order_relaxed);
  current_depth.store(max_depth, std::memory_order_relaxed);
}

Unwinder configured_unwinder() { return current_unwinder.load(std::memory_order_relaxed); }
std::size_t configured_depth() { return current_depth.load(std::memory_order_relaxed); }

__attribute__((noinline)) std::size_t capture(std::uintptr_t* frames, std::size_t max, std::size_t skip) {
  std::size_t count = 0;
  switch (current_unwinder.load(std::memory_order_relaxed)) {
    case Unwinder::frame_pointer: count = frame_pointer_unwinder::capture(frames, max, skip + 1); break;
    case Unwinder::cfi: count = cfi_unwinder::capture(frames, max, skip + 1); break;
    case Unwinder::cfi_cached: count = cached_cfi_unwinder::capture(frames, max, skip + 1); break;
  }
  no_tail_call();
  return count;
}

__attribute__((noinline)) std::size_t capture_at(std::uintptr_t* frames, std::size_t max, std::size_t skip,
                                                 std::uintptr_t site) {
  std::size_t count = 0;
  switch (current_unwinder.load(std::memory_order_relaxed)) {
    case Unwinder::frame_pointer: count = frame_pointer_unwinder::capture(frames, max, skip + 1); break;
    case Unwinder::cfi: count = cfi_unwinder::capture(frames, max, skip + 1); break;
    case Unwinder::cfi_cached: count = cached_cfi_unwinder::capture_keyed(frames, max, skip + 1, site); break;
  }
  no_tail_call();
  return count;
}

namespace {

// dbgalloc's own frames a capture from inside it may have to drop (interpose and debug).
constexpr std::size_t kOwnFramesMargin = 8;

// The thread's entry mark when it is the frame record of the call returning to
// `caller`, in the live stack above this frame (`high`: the stack's end); else 0.
std::uintptr_t entry_record_for(std::uintptr_t caller, std::uintptr_t high) {
  std::uintptr_t record = entry_record();
  if (record == 0 || (record & 7) != 0) return 0;
  if (record <= reinterpret_cast<std::uintptr_t>(&record) || record >= high || high - record < 16) return 0;
  return reinterpret_cast<const std::uintptr_t*>(record)[1] == caller ? record : 0;
}

// Captures from here with a margin and drops the frames above `caller`.
__attribute__((noinline)) std::size_t capture_and_cut(std::uintptr_t* frames, std::size_t max,
                                                      std::uintptr_t caller) {
  std::uintptr_t wide[kMaxFrames + kOwnFramesMargin];
  std::size_t n = capture_at(wide, max + kOwnFramesMargin, 0, caller);
  no_tail_call();
  std::size_t start = 0;
  for (std::size_t i = 0; i < n && i < kOwnFramesMargin; ++i) {
    if (wide[i] == caller) {
      start = i;
      break;
    }
  }
  std::size_t count = n - start < max ? n - start : max;
  __builtin_memcpy(frames, wide + start, count * sizeof(std::uintptr_t));
  return count;
}

}  // namespace

std::size_t capture_from_caller(std::uintptr_t* frames, std::size_t max, std::uintptr_t caller) {
  if (max > kMaxFrames) max = kMaxFrames;
  if (max == 0) return 0;
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
  std::uintptr_t record = current_stack_bounds(&low, &high) ? entry_record_for(caller, high) : 0;
  if (record != 0) {
    switch (current_unwinder.load(std::memory_order_relaxed)) {
      case Unwinder::frame_pointer: return frame_pointer_unwinder::capture_from_record(frames, max, record);
      case Unwinder::cfi_cached: {
        std::size_t count = 0;
        if (cached_cfi_unwinder::capture_from_record(frames, max, record, high, &count)) return count;
        break;
      }
      case Unwinder::cfi: break;
    }
  }
  return capture_and_cut(frames, max, caller);
}

__attribute__((noinline)) StackId record(std::size_t skip) {
  std::uintptr_t frames[kMaxFrames];
  std::size_t depth = current_depth.load(std::memory_order_relaxed);
  std::size_t count = capture(frames, depth, skip + 1);
  no_tail_call();
  // A full buffer most likely means the stack was deeper than the limit.
  if (count == depth) process_depot.count_truncated();
  return process_depot.insert(frames, count);
}

namespace {
// Most allocations repeat a few hot stacks: a small per-thread table of recent
// (hash, id) pairs answers them without touching the shared table and its records,
// which are cold in a big program. A 64-bit hash match is taken as the same stack.
struct RecentStack {
  std::uint64_t hash;
  StackId id;
};
constexpr std::size_t kRecentStacks = 1024;
thread_local RecentStack tls_recent[kRecentStacks] __attribute__((tls_model("initial-exec")));
}  // namespace

StackId store(const std::uintptr_t* frames, std::size_t count) {
  if (count == 0) return kNoStack;
  std::uint64_t hash = StackDepot::hash_frames(frames, count);
  RecentStack& recent = tls_recent[hash & (kRecentStacks - 1)];
  if (recent.hash == hash && recent.id != kNoStack && recent.id != kDepotFull) return recent.id;
  StackId id = process_depot.insert(frames, count);
  // A signal handler on this thread may look in between: invalidate, fill, then key.
  recent.hash = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  recent.id = id;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  recent.hash = hash;
  return id;
}

std::size_t lookup(StackId id, std::uintptr_t* frames, std::size_t max) {
  return process_depot.get(id, frames, max);
}

DepotStats depot_stats() { return process_depot.stats(); }

}  // namespace dbgalloc::stacks
