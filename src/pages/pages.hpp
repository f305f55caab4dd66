// Pages: whole-page spans from the OS, guard pages around them, and a page map.
//
// A span is one mmap'd range: [guard_before][usable bytes][guard_after], the guards
// PROT_NONE. Every page of a span, guards included, is entered in the page map, a
// two-level radix table indexed by (address >> 12) over the 48-bit user address space.
// Leaves are mapped lazily and never freed, so span_of() can be asked about any
// address at any time, from any thread or a signal handler, without touching memory
// that may be unmapped: it only reads the map. A leaf's whole range (1 GiB) that one
// span covers is one mark in the top table instead (the span's address, low bit
// set), so a huge span costs a few writes, not one per page.
//
// Span descriptors live in internal pages (never the tracked heap) and are recycled
// through a free list. Invariants: a span's pages map to it and to nothing else while
// it is live; on release the entries are cleared before the range is unmapped.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "platform/lock.hpp"

namespace dbgalloc::pages {

enum class SpanKind : std::uint8_t {
  free_descriptor = 0,
  heap_segment,   // carved into chunks by the heap
  direct,         // one large heap block mapped on its own
  guard_block,    // a debug block flush against a guard page
  internal,       // dbgalloc's own metadata
};

struct Span {
  std::uintptr_t base = 0;         // first usable byte
  std::size_t size = 0;            // usable bytes (a multiple of the page size)
  std::size_t guard_before = 0;    // bytes of PROT_NONE before base
  std::size_t guard_after = 0;     // bytes of PROT_NONE after base + size
  SpanKind kind = SpanKind::free_descriptor;
  void* owner = nullptr;           // the heap (or other layer) that asked for it
  std::size_t owner_data = 0;      // the owner's own use (heap: payload offset of a direct block)
  Span* list_next = nullptr;       // owner's list of its spans
  Span* list_prev = nullptr;

  std::uintptr_t map_begin() const { return base - guard_before; }
  std::size_t map_size() const { return guard_before + size + guard_after; }
  bool contains(std::uintptr_t address) const { return address >= base && address < base + size; }
};

struct PageStats {
  std::size_t mapped_bytes = 0;   // usable + guard bytes currently mapped
  std::size_t peak_mapped_bytes = 0;
  std::size_t live_spans = 0;
  std::size_t map_failures = 0;   // mmap/mprotect refusals (memory or map count)
};

class PageMap {
 public:
  static constexpr unsigned kPageShift = 12;
  static constexpr unsigned kLeafBits = 18;
  static constexpr unsigned kTopBits = 48 - kPageShift - kLeafBits;

  // The span that owns the page holding address, or nullptr. Lock-free.
  Span* span_of(std::uintptr_t address) const;
  // Enters [begin, begin + bytes) as belonging to span (nullptr clears). False when a
  // leaf could not be mapped.
  bool assign(std::uintptr_t begin, std::size_t bytes, Span* span);

 private:
  using Leaf = std::atomic<Span*>;
  static constexpr std::uintptr_t kWholeLeaf = 1;  // Span descriptors are 8-byte aligned
  // A Leaf*, or a Span* | kWholeLeaf, or 0.
  std::atomic<std::uintptr_t> top_[std::size_t{1} << kTopBits] = {};
};

class PageAllocator {
 public:
  // A span of at least `bytes` usable bytes whose base is aligned to `alignment`
  // (a power of two; page alignment at least), with the given number of guard bytes
  // (multiples of the page size) on each side. nullptr with errno = ENOMEM when the
  // kernel refuses (memory, or vm.max_map_count reached): never a crash.
  Span* allocate(std::size_t bytes, SpanKind kind, void* owner, std::size_t guard_before = 0,
                 std::size_t guard_after = 0, std::size_t alignment = 0);
  void release(Span* span);

  Span* span_of(std::uintptr_t address) const { return map_.span_of(address); }
  Span* span_of(const void* address) const { return span_of(reinterpret_cast<std::uintptr_t>(address)); }
  PageStats stats() const;

  // fork(): held across it so no other thread leaves the allocator half-updated.
  void lock() { lock_.lock(); }
  void unlock() { lock_.unlock(); }
  void reset_lock_after_fork() { lock_.reset(); }

 private:
  Span* new_descriptor();
  void recycle_descriptor(Span* span);
  // Makes the span's guard pages and enters it in the page map; false (the map entries
  // cleared, the memory still mapped) when either fails.
  bool guard_and_map(Span* span);

  mutable platform::Lock lock_;
  PageMap map_;
  Span* free_descriptors_ = nullptr;
  PageStats stats_;
};

// The process-wide page allocator (static storage, usable before constructors run).
PageAllocator& page_allocator();

inline std::size_t round_up(std::size_t value, std::size_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace dbgalloc::pages
