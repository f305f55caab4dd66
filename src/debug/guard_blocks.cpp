#include "debug/guard_blocks.hpp"

#include "platform/platform.hpp"

namespace dbgalloc::debug {

namespace {
// Marks spans as ours in the page map; the address is all that matters.
constinit char guard_owner_tag = 0;
}  // namespace

void GuardBlocks::configure(std::size_t map_count_limit) {
  platform::LockGuard guard(lock_);
  // Two mappings per span; leave a fifth of the limit to the program and ourselves.
  max_spans_ = map_count_limit / 10 * 4;
}

GuardRecord* GuardBlocks::new_record() {
  if (free_records_ == nullptr) {
    auto* slab = static_cast<Slab*>(platform::map(sizeof(Slab)));
    if (slab == nullptr) return nullptr;
    slab->next = slabs_;
    slabs_ = slab;
    for (GuardRecord& record : slab->records) {
      record.span = nullptr;
      record.next_free = free_records_;
      free_records_ = &record;
    }
  }
  GuardRecord* record = free_records_;
  free_records_ = record->next_free;
  return record;
}

GuardRecord* GuardBlocks::allocate(std::size_t size, std::size_t alignment, bool left_guard) {
  const std::size_t page = platform::page_size();
  if (alignment > page) return nullptr;  // such blocks use canaries
  std::size_t rounded = pages::round_up(size == 0 ? 1 : size, alignment);
  std::size_t usable = pages::round_up(rounded, page);
  {
    platform::LockGuard guard(lock_);
    if (stats_.live_spans >= max_spans_) {
      ++stats_.fallbacks;
      return nullptr;
    }
    ++stats_.live_spans;  // reserved; undone below on failure
  }
  pages::Span* span = pages::page_allocator().allocate(usable, pages::SpanKind::guard_block, &guard_owner_tag,
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
  record->user = left_guard ? span->base : span->base + span->size - rounded;
  span->owner_data = reinterpret_cast<std::uintptr_t>(record);
  return record;
}

GuardRecord* GuardBlocks::record_at(std::uintptr_t address) {
  pages::Span* span = pages::page_allocator().span_of(address);
  if (span == nullptr || span->kind != pages::SpanKind::guard_block || span->owner != &guard_owner_tag) return nullptr;
  return reinterpret_cast<GuardRecord*>(span->owner_data);
}

void GuardBlocks::protect(GuardRecord* record) {
  platform::protect_none(reinterpret_cast<void*>(record->span->base), record->span->size);
}

void GuardBlocks::release(GuardRecord* record) {
  pages::page_allocator().release(record->span);
  platform::LockGuard guard(lock_);
  record->span = nullptr;
  record->next_free = free_records_;
  free_records_ = record;
  --stats_.live_spans;
}

void GuardBlocks::count_fallback() {
  platform::LockGuard guard(lock_);
  ++stats_.fallbacks;
}

GuardStats GuardBlocks::stats() {
  platform::LockGuard guard(lock_);
  return stats_;
}

}  // namespace dbgalloc::debug
