// Chunk layout shared by the heap's units; see heap.hpp for the picture.
#pragma once

#include <cstddef>
#include <cstdint>

#include "heap/heap.hpp"
#include "heap/integrity.hpp"
#include "heap/poison.hpp"

namespace dbgalloc::heap {

namespace chunk_layout {
constexpr std::size_t kCInUse = 1;
constexpr std::size_t kPInUse = 2;
constexpr std::size_t kDirect = 4;
constexpr std::size_t kFlags = 15;
constexpr std::size_t kFirstSegment = 1 << 20;
constexpr std::size_t kMaxSegment = 64 << 20;
// Room before the first chunk (the Segment record) and the fence at the end.
constexpr std::size_t kSegmentOverhead = 2 * Heap::kHeaderSize;
// Thread caches (thread_cache.hpp) hold chunks of at most this size.
constexpr std::size_t kMaxCachedChunk = 1024;
// A cached chunk's footer holds its address xor this seal. The low bits are set, so
// the mark never equals a chunk size (a multiple of 16), nor 0.
constexpr std::uintptr_t kCacheSeal = 0x5eedcacedc0de00bULL;

inline std::size_t chunk_size_for(std::size_t bytes) {
  std::size_t size = (bytes + Heap::kHeaderSize + Heap::kAlignment - 1) & ~(Heap::kAlignment - 1);
  return size < Heap::kMinChunk ? Heap::kMinChunk : size;
}
}  // namespace chunk_layout

using namespace chunk_layout;

// Header accessors run on memory that is poisoned for ASan in fuzz builds: only they
// may touch chunk metadata, so the sanitizer still checks every other access.
//
// head, prev_size (while trusted) and the bin links are tagged words (integrity.hpp):
// readers decode them as they are; verifying is explicit (head_intact, prev_intact,
// links_intact) where the heap acts on a word it read: its size to free, merge, split
// or copy, a link to follow or unlink. Words the heap only compares with what it knows
// (a cached chunk's size, a neighbour's link back) or overwrites need no tag check.
// PINUSE is left out of the head's tag: the heap flips it on a neighbour without
// reading that head, and never trusts it alone: merging with the chunk before needs a
// tagged previous-size word (zeroed whenever the chunk before is handed out, so none
// is left stale under a live block), that chunk's own tagged head saying free and of
// that size, and its tagged links. Sizes fit in 48 bits (kMaxRequest is far below).
struct Heap::Chunk {
  std::size_t prev_size;
  std::size_t head;
  std::uintptr_t fd;
  std::uintptr_t bk;

  static constexpr std::size_t kSizeMask = integrity::kValueMask & ~kFlags;
  static constexpr std::size_t kHeadTagged = integrity::kValueMask & ~kPInUse;

  DBGALLOC_NO_ASAN std::size_t head_word() const { return __atomic_load_n(&head, __ATOMIC_RELAXED); }
  DBGALLOC_NO_ASAN std::size_t size() const { return head_word() & kSizeMask; }
  DBGALLOC_NO_ASAN bool in_use() const { return (head_word() & kCInUse) != 0; }
  DBGALLOC_NO_ASAN bool prev_in_use() const { return (head_word() & kPInUse) != 0; }
  DBGALLOC_NO_ASAN bool direct() const { return (head_word() & kDirect) != 0; }
  DBGALLOC_NO_ASAN std::size_t flags() const { return head_word() & kFlags; }
  DBGALLOC_NO_ASAN bool head_intact() const { return head_word_intact(head_word()); }
  DBGALLOC_NO_ASAN bool head_word_intact(std::size_t word) const {
    return integrity::intact(&head, word, kHeadTagged, integrity::kHead);
  }
  // One store, so a lock-free reader sees the old word or the new one, both tagged.
  DBGALLOC_NO_ASAN void set_head(std::size_t value) {
    __atomic_store_n(&head, integrity::sealed(&head, value, kHeadTagged, integrity::kHead), __ATOMIC_RELAXED);
  }
  // PINUSE is outside the tag: flipped in place (lock holders only write heads).
  DBGALLOC_NO_ASAN void set_prev_in_use() { __atomic_store_n(&head, head_word() | kPInUse, __ATOMIC_RELAXED); }
  DBGALLOC_NO_ASAN void clear_prev_in_use() { __atomic_store_n(&head, head_word() & ~kPInUse, __ATOMIC_RELAXED); }
  DBGALLOC_NO_ASAN std::size_t prev() const { return prev_size & integrity::kValueMask; }
  DBGALLOC_NO_ASAN bool prev_intact() const {
    return integrity::intact(&prev_size, prev_size, integrity::kValueMask, integrity::kPrevSize);
  }
  DBGALLOC_NO_ASAN void set_prev(std::size_t value) {
    prev_size = integrity::sealed(&prev_size, value, integrity::kValueMask, integrity::kPrevSize);
  }
  DBGALLOC_NO_ASAN Chunk* next_link() const { return reinterpret_cast<Chunk*>(fd & integrity::kValueMask); }
  DBGALLOC_NO_ASAN Chunk* prev_link() const { return reinterpret_cast<Chunk*>(bk & integrity::kValueMask); }
  DBGALLOC_NO_ASAN bool next_link_intact() const {
    return integrity::intact(&fd, fd, integrity::kValueMask, integrity::kNextLink);
  }
  DBGALLOC_NO_ASAN bool links_intact() const {
    return next_link_intact() && integrity::intact(&bk, bk, integrity::kValueMask, integrity::kPrevLink);
  }
  DBGALLOC_NO_ASAN void set_links(Chunk* next, Chunk* previous) {
    set_next_link(next);
    set_prev_link(previous);
  }
  DBGALLOC_NO_ASAN void set_next_link(Chunk* next) {
    fd = integrity::sealed(&fd, reinterpret_cast<std::uintptr_t>(next), integrity::kValueMask, integrity::kNextLink);
  }
  DBGALLOC_NO_ASAN void set_prev_link(Chunk* previous) {
    bk = integrity::sealed(&bk, reinterpret_cast<std::uintptr_t>(previous), integrity::kValueMask, integrity::kPrevLink);
  }
  // Bin sentinels (in the Heap, out of the program's reach) hold plain links.
  DBGALLOC_NO_ASAN void set_plain_next_link(Chunk* next) { fd = reinterpret_cast<std::uintptr_t>(next); }
  DBGALLOC_NO_ASAN void set_plain_prev_link(Chunk* previous) { bk = reinterpret_cast<std::uintptr_t>(previous); }
  // A bin sentinel never used: all zero.
  DBGALLOC_NO_ASAN bool links_unset() const { return fd == 0 && bk == 0; }

  // Cached chunks (thread_cache.hpp) are in use to the heap but not live to anyone
  // else. The mark is in the chunk's footer, the next chunk's prev_size: while a chunk
  // is in use nothing else reads or writes that word (the heap clears it whenever it
  // hands a chunk out or resizes one), and it lies outside the payload. The cache's
  // owner sets and clears it without the arena lock, so these accesses are atomic:
  // an allocation from the cache sets the block up while it is still marked, then
  // clears the mark with a release store; walkers load it with acquire. The mark has
  // its low bits set, so it never reads as a tagged prev_size (a multiple of 16).
  // head_relaxed() reads a head that a lock holder may be changing (only PINUSE).
  DBGALLOC_NO_ASAN std::size_t head_relaxed() const { return head_word(); }
  DBGALLOC_NO_ASAN std::uintptr_t cache_mark() const { return address() ^ kCacheSeal; }
  DBGALLOC_NO_ASAN std::size_t* footer_word() const {
    return reinterpret_cast<std::size_t*>(address() + (head_relaxed() & kSizeMask));
  }
  DBGALLOC_NO_ASAN bool cached() const { return __atomic_load_n(footer_word(), __ATOMIC_ACQUIRE) == cache_mark(); }
  DBGALLOC_NO_ASAN void set_cached() { __atomic_store_n(footer_word(), cache_mark(), __ATOMIC_RELEASE); }
  DBGALLOC_NO_ASAN void clear_cached() { __atomic_store_n(footer_word(), std::size_t{0}, __ATOMIC_RELEASE); }

  DBGALLOC_NO_COVERAGE Chunk* after() { return at(reinterpret_cast<char*>(this) + size()); }
  DBGALLOC_NO_COVERAGE Chunk* before() { return at(reinterpret_cast<char*>(this) - prev()); }
  void* payload() { return reinterpret_cast<char*>(this) + kHeaderSize; }
  std::uintptr_t address() const { return reinterpret_cast<std::uintptr_t>(this); }
  static Chunk* at(void* p) { return static_cast<Chunk*>(p); }
  static Chunk* of(const void* payload) {
    return reinterpret_cast<Chunk*>(const_cast<char*>(static_cast<const char*>(payload)) - kHeaderSize);
  }
};

using Chunk = Heap::Chunk;

namespace chunk_layout {

inline std::uintptr_t first_chunk_address(const pages::Span* span) { return span->base + Heap::kHeaderSize; }
inline std::uintptr_t fence_address(const pages::Span* span) { return span->base + span->size - Heap::kHeaderSize; }

inline void span_list_push(pages::Span** list, pages::Span* span) {
  span->list_prev = nullptr;
  span->list_next = *list;
  if (*list != nullptr) (*list)->list_prev = span;
  *list = span;
}

inline void span_list_remove(pages::Span** list, pages::Span* span) {
  if (span->list_prev != nullptr) span->list_prev->list_next = span->list_next;
  else *list = span->list_next;
  if (span->list_next != nullptr) span->list_next->list_prev = span->list_prev;
}
}  // namespace chunk_layout

}  // namespace dbgalloc::heap
