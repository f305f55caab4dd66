// Quarantine: a FIFO of freed blocks held back from reuse, so a use after free touches
// memory that is still filled (or PROT_NONE, for guard blocks) rather than a new block.
//
// A ring of entries in internal memory (mapped on first use, never the tracked heap),
// bounded by bytes and by count. push() takes the newest block; whatever falls out of
// the budget is handed back to the caller, which verifies and releases it outside the
// lock (verification may report, and reporting may allocate).
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

  void configure(std::size_t max_bytes, std::size_t max_blocks);
  // False when the block cannot be held (no budget, or the ring could not be mapped):
  // the caller releases it at once. Evicted entries go to `evicted` (up to max_evicted);
  // *evicted_count says how many. Call evict() for the rest while it returns entries.
  bool push(Entry entry, Entry* evicted, std::size_t max_evicted, std::size_t* evicted_count);
  // Pops entries while over budget (or all, with drain_all).
  std::size_t evict(Entry* out, std::size_t max, bool drain_all);

  // Calls visit for every held entry, oldest first, with the lock held.
  template <typename Visit>
  void for_each(Visit visit) {
    platform::LockGuard guard(lock_);
    for (std::size_t i = 0; i < count_; ++i) visit(ring_[(head_ + i) % capacity_]);
  }

  std::size_t bytes() const { return bytes_; }
  std::size_t blocks() const { return count_; }

  void lock() { lock_.lock(); }
  void unlock() { lock_.unlock(); }
  void reset_lock_after_fork() { lock_.reset(); }

 private:
  bool over_budget() const { return bytes_ > max_bytes_ || count_ > max_blocks_; }
  std::size_t pop_locked(Entry* out, std::size_t max, bool drain_all);

  platform::Lock lock_;
  Entry* ring_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
  std::size_t max_bytes_ = 0;
  std::size_t max_blocks_ = 0;
  bool map_failed_ = false;
};

}  // namespace dbgalloc::debug
