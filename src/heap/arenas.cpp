#include "heap/arenas.hpp"

#include <errno.h>

#include <atomic>
#include <cstring>
#include <iterator>

#include "heap/chunk.hpp"
#include "heap/thread_cache.hpp"

namespace dbgalloc::heap {

namespace {
std::atomic<unsigned> next_arena{0};
thread_local int tls_arena __attribute__((tls_model("initial-exec"))) = -1;
}  // namespace

constinit Arenas detail::global_arenas;

void Arenas::set_count(std::size_t count) {
  count_ = count < 1 ? 1 : (count > kMaxArenas ? kMaxArenas : count);
}

Arenas::Arena& Arenas::mine() {
  int index = tls_arena;
  if (index < 0) {
    index = static_cast<int>(next_arena.fetch_add(1, std::memory_order_relaxed) % count_);
    tls_arena = index;
  }
  return arenas_[static_cast<std::size_t>(index) % count_];
}

Arenas::Arena* Arenas::arena_of(const pages::Span* span) {
  if (span == nullptr) return nullptr;
  // The owner is one of our arenas' heaps exactly when it points into arenas_.
  auto owner = reinterpret_cast<std::uintptr_t>(span->owner);
  auto first = reinterpret_cast<std::uintptr_t>(&arenas_[0]);
  if (owner < first || owner >= first + sizeof arenas_) return nullptr;
  Arena* arena = &arenas_[(owner - first) / sizeof(Arena)];
  return span->owner == &arena->heap ? arena : nullptr;
}

Arenas::Arena* Arenas::owner_of(const void* p) { return arena_of(pages::page_allocator().span_of(p)); }

namespace {
void finish(Heap& heap, void* p, std::size_t* usable, const Arenas::Initializer& initializer) {
  if (usable == nullptr && initializer.init == nullptr) return;
  std::size_t size = heap.usable_size(p);
  if (usable != nullptr) *usable = size;
  if (initializer.init != nullptr) initializer.init(p, size, initializer.context);
}

// Cached chunks given back to the arenas at a time: two full stacks (4 KiB of stack).
constexpr std::size_t kFlushBatch = 2 * ThreadCache::kSlots;

// Chunks carved for the cache at a miss besides the caller's: a few, more when small.
std::size_t refill_count(std::size_t chunk_size) {
  std::size_t n = 4096 / chunk_size;
  constexpr std::size_t kMost = ThreadCache::kSlots / 2;
  static_assert(kMost <= ThreadCache::kSlots);
  return n < 2 ? 2 : (n > kMost ? kMost : n);
}

// The chunk of p when p is a live (not cached) chunk of span, a segment, small enough to
// cache. Reads without the owner's lock: for a live chunk the words read do not change
// meanwhile (a lock holder may flip PINUSE in its head, which is not looked at). The
// answer is the locked owns_live_block's, except for a pointer that another thread is
// freeing or reallocating at the same moment, a race the program already lost.
Chunk* live_small_chunk(const pages::Span* span, void* p) {
  auto address = reinterpret_cast<std::uintptr_t>(p);
  if ((address & (Heap::kAlignment - 1)) != 0 || address < first_chunk_address(span) + Heap::kHeaderSize) return nullptr;
  Chunk* chunk = Chunk::of(p);
  std::size_t head = chunk->head_relaxed();
  std::size_t size = head & Chunk::kSizeMask;
  if (!chunk->head_word_intact(head) || (head & (kCInUse | kDirect)) != kCInUse || size < Heap::kMinChunk ||
      size > kMaxCachedChunk || size > fence_address(span) - chunk->address())
    return nullptr;
  Chunk* next = Chunk::at(reinterpret_cast<char*>(chunk) + size);
  if ((next->head_relaxed() & kPInUse) == 0 || chunk->cached()) return nullptr;
  return chunk;
}
}  // namespace

void* Arenas::allocate(std::size_t bytes, std::size_t* usable, Initializer initializer) {
  if (bytes <= ThreadCache::kMaxRequest) {
    if (ThreadCache* cache = ThreadCache::mine()) {
      std::size_t chunk_size = chunk_size_for(bytes);
      void* p = cache->take(chunk_size);
      if (p == nullptr) return allocate_and_refill(*cache, chunk_size, usable, initializer);
      std::size_t size = chunk_size - Heap::kHeaderSize;
      if (usable != nullptr) *usable = size;
      // Set up while still marked, so no walk sees the block half made; then live.
      if (initializer.init != nullptr) initializer.init(p, size, initializer.context);
      Chunk::of(p)->clear_cached();
      return p;
    }
  }
  return allocate_locked(bytes, usable, initializer);
}

void* Arenas::allocate_locked(std::size_t bytes, std::size_t* usable, const Initializer& initializer) {
  Arena& arena = mine();
  platform::LockGuard guard(arena.lock);
  void* p = arena.heap.allocate(bytes);
  if (p != nullptr) {
    ++arena.allocations;
    finish(arena.heap, p, usable, initializer);
  }
  return p;
}

void* Arenas::allocate_and_refill(ThreadCache& cache, std::size_t chunk_size, std::size_t* usable,
                                  const Initializer& initializer) {
  // Each chunk is a best fit of its own: carving one run for all of them was tried and
  // left the small holes unused (containers workload 1.2x -> 1.5x glibc).
  std::size_t room = ThreadCache::kSlots - cache.count(ThreadCache::class_of(chunk_size));
  std::size_t budget = (ThreadCache::kMaxBytes - cache.bytes()) / chunk_size;
  std::size_t extra = refill_count(chunk_size);
  if (extra > room) extra = room;
  if (extra > budget) extra = budget;
  void* carved_chunks[ThreadCache::kSlots + 1];
  int saved_errno = errno;
  Arena& arena = mine();
  platform::LockGuard guard(arena.lock);
  std::size_t carved = 0;
  for (; carved < 1 + extra; ++carved) {
    carved_chunks[carved] = arena.heap.allocate(chunk_size - Heap::kHeaderSize);
    if (carved_chunks[carved] == nullptr) break;
  }
  if (carved == 0) return nullptr;
  if (carved < 1 + extra) errno = saved_errno;  // the caller's block was carved
  void* p = carved_chunks[0];
  ++arena.allocations;
  finish(arena.heap, p, usable, initializer);
  for (std::size_t i = 1; i < carved; ++i) {
    Chunk* chunk = Chunk::of(carved_chunks[i]);
    // A fit whose remainder was too small to split is a class larger (or too large).
    if (chunk->size() > ThreadCache::kMaxChunk || !cache.adopt(chunk, chunk->size())) arena.heap.deallocate(carved_chunks[i]);
  }
  return p;
}

void* Arenas::allocate_aligned(std::size_t alignment, std::size_t bytes, std::size_t* usable,
                               Initializer initializer) {
  if (alignment <= Heap::kAlignment) return allocate(bytes, usable, initializer);
  Arena& arena = mine();
  platform::LockGuard guard(arena.lock);
  void* p = arena.heap.allocate_aligned(alignment, bytes);
  if (p != nullptr) {
    ++arena.allocations;
    finish(arena.heap, p, usable, initializer);
  }
  return p;
}

void Arenas::walk_live(Heap::Visitor visit, void* context) {
  for (Arena& arena : arenas_) {
    platform::LockGuard guard(arena.lock);
    arena.heap.walk_live(visit, context);
  }
}

void* Arenas::find_live_block_containing(const void* address) {
  Arena* arena = owner_of(address);
  if (arena == nullptr) return nullptr;
  platform::LockGuard guard(arena->lock);
  return arena->heap.find_live_block_containing(reinterpret_cast<std::uintptr_t>(address));
}

void* Arenas::try_find_live_block_containing(const void* address, std::size_t* usable) {
  Arena* arena = owner_of(address);
  if (arena == nullptr) return nullptr;
  // An address in the span's own header space (before its first chunk's payload)
  // stands for that first block: a report about an access just below the span.
  auto at = reinterpret_cast<std::uintptr_t>(address);
  const pages::Span* span = pages::page_allocator().span_of(address);
  std::uintptr_t first = span->kind == pages::SpanKind::direct ? span->base + span->owner_data
                                                               : first_chunk_address(span) + Heap::kHeaderSize;
  if (at < first) at = first;
  constexpr int kAttempts = 1000;
  for (int i = 0; i < kAttempts; ++i) {
    if (!arena->lock.try_lock()) continue;
    void* payload = arena->heap.find_live_block_containing(at);
    if (payload != nullptr) *usable = arena->heap.usable_size(payload);
    arena->lock.unlock();
    return payload;
  }
  return nullptr;
}

bool Arenas::deallocate(void* p) {
  pages::Span* span = pages::page_allocator().span_of(p);
  Arena* arena = arena_of(span);
  if (arena == nullptr) return false;
  if (span->kind == pages::SpanKind::heap_segment) {
    ThreadCache* cache = ThreadCache::mine();
    if (cache != nullptr && cache_free(*cache, span, p)) return true;
  }
  // Large, direct, cache off or full, or not a live block (the locked check decides).
  platform::LockGuard guard(arena->lock);
  if (!arena->heap.deallocate_if_live(p)) return false;
  ++arena->frees;
  return true;
}

bool Arenas::cache_free(ThreadCache& cache, const pages::Span* span, void* p) {
  Chunk* chunk = live_small_chunk(span, p);
  if (chunk == nullptr) return false;
  std::size_t size = chunk->size();
  if (cache.put(chunk, size)) return true;
  make_room(cache, size);
  return cache.put(chunk, size);
}

void Arenas::make_room(ThreadCache& cache, std::size_t chunk_size) {
  if (cache.over_budget(chunk_size)) {
    flush_classes(cache, true);
    return;
  }
  Chunk* batch[ThreadCache::kSlots];
  std::size_t size_class = ThreadCache::class_of(chunk_size);
  release_cached(batch, cache.remove(size_class, cache.count(size_class) / 2, batch));
}

void Arenas::flush_classes(ThreadCache& cache, bool keep_half) {
  Chunk* batch[kFlushBatch];
  std::size_t count = 0;
  for (std::size_t size_class = 0; size_class < ThreadCache::kClasses; ++size_class) {
    if (count + ThreadCache::kSlots > std::size(batch)) {
      release_cached(batch, count);
      count = 0;
    }
    count += cache.remove(size_class, keep_half ? cache.count(size_class) / 2 : 0, batch + count);
  }
  release_cached(batch, count);
}

void Arenas::release_cached(Chunk** chunks, std::size_t count) {
  Arena* owners[kFlushBatch];
  if (count > std::size(owners)) count = std::size(owners);  // callers pass at most this
  for (std::size_t i = 0; i < count; ++i) owners[i] = owner_of(chunks[i]->payload());
  for (std::size_t i = 0; i < count; ++i) {
    Arena* arena = owners[i];
    if (arena == nullptr) continue;
    platform::LockGuard guard(arena->lock);
    for (std::size_t j = i; j < count; ++j) {
      if (owners[j] != arena) continue;
      owners[j] = nullptr;
      Chunk* chunk = chunks[j];
      // A chunk no longer marked was damaged while cached: leave it rather than guess.
      if (!chunk->head_intact() || !chunk->cached()) {
        note_fault("cached chunk header or cache mark overwritten while cached", chunk->address());
        continue;
      }
      chunk->clear_cached();
      arena->heap.deallocate_verified(chunk->payload());  // notes damage around it, if any
    }
  }
}

void Arenas::flush_cache(ThreadCache& cache) { flush_classes(cache, false); }

void Arenas::flush_thread_cache() {
  if (ThreadCache* cache = ThreadCache::current()) flush_cache(*cache);
}

void Arenas::set_thread_cache_enabled(bool enabled) { ThreadCache::reset_for_thread(enabled); }

void* Arenas::reallocate(void* p, std::size_t bytes, bool* invalid) {
  *invalid = false;
  Arena* arena = owner_of(p);
  if (arena == nullptr) {
    *invalid = true;
    return nullptr;
  }
  std::size_t old_size = 0;
  {
    platform::LockGuard guard(arena->lock);
    if (!arena->heap.owns_live_block(p)) {
      *invalid = true;
      return nullptr;
    }
    if (arena->heap.resize_in_place(p, bytes)) return p;
    old_size = arena->heap.usable_size(p);
  }
  // Moving: allocate from this thread's arena, then free into the owner's.
  void* moved = allocate(bytes);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, p, old_size < bytes ? old_size : bytes);
  deallocate(p);
  return moved;
}

std::size_t Arenas::usable_size(const void* p) {
  Arena* arena = owner_of(p);
  if (arena == nullptr) return 0;
  platform::LockGuard guard(arena->lock);
  return arena->heap.owns_live_block(p) ? arena->heap.usable_size(p) : 0;
}

bool Arenas::owns_live_block(const void* p) {
  Arena* arena = owner_of(p);
  if (arena == nullptr) return false;
  platform::LockGuard guard(arena->lock);
  return arena->heap.owns_live_block(p);
}

CheckResult Arenas::check() {
  for (std::size_t index = 0; index < kMaxArenas; ++index) {
    Arena& arena = arenas_[index];
    platform::LockGuard guard(arena.lock);
    // Arenas past the count are never handed out: skip them while they hold nothing.
    if (index >= count_ && arena.heap.stats().mapped_bytes == 0) continue;
    CheckResult result = arena.heap.check();
    if (!result.ok) return result;
  }
  return check_caches();
}

CheckResult Arenas::walk_written(platform::PopulatedPages& pages, Heap::Visitor visit, void* context) {
  for (Arena& arena : arenas_) {
    platform::LockGuard guard(arena.lock);
    CheckResult result = arena.heap.walk_written(pages, visit, context);
    if (!result.ok) return result;
  }
  return check_caches();
}

CheckResult Arenas::check_caches() {
  // Only the calling thread's cache can be read entry by entry: the others change
  // under us. Theirs report damage they met when taking an entry.
  if (ThreadCache* cache = ThreadCache::current()) {
    std::uintptr_t address = 0;
    if (const char* problem = cache->verify(&address)) return CheckResult{false, problem, address};
  }
  ThreadCache::lock_registry();
  ThreadCache::Totals caches = ThreadCache::totals_locked();
  ThreadCache::unlock_registry();
  if (caches.damaged != 0) return CheckResult{false, "thread cache entry damaged while cached", caches.damaged};
  return CheckResult{};
}

CheckResult Arenas::check_around(const void* address) {
  Arena* arena = owner_of(address);
  if (arena == nullptr) return CheckResult{};
  platform::LockGuard guard(arena->lock);
  return arena->heap.check_around(reinterpret_cast<std::uintptr_t>(address));
}

ArenaStats Arenas::stats() {
  ArenaStats total;
  // Every lock at once, so no refill or flush moves chunks between heaps and caches
  // while they are counted.
  ThreadCache::lock_registry();
  for (Arena& arena : arenas_) arena.lock.lock();
  for (Arena& arena : arenas_) {
    HeapStats s = arena.heap.stats();
    total.heap.in_use_bytes += s.in_use_bytes;
    total.heap.peak_in_use_bytes += s.peak_in_use_bytes;
    total.heap.mapped_bytes += s.mapped_bytes;
    total.heap.live_chunks += s.live_chunks;
    total.heap.segments += s.segments;
    total.heap.direct_blocks += s.direct_blocks;
    total.heap.free_chunks += s.free_chunks;
    total.heap.free_bytes += s.free_bytes;
    total.allocations += arena.allocations;
    total.frees += arena.frees;
  }
  ThreadCache::Totals caches = ThreadCache::totals_locked();
  for (Arena& arena : arenas_) arena.lock.unlock();
  ThreadCache::unlock_registry();
  // Cached chunks are in use to their heaps but not live.
  total.cached_chunks = caches.chunks;
  total.cached_bytes = caches.bytes;
  total.heap.live_chunks -= caches.chunks < total.heap.live_chunks ? caches.chunks : total.heap.live_chunks;
  total.heap.in_use_bytes -= caches.bytes < total.heap.in_use_bytes ? caches.bytes : total.heap.in_use_bytes;
  total.allocations += caches.hits;
  total.frees += caches.puts;
  return total;
}

std::size_t Arenas::trim() {
  flush_thread_cache();
  std::size_t released = 0;
  for (Arena& arena : arenas_) {
    platform::LockGuard guard(arena.lock);
    released += arena.heap.trim();
  }
  return released;
}

void Arenas::lock_all() {
  ThreadCache::lock_registry();
  for (Arena& arena : arenas_) arena.lock.lock();
  pages::page_allocator().lock();
}

void Arenas::unlock_all() {
  pages::page_allocator().unlock();
  for (Arena& arena : arenas_) arena.lock.unlock();
  ThreadCache::unlock_registry();
}

void Arenas::reset_locks_after_fork() {
  pages::page_allocator().reset_lock_after_fork();
  for (Arena& arena : arenas_) arena.lock.reset();
  ThreadCache::reset_registry_lock_after_fork();
  // Only the forking thread survived: the other threads' caches go back to the heaps.
  ThreadCache::reclaim_other_threads();
}

}  // namespace dbgalloc::heap
