// Guard blocks: a block on a span of its own, flush against a PROT_NONE page, so the
// first byte read or written past it (or before it, with guard_side=left) faults at
// the instruction that did it. The block's header lives in a GuardRecord outside the
// span (span->owner_data points to it), so a quarantined guard block can be made
// PROT_NONE whole and still be identified.
//
// Every span costs two mappings (usable + guard). Before the kernel's
// vm.max_map_count is near, new guard blocks fall back to canary blocks (counted).
#pragma once

#include <cstddef>
#include <cstdint>

#include "debug/block.hpp"
#include "pages/pages.hpp"
#include "platform/lock.hpp"

namespace dbgalloc::debug {

struct GuardRecord {
  BlockHeader header;
  std::uintptr_t user;
  pages::Span* span;
  GuardRecord* next_free;
};

struct GuardStats {
  std::size_t live_spans = 0;
  std::size_t fallbacks = 0;   // guard wanted, canary block given (memory or map count)
};

class GuardBlocks {
 public:
  void configure(std::size_t map_count_limit);
  // A record whose user bytes [user, user + size) end at the guard page (right) or
  // start at it (left); nullptr when the mapping failed or the map budget is spent (the
  // caller falls back to a canary block). `alignment` is honoured exactly.
  GuardRecord* allocate(std::size_t size, std::size_t alignment, bool left_guard);
  // The record of the guard block whose span holds address, or nullptr.
  static GuardRecord* record_at(std::uintptr_t address);
  // Quarantine: no access to the block at all.
  static void protect(GuardRecord* record);
  void release(GuardRecord* record);
  void count_fallback();
  GuardStats stats();

  // Calls visit(record) for each record in use, with the lock held.
  template <typename Visit>
  void for_each(Visit visit) {
    platform::LockGuard guard(lock_);
    for (Slab* slab = slabs_; slab != nullptr; slab = slab->next) {
      for (GuardRecord& record : slab->records) {
        if (record.span != nullptr) visit(record);
      }
    }
  }

  void lock() { lock_.lock(); }
  void unlock() { lock_.unlock(); }
  void reset_lock_after_fork() { lock_.reset(); }

 private:
  struct Slab {
    Slab* next;
    GuardRecord records[500];
  };
  GuardRecord* new_record();

  platform::Lock lock_;
  Slab* slabs_ = nullptr;
  GuardRecord* free_records_ = nullptr;
  std::size_t max_spans_ = 0;
  GuardStats stats_;
};

}  // namespace dbgalloc::debug
