// Quarantine: see quarantine.hpp for the ring, its growth and the accounting.
#include "debug/quarantine.hpp"

#include <cstring>

#include "platform/platform.hpp"

namespace dbgalloc::debug {

void Quarantine::configure(std::size_t max_bytes, std::size_t max_blocks) {
  platform::LockGuard guard(lock_);
  max_bytes_ = max_bytes;
  max_blocks_ = max_blocks;
}

bool Quarantine::map_ring() {
  if (map_failed_) return false;
  // One slot more than the count budget: push first, then evict.
  std::size_t capacity = max_blocks_ + 1;
  auto* ring = static_cast<Entry*>(platform::map(capacity * sizeof(Entry)));
  if (ring == nullptr) {
    map_failed_ = true;
    return false;
  }
  capacity_ = capacity;
  active_ = capacity < kInitialActive ? capacity : kInitialActive;
  head_ = 0;
  // Published last: mapping() reads it without the lock.
  __atomic_store_n(&ring_, ring, __ATOMIC_RELEASE);
  return true;
}

// The ring is full (count_ == active_): double it. The oldest run, [head_, active_),
// moves up to end at the new top; the wrapped run [0, head_) stays where it is.
void Quarantine::grow_ring() {
  std::size_t grown = active_ * 2 < capacity_ ? active_ * 2 : capacity_;
  std::size_t run = active_ - head_;
  std::memmove(ring_ + (grown - run), ring_ + head_, run * sizeof(Entry));
  head_ = grown - run;
  active_ = grown;
}

std::size_t Quarantine::pop_locked(Entry* out, std::size_t max, bool drain_all) {
  std::size_t n = 0;
  // Once over budget, evict down to a low-water mark: evictions come in batches,
  // whose cold blocks the caller fetches together.
  if (over_budget()) evicting_ = true;
  while (n < max && count_ > 0 && (drain_all || evicting_)) {
    out[n++] = ring_[head_];
    entries_bytes_ -= ring_[head_].bytes;
    head_ = head_ + 1 == active_ ? 0 : head_ + 1;
    --count_;
    if (evicting_ && below_low_water()) evicting_ = false;
  }
  if (count_ == 0) evicting_ = false;
  return n;
}

void Quarantine::append_locked(Entry entry, Entry* evicted, std::size_t* evicted_count) {
  if (count_ == active_) {
    if (active_ < capacity_) {
      grow_ring();
    } else {
      *evicted_count += pop_locked(evicted + *evicted_count, 1, true);
    }
  }
  std::size_t tail = head_ + count_;
  ring_[tail < active_ ? tail : tail - active_] = entry;
  ++count_;
  entries_bytes_ += entry.bytes;
}

bool Quarantine::push(Entry entry, Entry* evicted, std::size_t max_evicted, std::size_t* evicted_count) {
  *evicted_count = 0;
  platform::LockGuard guard(lock_);
  if (max_blocks_ == 0 || max_bytes_ == 0 || entry.bytes > max_bytes_) return false;
  if (ring_ == nullptr && !map_ring()) return false;
  append_locked(entry, evicted, evicted_count);
  *evicted_count += pop_locked(evicted + *evicted_count, max_evicted - *evicted_count, false);
  return true;
}

bool Quarantine::push_batch(Batch& batch, Entry* evicted, std::size_t max_evicted, std::size_t* evicted_count) {
  *evicted_count = 0;
  platform::LockGuard guard(lock_);
  if (max_blocks_ == 0 || max_bytes_ == 0) return false;
  if (ring_ == nullptr && !map_ring()) return false;
  for (std::size_t i = 0; i < batch.count; ++i) append_locked(batch.entries[i], evicted, evicted_count);
  // Emptied before the lock is released: a fork taken after it sees the entries in the
  // ring only.
  batch.count = 0;
  batch.bytes = 0;
  *evicted_count += pop_locked(evicted + *evicted_count, max_evicted - *evicted_count, false);
  return true;
}

std::size_t Quarantine::evict(Entry* out, std::size_t max, bool drain_all) {
  platform::LockGuard guard(lock_);
  if (ring_ == nullptr) return 0;
  return pop_locked(out, max, drain_all);
}

}  // namespace dbgalloc::debug
