// Heap: a dlmalloc-style core. Knows nothing of debugging.
//
// Chunks are 16-byte aligned and their sizes multiples of 16. Every chunk starts with a
// 16-byte header; the payload handed out follows it.
//
//      chunk -> +----------------------------------+
//               | prev_size: size of the previous  |  meaningful only while the
//               |            chunk when it is free |  previous chunk is free
//               +----------------------------------+
//               | size | DIRECT | PINUSE | CINUSE  |  low 4 bits are flags
//    payload -> +----------------------------------+
//               | in use: the caller's bytes       |
//               | free:   fd, bk (bin links)       |
//               +----------------------------------+
//      next  -> | prev_size = size when free (the boundary tag / footer)
//
// Segments come from the page allocator: a Segment record, then chunks, then a fence
// (a header whose size is kFence, always in use) so walks stop without bounds checks.
// Blocks of at least kDirectThreshold are mapped on their own (DIRECT flag; prev_size
// then holds the offset of the chunk from its span's base).
//
// Free chunks sit in bins: 256 exact small bins (chunk sizes 32..4080, step 16) and
// 640 large bins, sixteen per power of two, each kept sorted by size so the first
// chunk that fits is the best fit. A bitmap marks the non-empty bins.
//
// Thread caches (thread_cache.hpp, driven by arenas.hpp) hold chunks the heap handed
// out: such a cached chunk is in use here (CINUSE, counted in in-use bytes) and carries
// a mark in its footer (chunk.hpp), which nothing else uses while a chunk is in use.
// walk_live, find_live_block_containing and owns_live_block treat it as not live. The
// heap clears the footer whenever it hands a chunk out or resizes one, so a stale mark
// never makes a live chunk look cached.
//
// Invariants (check() verifies all of them):
//  - chunk sizes are >= kMinChunk, multiples of 16, and tile each segment exactly up
//    to its fence;
//  - a chunk's CINUSE bit equals the next chunk's PINUSE bit; the first chunk of a
//    segment has PINUSE set;
//  - no two free chunks are adjacent (frees coalesce);
//  - a free chunk's footer (next chunk's prev_size) equals its size;
//  - the bins hold exactly the free chunks, each in the bin its size maps to, lists are
//    well linked, large bins sorted, and the bitmap agrees with emptiness;
//  - the in-use byte count equals the sum of in-use chunk sizes (cached ones included);
//  - a cached chunk is at most kMaxCachedChunk (Arenas::check() also verifies the
//    calling thread's cache entry by entry).
//
// A Heap is not thread-safe: the caller holds its lock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pages/pages.hpp"

namespace dbgalloc::platform {
class PopulatedPages;
}

namespace dbgalloc::heap {

struct HeapStats {
  std::size_t in_use_bytes = 0;     // chunk bytes handed out (headers included)
  std::size_t peak_in_use_bytes = 0;
  std::size_t mapped_bytes = 0;     // segments + direct blocks
  std::size_t live_chunks = 0;
  std::size_t segments = 0;
  std::size_t direct_blocks = 0;
  std::size_t free_chunks = 0;
  std::size_t free_bytes = 0;
};

struct CheckResult {
  bool ok = true;
  const char* problem = nullptr;    // static text naming the broken invariant
  std::uintptr_t address = 0;       // the chunk where it was found
};

// Damage to the heap's own metadata (integrity.hpp) that an operation met: the first
// one since the calling thread last took it. The operation left the damaged chunk
// alone (a free not done, a neighbour not merged, a bin dropped); the caller reports.
struct Fault {
  const char* problem = nullptr;   // static text
  std::uintptr_t address = 0;      // the chunk whose word failed
};
void note_fault(const char* problem, std::uintptr_t address);
namespace detail {
extern constinit thread_local Fault tls_fault __attribute__((tls_model("initial-exec")));
bool take_noted_fault(Fault* out);
}  // namespace detail
inline bool fault_noted() { return detail::tls_fault.problem != nullptr; }
inline bool take_fault(Fault* out) { return fault_noted() && detail::take_noted_fault(out); }

class Heap {
 public:
  static constexpr std::size_t kAlignment = 16;
  static constexpr std::size_t kHeaderSize = 16;
  static constexpr std::size_t kMinChunk = 32;
  static constexpr std::size_t kDirectThreshold = 256 * 1024;
  // The largest request served, overheads included (docs/usage.md, "Huge requests"):
  // the debug layer refuses user requests above 1 TiB - 1 before they get here; an
  // aligned request counts its alignment with its size (the slack is mapped too).
  static constexpr std::size_t kMaxRequest = std::size_t{1} << 40;

  constexpr Heap() = default;
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // 16-byte aligned payload of at least `bytes`, or nullptr (errno = ENOMEM).
  void* allocate(std::size_t bytes);
  // Payload aligned to `alignment` (a power of two, any size), or nullptr.
  void* allocate_aligned(std::size_t alignment, std::size_t bytes);
  // False (nothing done, a Fault noted) when the chunk's metadata fails its integrity
  // check, or a neighbour it would merge with does.
  bool deallocate(void* payload);
  // owns_live_block(payload) && deallocate(payload), each word verified once.
  bool deallocate_if_live(void* payload);
  // deallocate when the caller has just verified the chunk's head (head_intact).
  bool deallocate_verified(void* payload);
  // Grows or shrinks in place when the neighbour allows; else moves the contents.
  // nullptr on failure, the old block untouched.
  void* reallocate(void* payload, std::size_t bytes);
  // In-place only: true when the block now holds `bytes`.
  bool resize_in_place(void* payload, std::size_t bytes);

  std::size_t usable_size(const void* payload) const;
  // True when payload is exactly the start of a chunk of this heap that is in use.
  // Reads only memory the page map says belongs to this heap.
  bool owns_live_block(const void* payload) const;

  // Calls visit(payload, usable_size, context) for every live block. The visitor must
  // not call back into this heap.
  using Visitor = void (*)(void* payload, std::size_t usable, void* context);
  void walk_live(Visitor visit, void* context) const;
  // The live block whose payload contains `address` (error paths only: walks the
  // segment). nullptr when none does.
  void* find_live_block_containing(std::uintptr_t address) const;

  CheckResult check() const;
  // walk_live and check() narrowed, for a forked child, to the chunks that overlap a
  // page it may have written since the fork (pages.for_each_written_run), found without
  // walking each segment from its start (written_walk.cpp); direct blocks all. Checks
  // those chunks as check() does and their free neighbours' bin links, but not the
  // heap's totals nor the bins as a whole: the pages left out are the parent's, which
  // checks them. Stops at the first failure.
  CheckResult walk_written(platform::PopulatedPages& pages, Visitor visit, void* context) const;
  // check() narrowed to the chunk holding `address` and its two neighbours (plus the
  // segment's tiling up to it): cheap enough to run after every operation in fuzzers,
  // with check() every so often. A sound answer for an address not in this heap.
  CheckResult check_around(std::uintptr_t address) const;
  HeapStats stats() const { return stats_; }
  // Returns every segment and direct block to the OS (tests and fuzzers).
  void release_all();
  // Unmaps fully free segments beyond the first; returns the bytes released.
  std::size_t trim();

  struct Chunk;

 private:
  // Exact bins up to 4 KiB: the fragments small-block churn leaves need no sorting.
  static constexpr std::size_t kSmallBins = 256;
  static constexpr unsigned kFirstLargeShift = 12;  // log2(kSmallBins * kAlignment)
  static_assert((std::size_t{1} << kFirstLargeShift) == kSmallBins * kAlignment);
  // Sixteen large bins per power of two keep each sorted list short even when a
  // quarantine returns blocks in an order that fragments the heap.
  static constexpr unsigned kLargeBinShift = 4;
  static constexpr std::size_t kLargeBinsPerPower = std::size_t{1} << kLargeBinShift;
  static constexpr std::size_t kBins = kSmallBins + 40 * kLargeBinsPerPower;  // 896, a multiple of 64
  static_assert(kBins % 64 == 0);

  static std::size_t bin_index(std::size_t chunk_size);
  void insert_free(Chunk* chunk);
  bool sound_free(Chunk* chunk) const;
  bool unlinkable(Chunk* chunk) const;
  bool looks_live(const void* payload) const;
  void drop_bin(std::size_t index, Chunk* damaged);
  void empty_bin(std::size_t index);
  bool is_sentinel(const Chunk* chunk) const {
    return reinterpret_cast<std::uintptr_t>(chunk) - reinterpret_cast<std::uintptr_t>(bin_heads_) < sizeof bin_heads_;
  }
  // Sets a link, tagged unless `at` is a sentinel.
  void link_next(Chunk* at, Chunk* next);
  void link_prev(Chunk* at, Chunk* previous);
  bool unlink_free(Chunk* chunk);
  void unlink_verified(Chunk* chunk);
  Chunk* take_fit(std::size_t chunk_size);
  void split_in_use(Chunk* chunk, std::size_t chunk_size);
  Chunk* add_segment(std::size_t chunk_size);
  void* allocate_direct(std::size_t bytes, std::size_t alignment);
  void release_direct(Chunk* chunk);
  bool free_chunk(Chunk* chunk);
  void maybe_release_segment(Chunk* chunk);
  Chunk* bin_sentinel(std::size_t index) const;
  void mark_in_use(Chunk* chunk);
  CheckResult check_bins(std::size_t* free_count) const;
  bool linked_free(Chunk* chunk) const;
  Chunk* chunk_from_header(const pages::Span* span, std::uintptr_t address) const;
  CheckResult check_head(const Chunk* chunk, std::uintptr_t fence) const;
  CheckResult check_direct(const pages::Span* span) const;
  bool genuine_start(const pages::Span* span, Chunk* chunk) const;
  Chunk* start_covering(const pages::Span* span, std::uintptr_t address, Chunk* floor) const;
  CheckResult check_walked_chunk(const pages::Span* span, Chunk* chunk) const;
  CheckResult walk_written_run(const pages::Span* span, std::uintptr_t begin, std::uintptr_t end, Chunk** cursor,
                               Visitor visit, void* context) const;

  // Each bin's sentinel is a chunk-shaped record accessed only as a Chunk, so list
  // code has no empty-list special cases (dlmalloc's trick, without type punning).
  alignas(16) unsigned char bin_heads_[kBins][32] = {};
  std::uint64_t bin_map_[kBins / 64] = {};
  pages::Span* segments_ = nullptr;
  pages::Span* direct_ = nullptr;
  HeapStats stats_;
};

}  // namespace dbgalloc::heap
