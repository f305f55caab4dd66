#include "pages/pages.hpp"

#include <errno.h>

#include <new>

#include "platform/platform.hpp"

namespace dbgalloc::pages {

namespace {
constexpr std::size_t kLeafEntries = std::size_t{1} << PageMap::kLeafBits;
constexpr std::size_t kDescriptorSlab = 64 * 1024;

// Constant-initialised so it works before any constructor, including ours, has run.
constinit PageAllocator global_pages;

bool make_guard(std::uintptr_t begin, std::size_t bytes) {
  auto* address = reinterpret_cast<void*>(begin);
  // A core dump loses nothing (no access, no contents); a refusal only costs speed.
  platform::exclude_from_core_dump(address, bytes);
  return platform::protect_none(address, bytes);
}
}  // namespace

PageAllocator& page_allocator() { return global_pages; }

Span* PageMap::span_of(std::uintptr_t address) const {
  std::uintptr_t page = address >> kPageShift;
  std::uintptr_t top = page >> kLeafBits;
  if (top >= (std::uintptr_t{1} << kTopBits)) return nullptr;
  std::uintptr_t entry = top_[top].load(std::memory_order_acquire);
  if ((entry & kWholeLeaf) != 0) return reinterpret_cast<Span*>(entry & ~kWholeLeaf);
  auto* leaf = reinterpret_cast<Leaf*>(entry);
  if (leaf == nullptr) return nullptr;
  return leaf[page & (kLeafEntries - 1)].load(std::memory_order_acquire);
}

// Callers hold the allocator lock, so no other thread changes the top entries.
bool PageMap::assign(std::uintptr_t begin, std::size_t bytes, Span* span) {
  std::uintptr_t first = begin >> kPageShift;
  std::uintptr_t last = (begin + bytes - 1) >> kPageShift;
  if ((last >> kLeafBits) >= (std::uintptr_t{1} << kTopBits)) return false;
  std::uintptr_t page = first;
  while (page <= last) {
    std::uintptr_t top = page >> kLeafBits;
    std::uintptr_t leaf_first = top << kLeafBits;
    std::uintptr_t leaf_last = leaf_first + kLeafEntries - 1;
    std::uintptr_t entry = top_[top].load(std::memory_order_acquire);
    if (page == leaf_first && last >= leaf_last && (entry == 0 || (entry & kWholeLeaf) != 0)) {
      // A whole leaf's range (1 GiB) belongs to one span: one mark, no leaf written.
      top_[top].store(span != nullptr ? reinterpret_cast<std::uintptr_t>(span) | kWholeLeaf : 0,
                      std::memory_order_release);
      page = leaf_last + 1;
      continue;
    }
    auto* leaf = reinterpret_cast<Leaf*>(entry & ~kWholeLeaf);
    if ((entry & kWholeLeaf) != 0 || leaf == nullptr) {
      if (span == nullptr && entry == 0) {
        page = leaf_last + 1;
        continue;
      }
      // A marked leaf partly reassigned becomes a real one holding the mark's span.
      auto* whole = reinterpret_cast<Span*>(entry & ~kWholeLeaf);
      leaf = static_cast<Leaf*>(platform::map(kLeafEntries * sizeof(Leaf)));
      if (leaf == nullptr) return false;
      if ((entry & kWholeLeaf) != 0)
        for (std::size_t i = 0; i < kLeafEntries; ++i) leaf[i].store(whole, std::memory_order_relaxed);
      top_[top].store(reinterpret_cast<std::uintptr_t>(leaf), std::memory_order_release);
    }
    std::uintptr_t stop = last < leaf_last ? last : leaf_last;
    for (; page <= stop; ++page) leaf[page & (kLeafEntries - 1)].store(span, std::memory_order_release);
  }
  return true;
}

Span* PageAllocator::new_descriptor() {
  if (free_descriptors_ == nullptr) {
    auto* slab = static_cast<Span*>(platform::map(kDescriptorSlab));
    if (slab == nullptr) return nullptr;
    for (std::size_t i = 0; i < kDescriptorSlab / sizeof(Span); ++i) {
      Span* span = new (&slab[i]) Span();
      span->list_next = free_descriptors_;
      free_descriptors_ = span;
    }
  }
  Span* span = free_descriptors_;
  free_descriptors_ = span->list_next;
  *span = Span();
  return span;
}

void PageAllocator::recycle_descriptor(Span* span) {
  *span = Span();
  span->list_next = free_descriptors_;
  free_descriptors_ = span;
}

namespace {
// Maps guard_before + bytes + guard_after with base (the first byte after guard_before)
// aligned to `alignment`, the slack trimmed off both ends; 0 when the kernel refuses.
// A heap block mapped on its own and a guard block (or slab of them) are the
// program's memory: accounted, as glibc's are, so a request the machine cannot back
// fails at once instead of succeeding lazily.
std::uintptr_t map_aligned(bool accounted, std::size_t guard_before, std::size_t bytes, std::size_t guard_after,
                           std::size_t alignment) {
  const std::size_t page = platform::page_size();
  const std::size_t slack = alignment > page ? alignment - page : 0;
  const std::size_t total = guard_before + bytes + guard_after + slack;
  auto* raw = static_cast<char*>(accounted ? platform::map_accounted(total) : platform::map(total));
  if (raw == nullptr) return 0;
  auto begin = reinterpret_cast<std::uintptr_t>(raw);
  std::uintptr_t base = round_up(begin + guard_before, alignment);
  std::uintptr_t map_begin = base - guard_before;
  std::uintptr_t map_end = base + bytes + guard_after;
  if (map_begin > begin) platform::unmap(raw, map_begin - begin);
  if (begin + total > map_end) platform::unmap(reinterpret_cast<void*>(map_end), begin + total - map_end);
  return base;
}
}  // namespace

bool PageAllocator::guard_and_map(Span* span) {
  // Each guard splits the mapping; near vm.max_map_count this is what fails first. A
  // guard stays a mapping of its own even when the usable range is PROT_NONE too (its
  // flags differ), so protecting and reopening the usable range never splits or merges.
  bool ok = true;
  if (span->guard_before > 0) ok = make_guard(span->map_begin(), span->guard_before);
  if (ok && span->guard_after > 0) ok = make_guard(span->base + span->size, span->guard_after);
  if (ok) ok = map_.assign(span->map_begin(), span->map_size(), span);
  if (!ok) map_.assign(span->map_begin(), span->map_size(), nullptr);
  return ok;
}

Span* PageAllocator::allocate(std::size_t bytes, SpanKind kind, void* owner, std::size_t guard_before,
                              std::size_t guard_after, std::size_t alignment) {
  const std::size_t page = platform::page_size();
  if (alignment < page) alignment = page;
  if (bytes == 0 || bytes > (std::size_t{1} << 46) || alignment > (std::size_t{1} << 40)) {
    errno = ENOMEM;
    return nullptr;
  }
  bytes = round_up(bytes, page);
  guard_before = round_up(guard_before, page);
  guard_after = round_up(guard_after, page);

  platform::LockGuard guard(lock_);
  Span* span = new_descriptor();
  std::uintptr_t base = 0;
  if (span != nullptr) {
    bool programs = kind == SpanKind::direct || kind == SpanKind::guard_block;
    base = map_aligned(programs, guard_before, bytes, guard_after, alignment);
    if (base == 0) recycle_descriptor(span);
  }
  if (base == 0) {
    ++stats_.map_failures;
    errno = ENOMEM;
    return nullptr;
  }
  span->base = base;
  span->size = bytes;
  span->guard_before = guard_before;
  span->guard_after = guard_after;
  span->kind = kind;
  span->owner = owner;
  if (!guard_and_map(span)) {
    platform::unmap(reinterpret_cast<void*>(span->map_begin()), span->map_size());
    ++stats_.map_failures;
    recycle_descriptor(span);
    errno = ENOMEM;
    return nullptr;
  }
  stats_.mapped_bytes += span->map_size();
  if (stats_.mapped_bytes > stats_.peak_mapped_bytes) stats_.peak_mapped_bytes = stats_.mapped_bytes;
  ++stats_.live_spans;
  return span;
}

void PageAllocator::release(Span* span) {
  if (span == nullptr) return;
  platform::LockGuard guard(lock_);
  map_.assign(span->map_begin(), span->map_size(), nullptr);
  platform::unmap(reinterpret_cast<void*>(span->map_begin()), span->map_size());
  stats_.mapped_bytes -= span->map_size();
  --stats_.live_spans;
  recycle_descriptor(span);
}

PageStats PageAllocator::stats() const {
  platform::LockGuard guard(lock_);
  return stats_;
}

}  // namespace dbgalloc::pages
