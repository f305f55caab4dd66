// Guard blocks: a block on pages of its own, flush against a guard page, so the first
// byte read or written past it (or before it, placed at the start of its pages) faults
// at the instruction that did it. The block's header lives in a GuardRecord outside
// its pages, so a quarantined guard block can be made inaccessible whole and still be
// identified. Two mechanisms, chosen once at start-up (configure):
//
// Guard slabs (guard regions, Linux 6.13+; guard_slabs.cpp). A slab is one mapping cut
// into slots of the same page count, each slot's pages between guard pages:
//   [guard][slot 0 pages][guard][slot 1 pages][guard] ...
// The guard pages are installed once (madvise MADV_GUARD_INSTALL, which never splits
// the mapping: one mapping per slab, however many blocks) and stay. Slots are handed
// out fresh, a batch of guard pages ahead, so taking a fresh slot costs no system call.
// A quarantined block's pages become guard pages too (contents discarded), and when
// it leaves the quarantine its slot waits, still guarded, in a FIFO per page count;
// the next block of that page count takes the oldest one back with one
// MADV_GUARD_REMOVE. A freed slot keeps its record (state freed, the old block's
// stacks), so a stale access is a use after free and a stale free a double free.
// Slots of up to kSlabPages pages live in slabs that grow geometrically (kFirstSlabBytes
// to kMaxSlabBytes of address space) and are never unmapped; larger blocks get a slab
// of one slot, unmapped when the block leaves the quarantine. No map-count budget:
// guard blocks never fall back to canaries for lack of mappings.
//
// Guard spans (the mprotect fallback; guard_blocks.cpp): a span of its own per block,
// its guard page PROT_NONE, a quarantined block PROT_NONE whole.
// Span pool: a span whose block leaves the quarantine is not unmapped but kept,
// PROT_NONE whole, in a FIFO per (usable page count, guard side); the next guard block
// of that shape takes the oldest one and reopens it with one mprotect, instead of an
// mmap, an mprotect (the guard page), first-touch page faults and, later, a munmap.
// A pooled span keeps its record as a freed slot does. The pool is bounded
// (kPoolMaxSpans, kPoolMaxBytes, spans of at most kPoolPages pages); beyond that the
// oldest pooled span of the longest list is unmapped.
// Map count: every span costs two mappings, usable range and guard, whether live,
// quarantined or pooled (the guard's flags differ so the two never merge; pages.cpp).
// Spans in use and pooled together stay under max_spans_, 40% of vm.max_map_count;
// when a new span would pass it, a pooled span is unmapped first, and with none left
// new guard blocks fall back to canary blocks (counted).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "debug/block.hpp"
#include "pages/pages.hpp"
#include "platform/lock.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::debug {

struct GuardSlab;

struct GuardRecord {
  BlockHeader header;
  std::uintptr_t user;     // 0: a slab slot never used
  pages::Span* span;       // spans: the block's own span; slabs: nullptr
  GuardSlab* slab;         // slabs: the slab holding the slot
  GuardRecord* next_free;  // free records, or the next (newer) entry of a pool/FIFO
  std::uint32_t slot;      // slabs: the slot's index
  bool closed;             // the block's pages are no-access (PROT_NONE or guard pages)
  bool left;               // the block starts at its pages' start (guard before it)

  // The block's pages: [begin(), begin() + size()).
  std::uintptr_t begin() const;
  std::size_t size() const;
};

// What a fault at `address` on a guard block's pages (its record found through the
// page map) was: any access to a block no longer live is a use after free; on a live
// block's guard page, an underflow before its first byte or an overflow past it.
enum class GuardHit : std::uint8_t { overflow, underflow, use_after_free };
GuardHit classify_guard_hit(const GuardRecord& record, std::uintptr_t address);

struct GuardSlab {
  pages::Span* span;        // the whole slab, leading guard page included
  std::size_t pages;        // usable pages per slot
  std::size_t stride;       // bytes per slot: its pages and the guard page after them
  std::uint32_t capacity;   // slots
  std::uint32_t used;       // slots handed out at least once; the rest are fresh
  std::uint32_t guarded;    // slots whose guard page after them is installed
  GuardRecord* records;     // `capacity` records in slot order
  GuardSlab* next;          // every slab, or the free descriptors
  GuardSlab* prev;
  GuardRecord single;       // the record of a one-slot slab

  std::uintptr_t slot_begin(std::uint32_t slot) const;
  // The record of the block a fault or pointer at `address` (inside the slab) concerns.
  GuardRecord* record_near(std::uintptr_t address);
};

inline std::uintptr_t GuardRecord::begin() const { return span != nullptr ? span->base : slab->slot_begin(slot); }
inline std::size_t GuardRecord::size() const { return span != nullptr ? span->size : slab->pages * platform::page_size(); }

struct GuardStats {
  std::size_t live_spans = 0;    // guard blocks (live or quarantined), either mechanism
  std::size_t pooled_spans = 0;  // spans: PROT_NONE spans waiting for reuse
  std::size_t reused_spans = 0;  // guard blocks served from the pool or a freed slot
  std::size_t fallbacks = 0;     // guard wanted, canary block given (memory or map count)
  std::size_t freed_slots = 0;   // slabs: freed slots waiting for reuse
  std::size_t slabs = 0;         // slabs: mappings made for slots
  std::size_t bytes = 0;         // usable bytes of the guard blocks counted in live_spans
};

class GuardBlocks {
 public:
  static constexpr std::size_t kPoolPages = 32;
  static constexpr std::size_t kPoolMaxSpans = 4096;
  static constexpr std::size_t kPoolMaxBytes = std::size_t{32} << 20;
  static constexpr std::size_t kSlabPages = 32;  // larger blocks get one-slot slabs
  static constexpr std::size_t kFirstSlabBytes = std::size_t{1} << 20;
  static constexpr std::size_t kMaxSlabBytes = std::size_t{64} << 20;
  static constexpr std::uint32_t kGuardBatch = 32;  // guard pages installed ahead

  // `guard_regions`: slabs on guard regions (the caller checked the kernel has them);
  // false: spans with mprotect, within a budget of map_count_limit.
  void configure(std::size_t map_count_limit, bool guard_regions = false);
  bool guard_regions() const { return regions_; }
  // A record whose user bytes [user, user + size) end at the guard page (right) or
  // start at it (left); nullptr when the mapping failed or the map budget is spent (the
  // caller falls back to a canary block). `alignment` is honoured exactly.
  GuardRecord* allocate(std::size_t size, std::size_t alignment, bool left_guard);
  // The record of the guard block whose span or slot holds address, or nullptr.
  static GuardRecord* record_at(std::uintptr_t address);
  // Quarantine: no access to the block at all.
  static void protect(GuardRecord* record);
  // The block left the quarantine (or was never held): its span goes to the pool, or
  // is unmapped; its slot waits for reuse.
  void release(GuardRecord* record);
  void count_fallback();
  GuardStats stats();
  // Unmaps every pooled span (tests; also what a full budget does one at a time).
  void drain_pool();

  // Calls visit(record) for each record of a block (pooled spans and freed slots
  // included: their state is freed), with the lock held.
  template <typename Visit>
  void for_each(Visit visit) {
    platform::LockGuard guard(lock_);
    for (RecordChunk* chunk = chunks_; chunk != nullptr; chunk = chunk->next) {
      for (GuardRecord& record : chunk->records) {
        if (record.span != nullptr) visit(record);
      }
    }
    for (GuardSlab* slab = slabs_; slab != nullptr; slab = slab->next) {
      for (std::uint32_t i = 0; i < slab->used; ++i) {
        if (slab->records[i].user != 0) visit(slab->records[i]);
      }
    }
  }

  void lock() { lock_.lock(); }
  void unlock() { lock_.unlock(); }
  void reset_lock_after_fork() { lock_.reset(); }

 private:
  struct RecordChunk {
    RecordChunk* next;
    GuardRecord records[500];
  };
  struct PoolList {
    GuardRecord* oldest = nullptr;
    GuardRecord* newest = nullptr;
    std::size_t count = 0;
  };
  struct SlabClass {
    GuardSlab* filling = nullptr;  // the newest slab, where fresh slots come from
    PoolList freed;                // freed slots, oldest first
  };
  // Spans (guard_blocks.cpp).
  GuardRecord* span_allocate(std::size_t usable, bool left_guard);
  void span_release(GuardRecord* record);
  GuardRecord* new_record();
  void free_record(GuardRecord* record);
  static void append(PoolList* list, GuardRecord* record);
  static GuardRecord* pop_oldest(PoolList* list);
  PoolList* pool_list(std::size_t usable, bool left_guard);
  GuardRecord* take_pooled(PoolList* list);
  GuardRecord* take_oldest_of_longest();
  void unmap_detached(GuardRecord* record);
  // Slabs (guard_slabs.cpp).
  GuardRecord* slab_allocate(std::size_t pages);
  void slab_release(GuardRecord* record);
  GuardSlab* new_slab(std::size_t pages, std::uint32_t capacity);
  void unmap_slab(GuardSlab* slab);
  bool guard_ahead(GuardSlab* slab);

  platform::Lock lock_;
  bool regions_ = false;
  RecordChunk* chunks_ = nullptr;
  GuardRecord* free_records_ = nullptr;
  std::size_t max_spans_ = 0;
  PoolList pool_[2][kPoolPages] = {};
  std::size_t pooled_bytes_ = 0;
  GuardSlab* slabs_ = nullptr;
  GuardSlab* free_slabs_ = nullptr;
  SlabClass classes_[kSlabPages] = {};
  GuardStats stats_;
  std::atomic<std::size_t> bytes_{0};
};

}  // namespace dbgalloc::debug
