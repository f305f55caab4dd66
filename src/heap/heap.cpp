#include "heap/heap.hpp"

#include <errno.h>

#include <cstring>

#include "heap/chunk.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::heap {

std::size_t Heap::bin_index(std::size_t chunk_size) {
  if (chunk_size < kSmallBins * kAlignment) return chunk_size >> 4;
  unsigned msb = 63 - static_cast<unsigned>(__builtin_clzll(chunk_size));
  std::size_t index = kSmallBins + (msb - kFirstLargeShift) * kLargeBinsPerPower +
                      ((chunk_size >> (msb - kLargeBinShift)) & (kLargeBinsPerPower - 1));
  return index < kBins ? index : kBins - 1;
}

DBGALLOC_NO_COVERAGE Chunk* Heap::bin_sentinel(std::size_t index) const {
  return reinterpret_cast<Chunk*>(const_cast<unsigned char*>(bin_heads_[index]));
}

// Sentinels live in the Heap, outside the program's reach: their links are trusted.
// Small bins take the chunk first; in a large bin every chunk passed is followed by
// its forward link, verified first (a damaged one drops the bin).
void Heap::insert_free(Chunk* chunk) {
  std::size_t size = chunk->size();
  std::size_t index = bin_index(size);
  Chunk* sentinel = bin_sentinel(index);
  if (sentinel->links_unset()) empty_bin(index);
  Chunk* predecessor = sentinel;
  Chunk* successor = sentinel->next_link();
  if (index >= kSmallBins) {
    while (successor != sentinel && successor->size() < size) {
      if (!successor->next_link_intact()) {
        drop_bin(index, successor);
        successor = sentinel;
        predecessor = sentinel;
        break;
      }
      predecessor = successor;
      successor = successor->next_link();
    }
  }
  chunk->set_links(successor, predecessor);
  link_next(predecessor, chunk);
  link_prev(successor, chunk);
  bin_map_[index / 64] |= std::uint64_t{1} << (index % 64);
  ++stats_.free_chunks;
  stats_.free_bytes += size;
}

bool Heap::sound_free(Chunk* chunk) const { return chunk->head_intact() && !chunk->in_use(); }

// A list that holds a damaged chunk cannot be walked past it: the bin is emptied and
// its chunks are lost to the heap (check() then reports the statistics disagreeing).
void Heap::drop_bin(std::size_t index, Chunk* damaged) {
  note_fault("free chunk header or bin link fails its integrity check", damaged->address());
  empty_bin(index);
  bin_map_[index / 64] &= ~(std::uint64_t{1} << (index % 64));
}

void Heap::empty_bin(std::size_t index) {
  Chunk* sentinel = bin_sentinel(index);
  sentinel->set_plain_next_link(sentinel);
  sentinel->set_plain_prev_link(sentinel);
}

void Heap::link_next(Chunk* at, Chunk* next) {
  if (is_sentinel(at)) at->set_plain_next_link(next);
  else at->set_next_link(next);
}

void Heap::link_prev(Chunk* at, Chunk* previous) {
  if (is_sentinel(at)) at->set_plain_prev_link(previous);
  else at->set_prev_link(previous);
}

// Its own links verify, so they name where the heap linked it: unlinking writes only
// there. (The neighbours' links back are not read: a load that misses the cache
// where a store would not, and only a replayed old link could make them disagree.)
bool Heap::unlinkable(Chunk* chunk) const { return chunk->links_intact(); }

bool Heap::unlink_free(Chunk* chunk) {
  if (!unlinkable(chunk)) {
    note_fault("bin links of a free chunk fail their integrity check", chunk->address());
    return false;
  }
  unlink_verified(chunk);
  return true;
}

// chunk's links verified by the caller (or written by the heap since).
void Heap::unlink_verified(Chunk* chunk) {
  Chunk* next = chunk->next_link();
  Chunk* previous = chunk->prev_link();
  link_next(previous, next);
  link_prev(next, previous);
  if (next == previous) {
    std::size_t index = bin_index(chunk->size());
    if (next == bin_sentinel(index)) bin_map_[index / 64] &= ~(std::uint64_t{1} << (index % 64));
  }
  --stats_.free_chunks;
  stats_.free_bytes -= chunk->size();
}

Chunk* Heap::take_fit(std::size_t chunk_size) {
  std::size_t index = bin_index(chunk_size);
  while (index < kBins) {
    std::size_t word = index / 64;
    std::uint64_t bits = bin_map_[word] & (~std::uint64_t{0} << (index % 64));
    if (bits == 0) {
      index = (word + 1) * 64;
      continue;
    }
    index = word * 64 + static_cast<std::size_t>(__builtin_ctzll(bits));
    Chunk* sentinel = bin_sentinel(index);
    // Sorted bins: the first chunk that fits is the best fit. Only the one taken is
    // trusted for its size; the ones passed for their forward link.
    for (Chunk* c = sentinel->next_link(); c != sentinel; c = c->next_link()) {
      if (c->size() >= chunk_size) {
        if (!sound_free(c) || bin_index(c->size()) != index || !unlink_free(c)) {
          drop_bin(index, c);
          break;
        }
        return c;
      }
      if (!c->next_link_intact()) {
        drop_bin(index, c);
        break;
      }
    }
    ++index;
  }
  return nullptr;
}

// chunk is free, unlinked and verified: leaves it chunk_size long (the rest binned when
// big enough) and in use. Each head is tagged once.
void Heap::split_in_use(Chunk* chunk, std::size_t chunk_size) {
  std::size_t total = chunk->size();
  std::size_t prev_flag = chunk->flags() & kPInUse;
  if (total - chunk_size < kMinChunk) {
    chunk->set_head(total | prev_flag | kCInUse);
    chunk->after()->set_prev_in_use();
  } else {
    chunk->set_head(chunk_size | prev_flag | kCInUse);
    Chunk* rest = Chunk::at(reinterpret_cast<char*>(chunk) + chunk_size);
    rest->set_head((total - chunk_size) | kPInUse);
    rest->after()->set_prev(total - chunk_size);
    insert_free(rest);
  }
  // An earlier chunk that ended here may have left a cache mark in this footer.
  chunk->clear_cached();
  poison::unpoison(chunk->payload(), chunk->size() - kHeaderSize);
}

// chunk's head was just written or verified by the caller: re-tagging it launders nothing.
void Heap::mark_in_use(Chunk* chunk) {
  chunk->set_head(chunk->head_word() | kCInUse);
  Chunk* next = chunk->after();
  next->set_prev_in_use();
  // An earlier chunk that ended here may have left a cache mark in this footer.
  chunk->clear_cached();
  poison::unpoison(chunk->payload(), chunk->size() - kHeaderSize);
}

Chunk* Heap::add_segment(std::size_t chunk_size) {
  integrity::ensure_keys();
  // Segments grow with the heap (a quarter of what is mapped), so big heaps need few
  // mappings and a heap that shrank starts small again.
  std::size_t grow = stats_.mapped_bytes / 4;
  grow = grow < kFirstSegment ? kFirstSegment : (grow > kMaxSegment ? kMaxSegment : grow);
  std::size_t want = chunk_size + kSegmentOverhead;
  std::size_t size = want > grow ? want : grow;
  // The guard page after it stops a long overflow at the segment's end, before it reaches
  // whatever is mapped next (often dbgalloc's own stack depot or page map).
  pages::Span* span = pages::page_allocator().allocate(size, pages::SpanKind::heap_segment, this, 0, platform::page_size());
  if (span == nullptr) return nullptr;
  span_list_push(&segments_, span);
  ++stats_.segments;
  stats_.mapped_bytes += span->size;
  poison::poison(reinterpret_cast<void*>(span->base), span->size);

  Chunk* chunk = Chunk::at(reinterpret_cast<void*>(first_chunk_address(span)));
  std::size_t free_size = fence_address(span) - first_chunk_address(span);
  chunk->set_head(free_size | kPInUse);
  Chunk* fence = Chunk::at(reinterpret_cast<void*>(fence_address(span)));
  fence->set_prev(free_size);
  fence->set_head(kCInUse);
  insert_free(chunk);
  return chunk;
}

void* Heap::allocate_direct(std::size_t bytes, std::size_t alignment) {
  integrity::ensure_keys();
  // The payload sits `offset` into the span, the header just before it; alignments
  // above a page cost one alignment's worth of leading space.
  const std::size_t page = platform::page_size();
  std::size_t offset = alignment > kHeaderSize ? alignment : kHeaderSize;
  std::size_t span_alignment = alignment > page ? alignment : page;
  pages::Span* span = pages::page_allocator().allocate(bytes + offset, pages::SpanKind::direct, this, 0, 0,
                                                       span_alignment);
  if (span == nullptr) return nullptr;
  span_list_push(&direct_, span);
  span->owner_data = offset;
  char* payload = reinterpret_cast<char*>(span->base) + offset;
  Chunk* chunk = Chunk::of(payload);
  chunk->set_prev(offset - kHeaderSize);
  chunk->set_head(((span->size - offset + kHeaderSize) & ~kFlags) | kDirect | kCInUse | kPInUse);
  ++stats_.direct_blocks;
  stats_.mapped_bytes += span->size;
  stats_.in_use_bytes += span->size;
  ++stats_.live_chunks;
  if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
  return payload;
}

void Heap::release_direct(Chunk* chunk) {
  pages::Span* span = pages::page_allocator().span_of(chunk->address());
  span_list_remove(&direct_, span);
  --stats_.direct_blocks;
  stats_.mapped_bytes -= span->size;
  stats_.in_use_bytes -= span->size;
  --stats_.live_chunks;
  pages::page_allocator().release(span);
}

void* Heap::allocate(std::size_t bytes) {
  if (bytes > kMaxRequest) {
    errno = ENOMEM;
    return nullptr;
  }
  std::size_t chunk_size = chunk_size_for(bytes);
  if (chunk_size >= kDirectThreshold) return allocate_direct(bytes, kAlignment);
  Chunk* chunk = take_fit(chunk_size);
  if (chunk == nullptr) {
    if (add_segment(chunk_size) == nullptr) {
      errno = ENOMEM;
      return nullptr;
    }
    chunk = take_fit(chunk_size);
  }
  split_in_use(chunk, chunk_size);
  stats_.in_use_bytes += chunk->size();
  ++stats_.live_chunks;
  if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
  return chunk->payload();
}

void* Heap::allocate_aligned(std::size_t alignment, std::size_t bytes) {
  if (alignment <= kAlignment) return allocate(bytes);
  // The alignment's slack is mapped too: both together stay within kMaxRequest.
  if (bytes > kMaxRequest || alignment > kMaxRequest - bytes || (alignment & (alignment - 1)) != 0) {
    errno = (alignment & (alignment - 1)) != 0 ? EINVAL : ENOMEM;
    return nullptr;
  }
  if (chunk_size_for(bytes + alignment + kMinChunk) >= kDirectThreshold) return allocate_direct(bytes, alignment);
  void* raw = allocate(bytes + alignment + kMinChunk);
  if (raw == nullptr) return nullptr;
  Chunk* chunk = Chunk::of(raw);
  auto address = reinterpret_cast<std::uintptr_t>(raw);
  if ((address & (alignment - 1)) != 0) {
    // Give back a leading chunk of at least kMinChunk so the payload lands aligned.
    std::uintptr_t aligned = (address + kMinChunk + alignment - 1) & ~(alignment - 1);
    std::size_t lead = aligned - address;
    std::size_t total = chunk->size();
    Chunk* moved = Chunk::of(reinterpret_cast<void*>(aligned));
    moved->set_head((total - lead) | kCInUse);
    chunk->set_head(lead | (chunk->flags() & kPInUse) | kCInUse);
    stats_.in_use_bytes -= lead;
    // A lead the heap refuses to free (damage around it, noted) stays in use.
    if (!free_chunk(chunk)) moved->set_prev_in_use();
    mark_in_use(moved);
    chunk = moved;
  }
  resize_in_place(chunk->payload(), bytes);
  return chunk->payload();
}

// chunk is marked in use; returns it to the bins, merged with free neighbours. Every
// word it will act on is verified first: on damage nothing changes (false, noted).
bool Heap::free_chunk(Chunk* chunk) {
  std::size_t size = chunk->size();
  Chunk* previous = nullptr;
  if (!chunk->prev_in_use()) {
    if (!chunk->prev_intact()) {
      note_fault("previous-size word fails its integrity check", chunk->address());
      return false;
    }
    previous = chunk->before();
    if (!sound_free(previous) || previous->size() != chunk->prev() || !unlinkable(previous)) {
      note_fault("free chunk before the block fails its integrity check", previous->address());
      return false;
    }
  }
  // A neighbour marked in use is left alone (a forged mark only keeps two free chunks
  // apart); one that claims to be free is trusted for its size and links: verified.
  Chunk* next = chunk->after();
  if (!next->in_use() && (!next->head_intact() || !unlinkable(next))) {
    note_fault("chunk after the block fails its integrity check", next->address());
    return false;
  }
  poison::poison(chunk->payload(), size - kHeaderSize);
  if (previous != nullptr) {
    // Its header stays inside the merged chunk: it must not read as in use, or a
    // second free of the same pointer would pass owns_live_block.
    chunk->set_head(chunk->head_word() & ~kCInUse);
    unlink_verified(previous);
    size += previous->size();
    chunk = previous;
  }
  if (!next->in_use()) {
    unlink_verified(next);
    size += next->size();
    next = Chunk::at(reinterpret_cast<char*>(chunk) + size);
  }
  chunk->set_head(size | kPInUse);
  next->set_prev(size);
  next->clear_prev_in_use();
  insert_free(chunk);
  maybe_release_segment(chunk);
  return true;
}

void Heap::maybe_release_segment(Chunk* chunk) {
  // Keep one segment so a program that frees everything and starts again does not
  // pay for a fresh mapping each time.
  // Segments are at least kFirstSegment: a smaller free chunk cannot cover one.
  if (stats_.segments <= 1 || chunk->size() < kFirstSegment - kSegmentOverhead) return;
  pages::Span* span = pages::page_allocator().span_of(chunk->address());
  if (chunk->address() != first_chunk_address(span) || chunk->after()->address() != fence_address(span)) return;
  unlink_verified(chunk);  // binned just now by the caller
  span_list_remove(&segments_, span);
  --stats_.segments;
  stats_.mapped_bytes -= span->size;
  poison::unpoison(reinterpret_cast<void*>(span->base), span->size);
  pages::page_allocator().release(span);
}

bool Heap::deallocate(void* payload) {
  if (payload == nullptr) return true;
  Chunk* chunk = Chunk::of(payload);
  if (!chunk->head_intact()) {
    note_fault("chunk header fails its integrity check", chunk->address());
    return false;
  }
  return deallocate_verified(payload);
}

bool Heap::deallocate_verified(void* payload) {
  Chunk* chunk = Chunk::of(payload);
  if (chunk->direct() && !chunk->prev_intact()) {
    note_fault("chunk header fails its integrity check", chunk->address());
    return false;
  }
  if (chunk->direct()) {
    release_direct(chunk);
    return true;
  }
  std::size_t size = chunk->size();
  if (!free_chunk(chunk)) return false;
  stats_.in_use_bytes -= size;
  --stats_.live_chunks;
  return true;
}

bool Heap::resize_in_place(void* payload, std::size_t bytes) {
  if (bytes > kMaxRequest) return false;
  Chunk* chunk = Chunk::of(payload);
  if (!chunk->head_intact()) {
    note_fault("chunk header fails its integrity check", chunk->address());
    return false;
  }
  std::size_t want = chunk_size_for(bytes);
  if (chunk->direct()) {
    // Shrinking far below the threshold moves the block into a segment instead.
    return usable_size(payload) >= bytes && want >= kDirectThreshold / 2;
  }
  if (want >= kDirectThreshold) return false;
  std::size_t size = chunk->size();
  if (want > size) {
    Chunk* next = chunk->after();
    if (next->in_use()) return false;
    if (!next->head_intact()) {
      note_fault("chunk after the block fails its integrity check", next->address());
      return false;
    }
    if (size + next->size() < want) return false;
    if (!unlink_free(next)) return false;
    std::size_t merged = size + next->size();
    chunk->set_head(merged | chunk->flags());
    mark_in_use(chunk);
    stats_.in_use_bytes += merged - size;
    size = merged;
  }
  if (size - want >= kMinChunk && chunk->after()->head_intact()) {
    Chunk* rest = Chunk::at(reinterpret_cast<char*>(chunk) + want);
    poison::poison(rest, kHeaderSize);
    chunk->set_head(want | chunk->flags());
    chunk->clear_cached();  // the new footer held payload bytes
    rest->set_head((size - want) | kPInUse | kCInUse);
    stats_.in_use_bytes -= size - want;
    free_chunk(rest);
  }
  if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
  return true;
}

void* Heap::reallocate(void* payload, std::size_t bytes) {
  if (payload == nullptr) return allocate(bytes);
  if (bytes > kMaxRequest) {
    errno = ENOMEM;
    return nullptr;
  }
  if (!Chunk::of(payload)->head_intact()) {
    note_fault("chunk header fails its integrity check", Chunk::of(payload)->address());
    return nullptr;
  }
  if (resize_in_place(payload, bytes)) return payload;
  void* moved = allocate(bytes);
  if (moved == nullptr) return nullptr;
  std::size_t old_size = usable_size(payload);
  std::memcpy(moved, payload, old_size < bytes ? old_size : bytes);
  deallocate(payload);
  return moved;
}

std::size_t Heap::usable_size(const void* payload) const {
  Chunk* chunk = Chunk::of(payload);
  if (chunk->direct()) {
    pages::Span* span = pages::page_allocator().span_of(chunk->address());
    return span->base + span->size - reinterpret_cast<std::uintptr_t>(payload);
  }
  return chunk->size() - kHeaderSize;
}

// owns_live_block but for the tags: every word is read inside the span, whatever it holds.
bool Heap::looks_live(const void* payload) const {
  auto address = reinterpret_cast<std::uintptr_t>(payload);
  if (address == 0 || (address & (kAlignment - 1)) != 0) return false;
  pages::Span* span = pages::page_allocator().span_of(address);
  if (span == nullptr || span->owner != this || address < span->base + kHeaderSize) return false;
  Chunk* chunk = Chunk::of(payload);
  if (span->kind == pages::SpanKind::direct) {
    return chunk->direct() && chunk->in_use() && span->base + chunk->prev() == chunk->address();
  }
  if (span->kind != pages::SpanKind::heap_segment || address < first_chunk_address(span) + kHeaderSize) return false;
  if (chunk->direct() || !chunk->in_use()) return false;
  std::size_t size = chunk->size();
  if (size < kMinChunk || chunk->address() + size > fence_address(span)) return false;
  return chunk->after()->prev_in_use() && !chunk->cached();
}

// A word that fails its tag is not the heap's: not a live block (the caller decides
// whether a block was expected there).
bool Heap::owns_live_block(const void* payload) const {
  if (!looks_live(payload)) return false;
  Chunk* chunk = Chunk::of(payload);
  return chunk->head_intact() && (!chunk->direct() || chunk->prev_intact());
}

bool Heap::deallocate_if_live(void* payload) { return looks_live(payload) && deallocate(payload); }

std::size_t Heap::trim() {
  std::size_t released = 0;
  pages::Span* span = segments_;
  while (span != nullptr) {
    pages::Span* next = span->list_next;
    Chunk* chunk = Chunk::at(reinterpret_cast<void*>(first_chunk_address(span)));
    if (!chunk->head_intact()) {
      note_fault("chunk header fails its integrity check", chunk->address());
    } else if (!chunk->in_use() && chunk->after()->address() == fence_address(span) && unlink_free(chunk)) {
      span_list_remove(&segments_, span);
      --stats_.segments;
      stats_.mapped_bytes -= span->size;
      released += span->size;
      poison::unpoison(reinterpret_cast<void*>(span->base), span->size);
      pages::page_allocator().release(span);
    }
    span = next;
  }
  return released;
}

void Heap::release_all() {
  for (pages::Span** list : {&segments_, &direct_}) {
    while (*list != nullptr) {
      pages::Span* span = *list;
      *list = span->list_next;
      poison::unpoison(reinterpret_cast<void*>(span->base), span->size);
      pages::page_allocator().release(span);
    }
  }
  std::memset(bin_heads_, 0, sizeof bin_heads_);  // unset sentinels (links_unset), not tagged nulls
  for (std::uint64_t& word : bin_map_) word = 0;
  stats_ = HeapStats();
}

}  // namespace dbgalloc::heap
