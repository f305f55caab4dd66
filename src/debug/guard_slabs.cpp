// Guard slabs: guard blocks on guard regions (see guard_blocks.hpp for the layout and
// the life of a slot).
#include "debug/guard_blocks.hpp"

#include "platform/platform.hpp"

namespace dbgalloc::debug {

extern char guard_slab_tag;

namespace {
constexpr std::size_t kDescriptorChunk = 64 * 1024;
}  // namespace

std::uintptr_t GuardSlab::slot_begin(std::uint32_t slot) const {
  return span->base + platform::page_size() + static_cast<std::uintptr_t>(slot) * stride;
}

// Lock-free (the fault handler calls it): `used` only grows, and a slot's record is
// written before `used` counts it.
GuardRecord* GuardSlab::record_near(std::uintptr_t address) {
  const std::size_t page = platform::page_size();
  std::uint32_t count = __atomic_load_n(&used, __ATOMIC_ACQUIRE);
  auto in_use = [this, count](std::uint64_t slot) -> GuardRecord* {
    if (slot >= count) return nullptr;
    GuardRecord* record = &records[slot];
    return __atomic_load_n(&record->user, __ATOMIC_ACQUIRE) != 0 ? record : nullptr;
  };
  std::uintptr_t first = span->base + page;
  if (address < first) return in_use(0);  // the leading guard page
  std::uintptr_t offset = address - first;
  std::uint64_t slot = offset / stride;
  std::size_t within = offset % stride;
  if (within < pages * page) return in_use(slot);
  // The guard page between two slots: the block flush against it, the one whose
  // overrun (below, placed right) or underrun (above, placed left) reaches it; when
  // both are, the nearer half of the page decides.
  GuardRecord* below = in_use(slot);
  GuardRecord* above = in_use(slot + 1);
  bool below_flush = below != nullptr && !below->left;
  bool above_flush = above != nullptr && above->left;
  if (below_flush != above_flush) return below_flush ? below : above;
  if (below != nullptr && above != nullptr) return within - pages * page < page / 2 ? below : above;
  return below != nullptr ? below : above;
}

// Under the lock.
GuardSlab* GuardBlocks::new_slab(std::size_t pages, std::uint32_t capacity) {
  const std::size_t page = platform::page_size();
  if (free_slabs_ == nullptr) {
    auto* chunk = static_cast<GuardSlab*>(platform::map(kDescriptorChunk));
    if (chunk == nullptr) return nullptr;
    for (std::size_t i = 0; i < kDescriptorChunk / sizeof(GuardSlab); ++i) {
      chunk[i].next = free_slabs_;
      free_slabs_ = &chunk[i];
    }
  }
  const std::size_t stride = (pages + 1) * page;
  pages::Span* span =
      pages::page_allocator().allocate(page + capacity * stride, pages::SpanKind::guard_block, &guard_slab_tag);
  if (span == nullptr) return nullptr;
  GuardSlab* slab = free_slabs_;
  GuardRecord* records = &slab->single;
  if (capacity > 1) {
    records = static_cast<GuardRecord*>(platform::map(capacity * sizeof(GuardRecord)));
  } else {
    slab->single = GuardRecord{};
  }
  if (records == nullptr || !platform::guard_install(reinterpret_cast<void*>(span->base), page)) {
    if (records != nullptr && capacity > 1) platform::unmap(records, capacity * sizeof(GuardRecord));
    pages::page_allocator().release(span);
    return nullptr;
  }
  free_slabs_ = slab->next;
  slab->span = span;
  slab->pages = pages;
  slab->stride = stride;
  slab->capacity = capacity;
  slab->used = 0;
  slab->guarded = 0;
  slab->records = records;
  slab->prev = nullptr;
  slab->next = slabs_;
  if (slabs_ != nullptr) slabs_->prev = slab;
  slabs_ = slab;
  __atomic_store_n(&span->owner_data, reinterpret_cast<std::uintptr_t>(slab), __ATOMIC_RELEASE);
  ++stats_.slabs;
  return slab;
}

// Under the lock.
void GuardBlocks::unmap_slab(GuardSlab* slab) {
  if (slab->prev != nullptr) {
    slab->prev->next = slab->next;
  } else {
    slabs_ = slab->next;
  }
  if (slab->next != nullptr) slab->next->prev = slab->prev;
  pages::page_allocator().release(slab->span);  // clears the page map first
  if (slab->capacity > 1) platform::unmap(slab->records, slab->capacity * sizeof(GuardRecord));
  slab->span = nullptr;
  slab->next = free_slabs_;
  free_slabs_ = slab;
  --stats_.slabs;
}

// Under the lock: installs the guard pages of the next batch of fresh slots, so taking
// them later costs no system call. False when not even one could be installed.
bool GuardBlocks::guard_ahead(GuardSlab* slab) {
  const std::size_t page = platform::page_size();
  std::uint32_t end = slab->guarded + kGuardBatch < slab->capacity ? slab->guarded + kGuardBatch : slab->capacity;
  while (slab->guarded < end) {
    auto* guard = reinterpret_cast<void*>(slab->slot_begin(slab->guarded) + slab->pages * page);
    if (!platform::guard_install(guard, page)) break;
    ++slab->guarded;
  }
  return slab->guarded > slab->used;
}

GuardRecord* GuardBlocks::slab_allocate(std::size_t pages) {
  GuardRecord* record = nullptr;
  {
    platform::LockGuard guard(lock_);
    SlabClass* size_class = pages <= kSlabPages ? &classes_[pages - 1] : nullptr;
    if (size_class != nullptr && (record = pop_oldest(&size_class->freed)) != nullptr) {
      --stats_.freed_slots;
      ++stats_.reused_spans;
    } else {
      GuardSlab* slab = size_class != nullptr ? size_class->filling : nullptr;
      if (slab == nullptr || slab->used == slab->capacity) {
        std::uint32_t capacity = 1;
        if (size_class != nullptr) {
          // Slabs double, so a program with few guard blocks maps and enters little.
          std::size_t bytes = slab == nullptr ? kFirstSlabBytes : 2 * slab->capacity * slab->stride;
          if (bytes > kMaxSlabBytes) bytes = kMaxSlabBytes;
          std::size_t slots = bytes / ((pages + 1) * platform::page_size());
          capacity = slots > 1 ? static_cast<std::uint32_t>(slots) : 1;
        }
        slab = new_slab(pages, capacity);
        if (slab == nullptr) {
          ++stats_.fallbacks;
          return nullptr;
        }
        if (size_class != nullptr) size_class->filling = slab;
      }
      if (slab->used == slab->guarded && !guard_ahead(slab)) {
        if (slab->capacity == 1) unmap_slab(slab);
        ++stats_.fallbacks;
        return nullptr;
      }
      record = &slab->records[slab->used];
      *record = GuardRecord{};
      record->slab = slab;
      record->slot = slab->used;
      __atomic_store_n(&slab->used, slab->used + 1, __ATOMIC_RELEASE);
    }
    ++stats_.live_spans;
  }
  if (record->closed) {
    // A freed slot: its pages come back empty (they read as zero).
    if (!platform::guard_remove(reinterpret_cast<void*>(record->begin()), record->size())) {
      platform::LockGuard guard(lock_);
      append(&classes_[pages - 1].freed, record);
      ++stats_.freed_slots;
      --stats_.live_spans;
      ++stats_.fallbacks;
      return nullptr;
    }
    record->closed = false;
  }
  return record;
}

void GuardBlocks::slab_release(GuardRecord* record) {
  protect(record);  // never held in the quarantine: guard it now
  GuardSlab* slab = record->slab;
  platform::LockGuard guard(lock_);
  --stats_.live_spans;
  if (slab->capacity == 1) {
    unmap_slab(slab);
    return;
  }
  append(&classes_[slab->pages - 1].freed, record);
  ++stats_.freed_slots;
}

}  // namespace dbgalloc::debug
