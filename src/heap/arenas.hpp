// Arenas: the thread-safe face of the heap core. Several independent Heaps, each with
// its own lock; a thread allocates from the arena it was given on first use, and a
// block is always returned to the arena that owns it (found through the page map), so
// cross-thread frees are correct and threads rarely contend.
//
// Small blocks (chunks up to 1 KiB) go through the calling thread's cache first
// (thread_cache.hpp): no lock on a hit, and a free of any arena's block, cross-thread
// ones included, is cached by the freeing thread and goes back to its owner later in
// batches, one lock per owning arena per batch. A cached block is not live: walks skip
// it and freeing it again is refused.
#pragma once

#include <cstddef>
#include <cstdint>

#include "heap/heap.hpp"
#include "pages/pages.hpp"
#include "platform/lock.hpp"

namespace dbgalloc::heap {

struct ArenaStats {
  HeapStats heap;                  // summed over arenas; thread caches' chunks are not live
  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
  std::size_t cached_chunks = 0;   // held by thread caches
  std::size_t cached_bytes = 0;
};

// Runs under the arena's lock right after a block is carved out, so walks (and a
// fork) never see a live block its owner has not set up yet.
struct BlockInitializer {
  Heap::Visitor init = nullptr;  // (payload, usable, context)
  void* context = nullptr;
};

class ThreadCache;

class Arenas {
 public:
  static constexpr std::size_t kMaxArenas = 16;

  using Initializer = BlockInitializer;
  // *usable (when given) receives the payload's usable size.
  void* allocate(std::size_t bytes, std::size_t* usable = nullptr, Initializer initializer = {});
  void* allocate_aligned(std::size_t alignment, std::size_t bytes, std::size_t* usable = nullptr,
                         Initializer initializer = {});
  // False (nothing done) when p is not a live block of any arena.
  bool deallocate(void* p);
  // nullptr with the block untouched on failure; *invalid set when p is not ours.
  void* reallocate(void* p, std::size_t bytes, bool* invalid);
  // 0 when p is not a live block.
  std::size_t usable_size(const void* p);
  bool owns_live_block(const void* p);

  // Every live block of every arena, each arena locked while it is walked.
  void walk_live(Heap::Visitor visit, void* context);
  // Error paths: the payload of the live block holding address, or nullptr.
  void* find_live_block_containing(const void* address);
  // The same for a signal handler (the fault may have come from inside the heap, its
  // lock held by this very thread): gives up, returning nullptr, when the arena's lock
  // stays busy. An address before the span's first payload names the first block.
  // *usable: the block's usable size.
  void* try_find_live_block_containing(const void* address, std::size_t* usable);

  // Every arena's heap, then the calling thread's cache entry by entry, and whether
  // any cache met a damaged entry.
  CheckResult check();
  // check() narrowed for a forked child: Heap::walk_written in every arena (each locked
  // while walked; visit as walk_live), then the thread caches as check() does.
  CheckResult walk_written(platform::PopulatedPages& pages, Heap::Visitor visit, void* context);
  // Heap::check_around in the arena owning address (sound when none does).
  CheckResult check_around(const void* address);
  ArenaStats stats();
  // Flushes the calling thread's cache, then unmaps fully free segments.
  std::size_t trim();
  // Gives every chunk of the calling thread's cache back to its arena.
  void flush_thread_cache();
  // Tests: stop (false) or resume (true) caching for the calling thread; stopping
  // flushes its cache.
  void set_thread_cache_enabled(bool enabled);
  // Gives every chunk of `cache` back to its arena (thread_cache.cpp: thread exit, fork).
  void flush_cache(ThreadCache& cache);
  void set_count(std::size_t count);

  void lock_all();
  void unlock_all();
  void reset_locks_after_fork();

 private:
  struct Arena {
    platform::Lock lock;
    Heap heap;
    std::uint64_t allocations = 0;
    std::uint64_t frees = 0;
  };
  Arena& mine();
  CheckResult check_caches();
  Arena* owner_of(const void* p);
  Arena* arena_of(const pages::Span* span);
  void* allocate_and_refill(ThreadCache& cache, std::size_t chunk_size, std::size_t* usable,
                            const Initializer& initializer);
  bool cache_free(ThreadCache& cache, const pages::Span* span, void* p);
  void make_room(ThreadCache& cache, std::size_t chunk_size);
  void* allocate_locked(std::size_t bytes, std::size_t* usable, const Initializer& initializer);
  // Gives cached chunks (still marked) back to their arenas, one lock per arena.
  void release_cached(Heap::Chunk** chunks, std::size_t count);
  // Gives back the older half of every class (keep_half) or everything.
  void flush_classes(ThreadCache& cache, bool keep_half);

  Arena arenas_[kMaxArenas];
  std::size_t count_ = 4;
};

// The process-wide arenas (constant-initialised).
namespace detail {
extern constinit Arenas global_arenas;
}
// Inline: the allocation path asks for it on every call.
inline Arenas& arenas() { return detail::global_arenas; }

}  // namespace dbgalloc::heap
