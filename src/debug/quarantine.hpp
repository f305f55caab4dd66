// Quarantine: a FIFO of freed blocks held back from reuse, so a use after free touches
// memory that is still filled (or PROT_NONE, for guard blocks) rather than a new block.
//
// A ring of entries in internal memory (never the tracked heap), bounded by bytes and
// by count. push() takes the newest block; whatever falls out of the budget is handed
// back to the caller, which verifies and releases it outside the lock (verification
// may report, and reporting may allocate).
//
// Memory: one mapping of (max_blocks + 1) entries, made on first push (MAP_NORESERVE
// reserve: untouched pages cost nothing). Only its first `active` entries are used as
// the ring: `active` starts at kInitialActive and doubles (up to the whole mapping)
// when the ring is full, the wrapped part of the FIFO moving up into the new room. So
// the pages touched are those of twice the most blocks ever held at once, not the
// whole mapping, which a ring cycling through all of it would touch in the end.
//
// Accounting: the byte budget covers what the quarantine pins, the held blocks' costs
// (the caller's figure, e.g. the whole heap chunk) plus the ring's own active entries
// (bytes() reports both). The leak scanner leaves the whole mapping out (mapping()).
//
// Batches: a thread parks its frees in a Batch of its own (thread_quarantine.hpp) and
// moves the whole batch in with push_batch(), one lock acquisition per kBatchEntries
// frees instead of one per free.
//
// Invariants (under the lock): count <= active <= capacity; the held entries are
// ring[(head + i) % active] for i < count, oldest first; entries_bytes is the sum of
// their costs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/lock.hpp"

namespace dbgalloc::debug {

class Quarantine {
 public:
  struct Entry {
    std::uintptr_t user;
    std::size_t bytes;
  };
  // Ring entries in use before the first growth: one 64 KiB run of the mapping.
  static constexpr std::size_t kInitialActive = 4096;
  // Eviction starts when a budget is exceeded and goes on until 1/kBatchFraction of
  // it is free again, so blocks leave in batches (the caller prefetches a batch's cold
  // lines together) rather than one per free. A small fraction (16 KiB of the default
  // 64 MiB): about what a thread's batch pushes in comes out, few enough chunks for the
  // freeing thread's heap cache to take them all and hand them out again while the
  // check has them in the CPU cache. At 1/64 (a MiB, ~10,000 small blocks at once) the
  // chunks overflowed the thread cache into the heap's bins and came back by refills.
  static constexpr std::size_t kBatchFraction = 4096;
  // Frees a thread gathers before taking the lock (the most; small budgets take fewer).
  static constexpr std::size_t kBatchEntries = 128;
  // A thread's frees not yet in the ring. Only its thread writes it; push_batch empties it
  // under the lock (a forked child never sees a batch both in the ring and still full).
  struct Batch {
    std::size_t count;
    std::size_t bytes;
    Entry entries[kBatchEntries];
  };

  void configure(std::size_t max_bytes, std::size_t max_blocks);
  // False when the block cannot be held (no budget, or the ring could not be mapped):
  // the caller releases it at once. Evicted entries go to `evicted` (up to max_evicted);
  // *evicted_count says how many. Call evict() for the rest while it returns entries.
  bool push(Entry entry, Entry* evicted, std::size_t max_evicted, std::size_t* evicted_count);
  // Moves every entry of `batch` into the ring and empties it (each entry's bytes must be
  // at most the byte budget); false (batch untouched) when the ring cannot hold blocks.
  // max_evicted must exceed batch.count. When *evicted_count == max_evicted more may be
  // due: call evict() while it fills what it is given.
  bool push_batch(Batch& batch, Entry* evicted, std::size_t max_evicted, std::size_t* evicted_count);
  // Pops entries while over budget (or all, with drain_all).
  std::size_t evict(Entry* out, std::size_t max, bool drain_all);

  // Calls visit for every held entry, oldest first, with the lock held.
  template <typename Visit>
  void for_each(Visit visit) {
    platform::LockGuard guard(lock_);
    for (std::size_t i = 0; i < count_; ++i) visit(ring_[(head_ + i) % active_]);
  }

  // Bytes charged against the budget: held blocks' costs plus the active ring.
  std::size_t bytes() const { return entries_bytes_ + ring_bytes(); }
  std::size_t blocks() const { return count_; }
  // The ring's whole mapping, [*begin, *end); false before the first push maps it. For
  // the leak scanner: the ring's entries point at quarantined blocks, not roots.
  bool mapping(std::uintptr_t* begin, std::uintptr_t* end) const {
    Entry* ring = __atomic_load_n(&ring_, __ATOMIC_ACQUIRE);
    if (ring == nullptr) return false;
    *begin = reinterpret_cast<std::uintptr_t>(ring);
    *end = *begin + capacity_ * sizeof(Entry);
    return true;
  }
  // Ring entries in use (for tests): the ring's touched memory is this many entries.
  std::size_t active_entries() const { return active_; }

  void lock() { lock_.lock(); }
  void unlock() { lock_.unlock(); }
  void reset_lock_after_fork() { lock_.reset(); }

 private:
  std::size_t ring_bytes() const { return active_ * sizeof(Entry); }
  bool over_budget() const { return entries_bytes_ + ring_bytes() > max_bytes_ || count_ > max_blocks_; }
  // Once over budget, the quarantine evicts down to this mark: a batch at a time.
  bool below_low_water() const {
    return entries_bytes_ + ring_bytes() <= max_bytes_ - max_bytes_ / kBatchFraction &&
           count_ <= max_blocks_ - max_blocks_ / kBatchFraction;
  }
  bool map_ring();
  void grow_ring();
  std::size_t pop_locked(Entry* out, std::size_t max, bool drain_all);
  // Appends one entry, popping the oldest first into *evicted when the ring is full
  // (*evicted_count counts it).
  void append_locked(Entry entry, Entry* evicted, std::size_t* evicted_count);

  platform::Lock lock_;
  Entry* ring_ = nullptr;
  std::size_t capacity_ = 0;  // entries mapped
  std::size_t active_ = 0;    // entries used as the ring, <= capacity_
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t entries_bytes_ = 0;
  std::size_t max_bytes_ = 0;
  std::size_t max_blocks_ = 0;
  bool map_failed_ = false;
  bool evicting_ = false;
};

}  // namespace dbgalloc::debug
