// Per-thread records of one kind (the heap's thread caches, the quarantine's batches).
// A thread that needs one attaches a record: a parked one (left by a thread that
// exited) or a fresh mapping. The record is registered in an intrusive list under the
// registry's lock, and a pthread key is its thread-exit hook, which parks it again for
// the next thread. Records live in dbgalloc's own mappings, never in the program's heap,
// and are never unmapped. Nothing here allocates, except the key's own table the first
// time a thread sets a value (ThreadExitKey::set): attach runs that in an InternalScope.
#pragma once

#include <cstddef>

#include "platform/lock.hpp"
#include "platform/platform.hpp"
#include "platform/process.hpp"
#include "platform/reentry.hpp"

namespace dbgalloc::platform {

// The links every record carries: its record type derives from it.
struct ThreadRecord {
  ThreadRecord* registry_next = nullptr;  // the registered list, or the parked list
  ThreadRecord* registry_prev = nullptr;
};

class ThreadRegistry {
 public:
  enum class Attach { attached, no_key, no_memory, refused };

  // on_thread_exit(record) runs when a thread that attached a record exits.
  explicit constexpr ThreadRegistry(void (*on_thread_exit)(void* record)) : on_exit_(on_thread_exit) {}

  // Gives the calling thread a record: a parked one, else `bytes` freshly mapped (zero);
  // prepare(record, fresh) readies it before it is the thread's and registered. *out is
  // set when attached. Else: no_key (the system has no key left: without a thread-exit
  // hook a record would never come back, so none is handed out, now or later),
  // no_memory (mapping refused), refused (the key's value could not be set; the record
  // is parked again).
  template <typename Prepare>
  Attach attach(std::size_t bytes, Prepare&& prepare, ThreadRecord** out) {
    ThreadRecord* record = nullptr;
    {
      LockGuard guard(lock_);
      if (!key_ready()) return Attach::no_key;
      record = parked_;
      if (record != nullptr) parked_ = record->registry_next;
    }
    bool fresh = record == nullptr;
    if (fresh) {
      record = static_cast<ThreadRecord*>(map(bytes));
      if (record == nullptr) return Attach::no_memory;
    }
    prepare(record, fresh);
    {
      InternalScope internal;  // the key table's second level is allocated
      if (!key_.set(record)) {
        LockGuard guard(lock_);
        push_parked(record);
        return Attach::refused;
      }
    }
    LockGuard guard(lock_);
    record->registry_prev = nullptr;
    record->registry_next = registered_;
    if (registered_ != nullptr) registered_->registry_prev = record;
    registered_ = record;
    *out = record;
    return Attach::attached;
  }

  // Unlinks a registered record and parks it, with the lock held.
  void park_locked(ThreadRecord* record) {
    if (record->registry_prev != nullptr) record->registry_prev->registry_next = record->registry_next;
    else registered_ = record->registry_next;
    if (record->registry_next != nullptr) record->registry_next->registry_prev = record->registry_prev;
    push_parked(record);
  }
  void park(ThreadRecord* record) {
    LockGuard guard(lock_);
    park_locked(record);
  }
  // So that the calling thread's exit hook does not run (clearing never allocates).
  void clear_exit_hook() {
    if (key_state_ == KeyState::ready) key_.set(nullptr);
  }

  // The registered records, to walk with the lock held.
  ThreadRecord* registered_locked() const { return registered_; }
  Lock& lock() { return lock_; }

 private:
  enum class KeyState { none, ready, failed };

  // With the lock held: creates the key the first time.
  bool key_ready() {
    if (key_state_ == KeyState::none) key_state_ = key_.create(on_exit_) ? KeyState::ready : KeyState::failed;
    return key_state_ == KeyState::ready;
  }
  void push_parked(ThreadRecord* record) {
    record->registry_prev = nullptr;
    record->registry_next = parked_;
    parked_ = record;
  }

  void (*on_exit_)(void* record);
  Lock lock_;
  ThreadExitKey key_;
  KeyState key_state_ = KeyState::none;
  ThreadRecord* registered_ = nullptr;  // guarded by lock_
  ThreadRecord* parked_ = nullptr;      // guarded by lock_
};

}  // namespace dbgalloc::platform
