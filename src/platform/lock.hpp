// A small mutex that never allocates and can be statically initialised, so it is usable
// before any constructor runs. Spins briefly, then sleeps on a futex.
#pragma once

#include <atomic>
#include <cstdint>

namespace dbgalloc::platform {

class Lock {
 public:
  constexpr Lock() = default;
  void lock() {
    std::uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return;
    lock_slow();
  }
  bool try_lock() {
    std::uint32_t expected = 0;
    return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire);
  }
  void unlock() {
    if (state_.exchange(0, std::memory_order_release) == 2) wake();
  }
  // For a forked child: the forking thread held it, nobody else exists any more.
  void reset() { state_.store(0, std::memory_order_relaxed); }

 private:
  void lock_slow();
  void wake();
  // 0 free, 1 held, 2 held with waiters.
  std::atomic<std::uint32_t> state_{0};
};

class LockGuard {
 public:
  explicit LockGuard(Lock& lock) : lock_(lock) { lock_.lock(); }
  ~LockGuard() { lock_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Lock& lock_;
};

}  // namespace dbgalloc::platform
