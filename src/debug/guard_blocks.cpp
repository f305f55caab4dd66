#include "debug/guard_blocks.hpp"

#include "platform/platform.hpp"

namespace dbgalloc::debug {

// Marks spans and slabs as ours in the page map; the address is all that matters.
constinit char guard_span_tag = 0;
constinit char guard_slab_tag = 0;

void GuardBlocks::configure(std::size_t map_count_limit, bool guard_regions) {
  platform::LockGuard guard(lock_);
  // Two mappings per span; leave a fifth of the limit to the program and ourselves.
  max_spans_ = map_count_limit / 10 * 4;
  regions_ = guard_regions;
}

GuardRecord* GuardBlocks::new_record() {
  if (free_records_ == nullptr) {
    auto* chunk = static_cast<RecordChunk*>(platform::map(sizeof(RecordChunk)));
    if (chunk == nullptr) return nullptr;
    chunk->next = chunks_;
    chunks_ = chunk;
    for (GuardRecord& record : chunk->records) {
      record.span = nullptr;
      record.next_free = free_records_;
      free_records_ = &record;
    }
  }
  GuardRecord* record = free_records_;
  free_records_ = record->next_free;
  return record;
}

void GuardBlocks::free_record(GuardRecord* record) {
  record->span = nullptr;
  record->next_free = free_records_;
  free_records_ = record;
}

GuardBlocks::PoolList* GuardBlocks::pool_list(std::size_t usable, bool left_guard) {
  std::size_t pages = usable / platform::page_size();
  if (pages == 0 || pages > kPoolPages) return nullptr;
  return &pool_[left_guard ? 1 : 0][pages - 1];
}

void GuardBlocks::append(PoolList* list, GuardRecord* record) {
  record->next_free = nullptr;
  if (list->newest != nullptr) {
    list->newest->next_free = record;
  } else {
    list->oldest = record;
  }
  list->newest = record;
  ++list->count;
}

GuardRecord* GuardBlocks::pop_oldest(PoolList* list) {
  GuardRecord* record = list->oldest;
  if (record == nullptr) return nullptr;
  list->oldest = record->next_free;
  if (list->oldest == nullptr) list->newest = nullptr;
  --list->count;
  record->next_free = nullptr;
  return record;
}

GuardRecord* GuardBlocks::take_pooled(PoolList* list) {
  GuardRecord* record = pop_oldest(list);
  if (record == nullptr) return nullptr;
  --stats_.pooled_spans;
  pooled_bytes_ -= record->span->size;
  return record;
}

GuardRecord* GuardBlocks::take_oldest_of_longest() {
  PoolList* longest = nullptr;
  for (auto& side : pool_) {
    for (PoolList& list : side) {
      if (list.count > 0 && (longest == nullptr || list.count > longest->count)) longest = &list;
    }
  }
  return longest != nullptr ? take_pooled(longest) : nullptr;
}

// A record taken out of every list: unmaps its span, then recycles the record.
void GuardBlocks::unmap_detached(GuardRecord* record) {
  pages::page_allocator().release(record->span);
  platform::LockGuard guard(lock_);
  free_record(record);
}

GuardRecord* GuardBlocks::allocate(std::size_t size, std::size_t alignment, bool left_guard) {
  const std::size_t page = platform::page_size();
  if (alignment > page) return nullptr;  // such blocks use canaries
  if (size > BlockHeader::kMaxSize) return nullptr;  // refused by the canary path too
  std::size_t rounded = pages::round_up(size == 0 ? 1 : size, alignment);
  std::size_t usable = pages::round_up(rounded, page);
  GuardRecord* record = regions_ ? slab_allocate(usable / page) : span_allocate(usable, left_guard);
  if (record == nullptr) return nullptr;
  bytes_.fetch_add(record->size(), std::memory_order_relaxed);
  record->left = left_guard;
  record->user = left_guard ? record->begin() : record->begin() + record->size() - rounded;
  return record;
}

GuardRecord* GuardBlocks::span_allocate(std::size_t usable, bool left_guard) {
  const std::size_t page = platform::page_size();
  GuardRecord* pooled = nullptr;
  GuardRecord* victim = nullptr;
  {
    platform::LockGuard guard(lock_);
    if (PoolList* list = pool_list(usable, left_guard)) pooled = take_pooled(list);
    if (pooled == nullptr && stats_.live_spans + stats_.pooled_spans >= max_spans_) {
      // Over the map budget: give up a pooled span of another shape, else a canary block.
      victim = take_oldest_of_longest();
      if (victim == nullptr) {
        ++stats_.fallbacks;
        return nullptr;
      }
    }
    ++stats_.live_spans;  // reserved; undone below on failure
  }
  if (victim != nullptr) unmap_detached(victim);
  if (pooled != nullptr) {
    pages::Span* span = pooled->span;
    // One mprotect: the pages are still there, and so is the guard page.
    if (platform::protect_read_write(reinterpret_cast<void*>(span->base), span->size)) {
      pooled->closed = false;
      platform::LockGuard guard(lock_);
      ++stats_.reused_spans;
      return pooled;
    }
    // Reopening splits the mapping in two, which the kernel refuses at its map limit.
    {
      platform::LockGuard guard(lock_);
      --stats_.live_spans;
      ++stats_.fallbacks;
    }
    unmap_detached(pooled);
    return nullptr;
  }
  pages::Span* span = pages::page_allocator().allocate(usable, pages::SpanKind::guard_block, &guard_span_tag,
                                                       left_guard ? page : 0, left_guard ? 0 : page);
  platform::LockGuard guard(lock_);
  GuardRecord* record = span != nullptr ? new_record() : nullptr;
  if (record == nullptr) {
    if (span != nullptr) pages::page_allocator().release(span);
    --stats_.live_spans;
    ++stats_.fallbacks;
    return nullptr;
  }
  record->span = span;
  record->slab = nullptr;
  record->next_free = nullptr;
  record->closed = false;
  span->owner_data = reinterpret_cast<std::uintptr_t>(record);
  return record;
}

GuardRecord* GuardBlocks::record_at(std::uintptr_t address) {
  pages::Span* span = pages::page_allocator().span_of(address);
  if (span == nullptr || span->kind != pages::SpanKind::guard_block) return nullptr;
  if (span->owner == &guard_span_tag) return reinterpret_cast<GuardRecord*>(span->owner_data);
  if (span->owner == &guard_slab_tag) {
    auto* slab = reinterpret_cast<GuardSlab*>(__atomic_load_n(&span->owner_data, __ATOMIC_ACQUIRE));
    return slab != nullptr ? slab->record_near(address) : nullptr;
  }
  return nullptr;
}

void GuardBlocks::protect(GuardRecord* record) {
  if (record->closed) return;
  auto* begin = reinterpret_cast<void*>(record->begin());
  // Guard pages discard the contents: the header is in the record, and nothing reads a
  // freed block's bytes again.
  if (record->slab != nullptr ? platform::guard_install(begin, record->size())
                              : platform::protect_none(begin, record->size()))
    record->closed = true;
}

void GuardBlocks::release(GuardRecord* record) {
  bytes_.fetch_sub(record->size(), std::memory_order_relaxed);
  if (record->slab != nullptr) {
    slab_release(record);
  } else {
    span_release(record);
  }
}

void GuardBlocks::span_release(GuardRecord* record) {
  if (!record->closed) protect(record);
  GuardRecord* victim = nullptr;
  bool pooled = false;
  {
    platform::LockGuard guard(lock_);
    --stats_.live_spans;
    PoolList* list = record->closed ? pool_list(record->span->size, record->span->guard_before > 0) : nullptr;
    if (list != nullptr) {
      if (stats_.pooled_spans >= kPoolMaxSpans || pooled_bytes_ + record->span->size > kPoolMaxBytes)
        victim = take_oldest_of_longest();
      if (stats_.pooled_spans < kPoolMaxSpans && pooled_bytes_ + record->span->size <= kPoolMaxBytes) {
        append(list, record);
        ++stats_.pooled_spans;
        pooled_bytes_ += record->span->size;
        pooled = true;
      }
    }
  }
  if (victim != nullptr) unmap_detached(victim);
  if (!pooled) unmap_detached(record);
}

void GuardBlocks::drain_pool() {
  for (;;) {
    GuardRecord* victim = nullptr;
    {
      platform::LockGuard guard(lock_);
      victim = take_oldest_of_longest();
    }
    if (victim == nullptr) return;
    unmap_detached(victim);
  }
}

void GuardBlocks::count_fallback() {
  platform::LockGuard guard(lock_);
  ++stats_.fallbacks;
}

GuardStats GuardBlocks::stats() {
  platform::LockGuard guard(lock_);
  GuardStats stats = stats_;
  stats.bytes = bytes_.load(std::memory_order_relaxed);
  return stats;
}

GuardHit classify_guard_hit(const GuardRecord& record, std::uintptr_t address) {
  if (record.header.state() != State::live) return GuardHit::use_after_free;
  return address < record.user ? GuardHit::underflow : GuardHit::overflow;
}

}  // namespace dbgalloc::debug
