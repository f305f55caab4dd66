// Heap::walk_written (heap.hpp): the chunks overlapping the pages a forked child wrote,
// without walking each segment from its start. The chunk covering a written page is
// found from the page backwards: the nearest word that is a chunk head in its own
// right. Tags (integrity.hpp) rule out the program's bytes; they do not rule out a head
// a merge left inside a larger chunk (the heap tagged it there), but such a head
// always reads as free (free_chunk clears CINUSE on the one it absorbs, the others
// were free): a free head counts only while its bin links lead to it and the next
// chunk's footer agrees, which no stale head has. An in-use chunk of a segment is
// smaller than kDirectThreshold, so the search looks no further back; when it finds
// nothing (a written page inside a large free chunk), the walk goes on from the last
// chunk it reached, as check() would.
#include "heap/chunk.hpp"
#include "platform/populated_pages.hpp"

namespace dbgalloc::heap {

namespace {
CheckResult fail(const char* problem, std::uintptr_t address) { return CheckResult{false, problem, address}; }

// A written page this close after the last chunk reached is reached by walking on.
constexpr std::size_t kWalkOn = 16 * 1024;
}  // namespace

DBGALLOC_NO_COVERAGE bool Heap::genuine_start(const pages::Span* span, Chunk* c) const {
  if (!c->head_intact() || c->direct()) return false;
  std::size_t size = c->size();
  if (size < kMinChunk || size > fence_address(span) - c->address()) return false;
  Chunk* next = c->after();
  if (!next->head_intact()) return false;
  if (c->in_use()) return next->prev_in_use();
  return !next->prev_in_use() && next->prev_intact() && next->prev() == size && linked_free(c);
}

// The chunk holding address (< the fence), or floor (a chunk start at most address)
// when the search back finds none.
DBGALLOC_NO_COVERAGE Chunk* Heap::start_covering(const pages::Span* span, std::uintptr_t address, Chunk* floor) const {
  std::uintptr_t at = address & ~(kAlignment - 1);
  std::uintptr_t lowest = at - floor->address() > kDirectThreshold ? at - kDirectThreshold : floor->address();
  for (; at > lowest; at -= kAlignment) {
    if (genuine_start(span, Chunk::at(reinterpret_cast<void*>(at)))) return Chunk::at(reinterpret_cast<void*>(at));
  }
  return floor;
}

// What check() verifies of one chunk of the tiling, and of its free neighbours.
DBGALLOC_NO_COVERAGE CheckResult Heap::check_walked_chunk(const pages::Span* span, Chunk* c) const {
  std::uintptr_t first = first_chunk_address(span);
  std::uintptr_t fence = fence_address(span);
  if (CheckResult head = check_head(c, fence); !head.ok) return head;
  std::size_t size = c->size();
  Chunk* next = c->after();
  if (c->in_use() != next->prev_in_use()) return fail("PINUSE of next chunk disagrees", next->address());
  if (!c->prev_in_use()) {
    if (c->address() == first) return fail("first chunk of a segment lacks PINUSE", c->address());
    if (!c->prev_intact()) return fail("previous-size word fails its integrity check", c->address());
    if (c->prev() > c->address() - first || c->prev() < kMinChunk)
      return fail("free chunk footer disagrees with its size", c->address());
    Chunk* previous = c->before();
    if (!previous->head_intact() || previous->in_use() || previous->size() != c->prev())
      return fail("free chunk footer disagrees with its size", c->address());
    if (!c->in_use()) return fail("two free chunks are adjacent", c->address());
  }
  if (c->in_use()) {
    if (c->cached() && size > kMaxCachedChunk) return fail("cache mark on a chunk too large to cache", c->address());
    return CheckResult{};
  }
  if (next->address() != fence && !next->in_use()) return fail("two free chunks are adjacent", next->address());
  if (!next->prev_intact()) return fail("previous-size word fails its integrity check", next->address());
  if (next->prev() != size) return fail("free chunk footer disagrees with its size", c->address());
  if (!linked_free(c)) return fail("bin list links disagree", c->address());
  std::size_t index = bin_index(size);
  if (!((bin_map_[index / 64] >> (index % 64)) & 1)) return fail("bin bitmap misses a non-empty bin", c->address());
  return CheckResult{};
}

// Checks and visits the chunks overlapping [begin, end); *cursor: the first chunk
// not yet walked (a chunk start), moved past them.
DBGALLOC_NO_COVERAGE CheckResult Heap::walk_written_run(const pages::Span* span, std::uintptr_t begin,
                                                         std::uintptr_t end, Chunk** cursor, Visitor visit,
                                                         void* context) const {
  std::uintptr_t fence = fence_address(span);
  Chunk* c = *cursor;
  if (end <= c->address()) return CheckResult{};
  if (begin > c->address() + kWalkOn) c = start_covering(span, begin < fence ? begin : fence, c);
  while (c->address() < end && c->address() < fence) {
    CheckResult result = check_walked_chunk(span, c);
    if (!result.ok) return result;
    if (c->in_use() && !c->cached()) visit(c->payload(), c->size() - kHeaderSize, context);
    c = c->after();
  }
  if (c->address() == fence && (!c->head_intact() || !c->in_use() || c->size() != 0))
    return fail("segment fence overwritten", c->address());
  *cursor = c;
  return CheckResult{};
}

DBGALLOC_NO_COVERAGE CheckResult Heap::walk_written(platform::PopulatedPages& pages, Visitor visit,
                                                     void* context) const {
  for (pages::Span* span = segments_; span != nullptr; span = span->list_next) {
    if (span->owner != this || span->kind != pages::SpanKind::heap_segment)
      return fail("segment list holds a foreign span", span->base);
    Chunk* cursor = Chunk::at(reinterpret_cast<void*>(first_chunk_address(span)));
    if (!cursor->prev_in_use()) return fail("first chunk of a segment lacks PINUSE", cursor->address());
    CheckResult result;
    pages.for_each_written_run(span->base, span->base + span->size, [&](std::uintptr_t begin, std::uintptr_t end) {
      if (result.ok) result = walk_written_run(span, begin, end, &cursor, visit, context);
    });
    if (!result.ok) return result;
  }
  for (pages::Span* span = direct_; span != nullptr; span = span->list_next) {
    if (span->owner != this || span->kind != pages::SpanKind::direct)
      return fail("direct list holds a foreign span", span->base);
    if (CheckResult head = check_direct(span); !head.ok) return head;
    visit(reinterpret_cast<void*>(span->base + span->owner_data), span->size - span->owner_data, context);
  }
  return CheckResult{};
}

}  // namespace dbgalloc::heap
