// Heap::check(): the full invariant walk listed in heap.hpp. Used by tests, fuzzers and
// the exit-time corruption sweep; it only reads. The walks skip cached chunks (in use to
// the heap, held by a thread cache, not live: see chunk.hpp).
#include "heap/chunk.hpp"

// Fuzzers run these checks after every operation; their own branches are no guide to
// new behaviour, so they stay out of coverage feedback (and its cost):
// DBGALLOC_NO_COVERAGE (poison.hpp).

namespace dbgalloc::heap {

namespace {
CheckResult fail(const char* problem, std::uintptr_t address) { return CheckResult{false, problem, address}; }
}  // namespace

DBGALLOC_NO_COVERAGE CheckResult Heap::check_bins(std::size_t* free_count) const {
  std::size_t count = 0;
  for (std::size_t index = 0; index < kBins; ++index) {
    bool marked = (bin_map_[index / 64] >> (index % 64)) & 1;
    Chunk* sentinel = bin_sentinel(index);
    if (sentinel->links_unset() || sentinel->next_link() == sentinel) {
      if (marked) return fail("bin bitmap marks an empty bin", sentinel->address());
      continue;
    }
    if (!marked) return fail("bin bitmap misses a non-empty bin", sentinel->address());
    std::size_t previous_size = 0;
    for (Chunk* c = sentinel->next_link(); c != sentinel; c = c->next_link()) {
      pages::Span* span = pages::page_allocator().span_of(c->address());
      if (span == nullptr || span->owner != this || span->kind != pages::SpanKind::heap_segment)
        return fail("bin entry outside this heap's segments", c->address());
      if (!c->head_intact() || !c->links_intact()) return fail("free chunk header or bin link fails its integrity check", c->address());
      if (c->in_use()) return fail("bin entry is marked in use", c->address());
      if (c->next_link()->prev_link() != c || c->prev_link()->next_link() != c)
        return fail("bin list links disagree", c->address());
      if (bin_index(c->size()) != index) return fail("chunk sits in the wrong bin", c->address());
      if (c->size() < previous_size) return fail("large bin not sorted by size", c->address());
      previous_size = c->size();
      if (++count > stats_.free_chunks) return fail("bins hold more chunks than are free", c->address());
    }
  }
  *free_count = count;
  return CheckResult{};
}

// A chunk's own head, where the tiling says a chunk starts.
DBGALLOC_NO_COVERAGE CheckResult Heap::check_head(const Chunk* c, std::uintptr_t fence) const {
  if (!c->head_intact()) return fail("chunk header fails its integrity check", c->address());
  std::size_t size = c->size();
  if (size < kMinChunk || size % kAlignment != 0) return fail("chunk size is invalid", c->address());
  if (c->direct()) return fail("direct flag inside a segment", c->address());
  if (c->address() + size > fence) return fail("chunk runs past its segment", c->address());
  return CheckResult{};
}

// A direct block's header: its chunk head and the offset from its span's base.
DBGALLOC_NO_COVERAGE CheckResult Heap::check_direct(const pages::Span* span) const {
  auto* c = reinterpret_cast<Chunk*>(span->base + span->owner_data - kHeaderSize);
  if (!c->head_intact() || !c->prev_intact() || !c->direct() || !c->in_use() ||
      c->prev() != span->owner_data - kHeaderSize)
    return fail("direct block header overwritten", c->address());
  return CheckResult{};
}

DBGALLOC_NO_COVERAGE CheckResult Heap::check() const {
  std::size_t walked_free = 0;
  std::size_t walked_free_bytes = 0;
  std::size_t in_use = 0;
  std::size_t live = 0;
  std::size_t segments = 0;
  for (pages::Span* span = segments_; span != nullptr; span = span->list_next) {
    ++segments;
    if (span->owner != this || span->kind != pages::SpanKind::heap_segment)
      return fail("segment list holds a foreign span", span->base);
    std::uintptr_t fence = fence_address(span);
    auto* c = reinterpret_cast<Chunk*>(first_chunk_address(span));
    if (!c->prev_in_use()) return fail("first chunk of a segment lacks PINUSE", c->address());
    bool previous_free = false;
    while (c->address() != fence) {
      if (CheckResult head = check_head(c, fence); !head.ok) return head;
      std::size_t size = c->size();
      Chunk* next = c->after();
      if (c->in_use() != next->prev_in_use()) return fail("PINUSE of next chunk disagrees", next->address());
      if (c->in_use()) {
        // A cached chunk counts as in use: the heap handed it to a thread cache.
        if (c->cached() && size > kMaxCachedChunk) return fail("cache mark on a chunk too large to cache", c->address());
        in_use += size;
        ++live;
        previous_free = false;
      } else {
        if (previous_free) return fail("two free chunks are adjacent", c->address());
        if (!next->prev_intact()) return fail("previous-size word fails its integrity check", next->address());
        if (next->prev() != size) return fail("free chunk footer disagrees with its size", c->address());
        ++walked_free;
        walked_free_bytes += size;
        previous_free = true;
      }
      c = next;
    }
    if (!c->head_intact() || !c->in_use() || c->size() != 0) return fail("segment fence overwritten", c->address());
  }
  for (pages::Span* span = direct_; span != nullptr; span = span->list_next) {
    if (span->owner != this || span->kind != pages::SpanKind::direct)
      return fail("direct list holds a foreign span", span->base);
    if (CheckResult head = check_direct(span); !head.ok) return head;
    in_use += span->size;
    ++live;
  }
  if (segments != stats_.segments) return fail("segment count disagrees with statistics", 0);
  if (walked_free != stats_.free_chunks || walked_free_bytes != stats_.free_bytes)
    return fail("free chunk count disagrees with statistics", 0);
  if (in_use != stats_.in_use_bytes || live != stats_.live_chunks)
    return fail("in-use bytes disagree with statistics", 0);
  std::size_t binned = 0;
  CheckResult bins = check_bins(&binned);
  if (!bins.ok) return bins;
  if (binned != walked_free) return fail("bins do not hold exactly the free chunks", 0);
  return CheckResult{};
}

namespace {
bool segment_chunk(const pages::Span* span, std::uintptr_t address) {
  return address >= first_chunk_address(span) && address < fence_address(span) && address % Heap::kAlignment == 0;
}
}  // namespace

// True when c is a free chunk linked in its bin: its links lead to this heap's
// sentinels or segments and point back at it. Reads nothing the page map disowns.
DBGALLOC_NO_COVERAGE bool Heap::linked_free(Chunk* c) const {
  if (!c->links_intact()) return false;
  for (Chunk* link : {c->next_link(), c->prev_link()}) {
    auto address = reinterpret_cast<std::uintptr_t>(link);
    auto sentinels = reinterpret_cast<std::uintptr_t>(bin_heads_);
    if (address >= sentinels && address < sentinels + sizeof bin_heads_) continue;
    pages::Span* span = pages::page_allocator().span_of(address);
    if (span == nullptr || span->owner != this || span->kind != pages::SpanKind::heap_segment ||
        !segment_chunk(span, address))
      return false;
  }
  auto sound = [this](Chunk* k) { return is_sentinel(k) || k->links_intact(); };
  return sound(c->next_link()) && sound(c->prev_link()) && c->next_link()->prev_link() == c &&
         c->prev_link()->next_link() == c;
}

// The chunk holding address found from its own header (a block start the caller was
// handed, or was just freed: then its chunk, or the free chunk it merged into), or
// nullptr when the header does not lead there soundly.
DBGALLOC_NO_COVERAGE Chunk* Heap::chunk_from_header(const pages::Span* span, std::uintptr_t address) const {
  if (!segment_chunk(span, address - kHeaderSize)) return nullptr;
  Chunk* c = Chunk::of(reinterpret_cast<void*>(address));
  auto sane = [span](Chunk* k) {
    if (!k->head_intact()) return false;
    std::size_t size = k->size();
    return size >= kMinChunk && size % kAlignment == 0 && !k->direct() && size <= fence_address(span) - k->address();
  };
  if (!sane(c)) return nullptr;
  if (c->in_use()) return c->after()->prev_in_use() ? c : nullptr;
  if (c->after()->prev() == c->size() && linked_free(c)) return c;
  // Merged into the free chunk before it: the stale header still holds its size.
  if (c->prev_in_use() || !c->prev_intact() || c->prev() > c->address() - first_chunk_address(span)) return nullptr;
  Chunk* p = c->before();
  if (!sane(p) || p->in_use() || p->address() + p->size() <= address || !linked_free(p)) return nullptr;
  return p;
}

DBGALLOC_NO_COVERAGE CheckResult Heap::check_around(std::uintptr_t address) const {
  pages::Span* span = pages::page_allocator().span_of(address);
  if (span == nullptr || span->owner != this) return CheckResult{};  // not ours (any more)
  if (span->kind == pages::SpanKind::direct) return check_direct(span);
  if (span->kind != pages::SpanKind::heap_segment) return fail("span of an unexpected kind", span->base);
  std::uintptr_t fence = fence_address(span);
  Chunk* c = chunk_from_header(span, address);
  if (c == nullptr) {
    // Walk to the chunk holding address (the walk itself checks the tiling).
    c = reinterpret_cast<Chunk*>(first_chunk_address(span));
    if (!c->prev_in_use()) return fail("first chunk of a segment lacks PINUSE", c->address());
    while (true) {
      if (c->address() == fence) {
        if (!c->head_intact() || !c->in_use() || c->size() != 0) return fail("segment fence overwritten", c->address());
        return CheckResult{};  // the address lies in the segment record or the fence
      }
      if (CheckResult head = check_head(c, fence); !head.ok) return head;
      std::size_t size = c->size();
      if (c->in_use() != c->after()->prev_in_use()) return fail("PINUSE of next chunk disagrees", c->after()->address());
      if (address < c->address() + size) break;
      c = c->after();
    }
  }
  // c and its neighbours as check() sees them. The previous chunk is reachable only
  // when free (its footer); an in-use one has nothing to verify here.
  if (!c->prev_in_use() && !c->prev_intact()) return fail("previous-size word fails its integrity check", c->address());
  Chunk* previous = c->prev_in_use() || c->address() == first_chunk_address(span) ? nullptr : c->before();
  if (previous != nullptr && (previous->address() < first_chunk_address(span) || !previous->head_intact() ||
                              previous->in_use() || previous->after() != c))
    return fail("free chunk footer disagrees with its size", c->address());
  Chunk* next = c->after();
  if (!next->head_intact()) return fail("chunk header fails its integrity check", next->address());
  if (c->in_use() != next->prev_in_use()) return fail("PINUSE of next chunk disagrees", next->address());
  if (next->address() != fence && (next->size() < kMinChunk || next->size() % kAlignment != 0 ||
                                   next->size() > fence - next->address()))
    return fail("chunk size is invalid", next->address());
  if (next->address() == fence && (!next->in_use() || next->size() != 0))
    return fail("segment fence overwritten", next->address());
  for (Chunk* near : {previous, c, next}) {
    if (near == nullptr || near->address() == fence || near->in_use()) continue;
    if (!near->after()->prev_intact() || near->after()->prev() != near->size())
      return fail("free chunk footer disagrees with its size", near->address());
    if (near != c && !c->in_use()) return fail("two free chunks are adjacent", near->address());
    if (!linked_free(near)) return fail("bin list links disagree", near->address());
    std::size_t index = bin_index(near->size());
    if (!((bin_map_[index / 64] >> (index % 64)) & 1)) return fail("bin bitmap misses a non-empty bin", near->address());
  }
  if (c->in_use() && c->cached() && c->size() > kMaxCachedChunk)
    return fail("cache mark on a chunk too large to cache", c->address());
  return CheckResult{};
}

void Heap::walk_live(Visitor visit, void* context) const {
  for (pages::Span* span = segments_; span != nullptr; span = span->list_next) {
    std::uintptr_t fence = fence_address(span);
    for (auto* c = reinterpret_cast<Chunk*>(first_chunk_address(span)); c->address() < fence; c = c->after()) {
      // A program overflow may have overwritten chunk headers: stop at the first one that
      // does not fit its segment (check() names it) rather than read past the segment.
      if (!c->head_intact() || c->size() < kMinChunk || c->size() % kAlignment != 0 || c->size() > fence - c->address())
        break;
      if (c->in_use() && !c->cached()) visit(c->payload(), c->size() - kHeaderSize, context);
    }
  }
  for (pages::Span* span = direct_; span != nullptr; span = span->list_next) {
    void* payload = reinterpret_cast<void*>(span->base + span->owner_data);
    visit(payload, span->size - span->owner_data, context);
  }
}

void* Heap::find_live_block_containing(std::uintptr_t address) const {
  pages::Span* span = pages::page_allocator().span_of(address);
  if (span == nullptr || span->owner != this) return nullptr;
  if (span->kind == pages::SpanKind::direct) {
    std::uintptr_t payload = span->base + span->owner_data;
    return address >= payload && address < span->base + span->size ? reinterpret_cast<void*>(payload) : nullptr;
  }
  std::uintptr_t fence = fence_address(span);
  for (auto* c = reinterpret_cast<Chunk*>(first_chunk_address(span)); c->address() < fence; c = c->after()) {
    if (!c->head_intact() || c->size() < kMinChunk || c->size() % kAlignment != 0 || c->size() > fence - c->address())
      return nullptr;
    std::uintptr_t payload = c->address() + kHeaderSize;
    if (address >= payload && address < c->address() + c->size()) {
      return c->in_use() && !c->cached() ? reinterpret_cast<void*>(payload) : nullptr;
    }
  }
  return nullptr;
}

}  // namespace dbgalloc::heap
