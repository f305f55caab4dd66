// Guard blocks: a block on a span of its own, flush against a PROT_NONE page, so the
// first byte read or written past it (or before it, with guard_side=left) faults at
// the instruction that did it. The block's header lives in a GuardRecord outside the
// span (span->owner_data points to it), so a quarantined guard block can be made
// PROT_NONE whole and still be identified.
//
// Span pool: a span whose block leaves the quarantine is not unmapped but kept,
// PROT_NONE whole, in a FIFO per (usable page count, guard side); the next guard block
// of that shape takes the oldest one and reopens it with one mprotect, instead of an
// mmap, an mprotect (the guard page), first-touch page faults and, later, a munmap.
// A pooled span keeps its record (state freed, the old block's stacks): the page map
// still names it a guard block span, so a stale access faults and is reported as a use
// after free, and a stale free as a double free. The pool is bounded (kPoolMaxSpans,
// kPoolMaxBytes, spans of at most kPoolPages pages); beyond that the oldest pooled
// span of the longest list is unmapped.
//
// Map count: every span costs two mappings, usable range and guard, whether live,
// quarantined or pooled (the guard's flags differ so the two never merge; pages.cpp).
// Spans in use and pooled together stay under max_spans_, 40% of vm.max_map_count;
// when a new span would pass it, a pooled span is unmapped first, and with none left
// new guard blocks fall back to canary blocks (counted).
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
  GuardRecord* next_free;  // free records, or the next (newer) span of a pool list
  bool closed;             // the whole span is PROT_NONE
};

struct GuardStats {
  std::size_t live_spans = 0;    // spans holding a block (live or quarantined)
  std::size_t pooled_spans = 0;  // PROT_NONE spans waiting for reuse
  std::size_t reused_spans = 0;  // guard blocks served from the pool
  std::size_t fallbacks = 0;     // guard wanted, canary block given (memory or map count)
};

class GuardBlocks {
 public:
  static constexpr std::size_t kPoolPages = 32;
  static constexpr std::size_t kPoolMaxSpans = 4096;
  static constexpr std::size_t kPoolMaxBytes = std::size_t{32} << 20;

  void configure(std::size_t map_count_limit);
  // A record whose user bytes [user, user + size) end at the guard page (right) or
  // start at it (left); nullptr when the mapping failed or the map budget is spent (the
  // caller falls back to a canary block). `alignment` is honoured exactly.
  GuardRecord* allocate(std::size_t size, std::size_t alignment, bool left_guard);
  // The record of the guard block whose span holds address, or nullptr.
  static GuardRecord* record_at(std::uintptr_t address);
  // Quarantine: no access to the block at all.
  static void protect(GuardRecord* record);
  // The block left the quarantine (or was never held): its span goes to the pool, or
  // is unmapped.
  void release(GuardRecord* record);
  void count_fallback();
  GuardStats stats();
  // Unmaps every pooled span (tests; also what a full budget does one at a time).
  void drain_pool();

  // Calls visit(record) for each record with a span (pooled ones included: their
  // state is freed), with the lock held.
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
  struct PoolList {
    GuardRecord* oldest = nullptr;
    GuardRecord* newest = nullptr;
    std::size_t count = 0;
  };
  GuardRecord* new_record();
  void free_record(GuardRecord* record);
  PoolList* pool_list(std::size_t usable, bool left_guard);
  GuardRecord* take_pooled(PoolList* list);
  GuardRecord* take_oldest_of_longest();
  void unmap_detached(GuardRecord* record);

  platform::Lock lock_;
  Slab* slabs_ = nullptr;
  GuardRecord* free_records_ = nullptr;
  std::size_t max_spans_ = 0;
  PoolList pool_[2][kPoolPages] = {};
  std::size_t pooled_bytes_ = 0;
  GuardStats stats_;
};

}  // namespace dbgalloc::debug
