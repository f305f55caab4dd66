// ThreadCache: per-thread stacks of free small chunks, so most malloc/free pairs take
// no lock (glibc's tcache, mimalloc's thread-local free lists).
//
// A cache holds, for each chunk size 32..1024 (63 classes, step 16), a stack of at
// most kSlots chunks, and at most kMaxBytes in all. The stacks are arrays in the
// cache, not links through the chunks: a write after free into a cached chunk cannot
// redirect the cache, and the payload (a debug block's header) stays as it was freed.
//
//   Arenas::allocate  --take-->  cache hit: set the block up, then clear the mark
//        |  miss: lock my arena, carve one chunk for the caller and a few more for
//        |        the cache (refill)
//   Arenas::deallocate --put-->  a live small chunk of ANY arena (cross-thread frees
//        |  too) is marked and stacked, no lock; a full stack first gives its older
//        |  half back, grouped by owning arena, one lock per arena (flush)
//
// A cached chunk is in use to its heap (CINUSE, counted in the heap's in-use bytes)
// and carries a mark in its footer (chunk.hpp), so heap walks, owns_live_block and
// find_live_block_containing treat it as not live: freeing it again is refused.
//
// Lifetime: a thread attaches a cache at its first small allocation or free (the cache
// is mapped, never from the heap, and registered: platform/thread_registry.hpp); its
// thread-exit hook flushes it back to the heaps and parks it for the next thread. In a
// forked child the caches of the threads that did not survive are flushed the same
// way (Arenas::reset_locks_after_fork). Chunks a thread held in local variables at
// that moment stay marked: invisible to walks, never reported, a bounded loss.
//
// Only the owning thread changes its cache. Others read its counters (stats) and its
// `damaged` word (check); the registry lock guards the list itself.
//
// Limits. A free is checked without the owner's lock (Arenas::deallocate): the words
// read do not change while a chunk is live, but a free racing with another thread's
// free or realloc of the same pointer may pass where the locked check would refuse
// it, and a wild free racing with the release of the segment it points into may
// fault. peak_in_use_bytes counts cached chunks. check() verifies the entries of the
// calling thread's cache only; other caches report entries found damaged when taken.
#pragma once

#include <cstddef>
#include <cstdint>

#include "heap/chunk.hpp"
#include "heap/heap.hpp"
#include "heap/poison.hpp"
#include "platform/thread_registry.hpp"

namespace dbgalloc::heap {

class ThreadCache : public platform::ThreadRecord {
 public:
  static constexpr std::size_t kMaxChunk = chunk_layout::kMaxCachedChunk;
  static constexpr std::size_t kClasses = kMaxChunk / Heap::kAlignment - 1;  // 32..1024
  // 128: a quarantine eviction batch (debug layer) of one class fits, so its chunks
  // are reused from here rather than going through the bins (32 cost tls_scale 30%
  // more peak RSS: chunks of another thread's arena went back to that arena).
  static constexpr std::size_t kSlots = 128;
  static constexpr std::size_t kMaxBytes = 256 * 1024;
  // Largest request served from a cache: its chunk is kMaxChunk.
  static constexpr std::size_t kMaxRequest = kMaxChunk - Heap::kHeaderSize;
  // A cached chunk's head without its tag and PINUSE (which a neighbour may change).
  static constexpr std::size_t kHeadBits = integrity::kValueMask & ~chunk_layout::kPInUse;

  static std::size_t class_of(std::size_t chunk_size) { return chunk_size / Heap::kAlignment - 2; }
  static std::size_t chunk_size_of(std::size_t size_class) { return (size_class + 2) * Heap::kAlignment; }

  // The calling thread's cache, attached on first use; nullptr while the thread exits
  // and after, when caching is off for it, or when no memory could be mapped for it.
  static ThreadCache* mine() {
    ThreadCache* cache = tls_current;
    return __builtin_expect(cache != nullptr, 1) ? cache : attach();
  }
  // The calling thread's cache if it has one attached.
  static ThreadCache* current() { return tls_current; }

  // The payload of a cached chunk of exactly chunk_size, unpoisoned but still marked
  // (the caller sets it up, then clears the mark); nullptr when the stack is empty.
  // An entry whose header or mark was overwritten while cached is dropped (damaged()).
  void* take(std::size_t chunk_size) {
    std::size_t size_class = class_of(chunk_size);
    while (count_[size_class] != 0) {
      std::uint8_t n = static_cast<std::uint8_t>(count_[size_class] - 1);
      Heap::Chunk* chunk = slots_[size_class][n];
      count_[size_class] = n;
      store(bytes_, bytes_ - chunk_size);
      // Compared with the size the heap knows, not trusted: no tag check needed (a head
      // whose tag alone was changed fails at the block's free).
      if ((chunk->head_relaxed() & kHeadBits) == (chunk_size | chunk_layout::kCInUse) && chunk->cached()) {
        store(hits_, hits_ + 1);
        poison::unpoison(chunk->payload(), chunk_size - Heap::kHeaderSize);
        return chunk->payload();
      }
      note_damaged(chunk->address());
      note_fault("cached chunk header or cache mark overwritten while cached", chunk->address());
    }
    return nullptr;
  }
  // Marks and stacks chunk (live, of chunk_size, in a segment: the caller checked);
  // false when its stack or the byte budget is full. put() counts a free, adopt()
  // (a chunk carved for the cache) does not.
  bool put(Heap::Chunk* chunk, std::size_t chunk_size) {
    if (!push(chunk, chunk_size)) return false;
    store(puts_, puts_ + 1);
    return true;
  }
  bool adopt(Heap::Chunk* chunk, std::size_t chunk_size) { return push(chunk, chunk_size); }
  bool has_room(std::size_t chunk_size) const {
    return count_[class_of(chunk_size)] < kSlots && bytes_ + chunk_size <= kMaxBytes;
  }
  bool over_budget(std::size_t chunk_size) const { return bytes_ + chunk_size > kMaxBytes; }
  std::size_t count(std::size_t size_class) const { return count_[size_class]; }

  // Moves the oldest count(size_class) - keep chunks of a class into out (at most
  // kSlots; they stay marked) and returns how many.
  std::size_t remove(std::size_t size_class, std::size_t keep, Heap::Chunk** out);

  // Verifies every entry (the calling thread's own cache only: others change under
  // it). nullptr when sound, else the problem (static text) and *address.
  const char* verify(std::uintptr_t* address) const;

  std::size_t chunks() const;
  std::size_t bytes() const { return __atomic_load_n(&bytes_, __ATOMIC_RELAXED); }
  std::uint64_t hits() const { return __atomic_load_n(&hits_, __ATOMIC_RELAXED); }
  std::uint64_t puts() const { return __atomic_load_n(&puts_, __ATOMIC_RELAXED); }
  // The first cached chunk found damaged when taken (its header or mark overwritten
  // while cached); it was dropped, not handed out. 0 when none.
  std::uintptr_t damaged() const { return __atomic_load_n(&damaged_, __ATOMIC_RELAXED); }

  // The registry of caches attached to threads. Lock order: registry, then arenas.
  struct Totals {
    std::size_t chunks = 0;
    std::size_t bytes = 0;
    std::uint64_t hits = 0;   // allocations served by caches, exited threads' included
    std::uint64_t puts = 0;   // frees taken by caches, exited threads' included
    std::uintptr_t damaged = 0;
  };
  static void lock_registry();
  static void unlock_registry();
  // With the registry lock held.
  static Totals totals_locked();
  static void reset_registry_lock_after_fork();
  // A forked child, after the locks are reset: empties (Arenas::flush_cache) and
  // detaches every cache but the calling thread's (their threads did not survive).
  static void reclaim_other_threads();
  // Empties and detaches the calling thread's cache; with enabled false the thread
  // caches no more, with true it attaches a cache again at its next use.
  static void reset_for_thread(bool enabled);

 private:
  template <typename T>
  static void store(T& field, T value) { __atomic_store_n(&field, value, __ATOMIC_RELAXED); }
  bool push(Heap::Chunk* chunk, std::size_t chunk_size) {
    if (chunk_size > kMaxChunk) return false;
    std::size_t size_class = class_of(chunk_size);
    std::uint8_t n = count_[size_class];
    if (n >= kSlots || bytes_ + chunk_size > kMaxBytes) return false;
    chunk->set_cached();
    poison::poison(chunk->payload(), chunk_size - Heap::kHeaderSize);
    slots_[size_class][n] = chunk;
    count_[size_class] = static_cast<std::uint8_t>(n + 1);
    store(bytes_, bytes_ + chunk_size);
    return true;
  }
  static ThreadCache* attach();
  static void on_thread_exit(void* cache);
  void detach();
  // Adds its counters to the retired ones and parks it; the registry lock held.
  void retire_locked();
  void note_damaged(std::uintptr_t address);

  static constinit thread_local ThreadCache* tls_current __attribute__((tls_model("initial-exec")));
  static platform::ThreadRegistry registry_;

  std::uint8_t count_[kClasses] = {};
  std::size_t bytes_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t puts_ = 0;
  std::uintptr_t damaged_ = 0;
  Heap::Chunk* slots_[kClasses][kSlots] = {};
};

}  // namespace dbgalloc::heap
