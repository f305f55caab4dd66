// Arenas: the thread-safe face of the heap core. Several independent Heaps, each with
// its own lock; a thread allocates from the arena it was given on first use, and a
// block is always returned to the arena that owns it (found through the page map), so
// cross-thread frees are correct and threads rarely contend.
#pragma once

#include <cstddef>
#include <cstdint>

#include "heap/heap.hpp"
#include "platform/lock.hpp"

namespace dbgalloc::heap {

struct ArenaStats {
  HeapStats heap;                  // summed over arenas
  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
};

// Runs under the arena's lock right after a block is carved out, so walks (and a
// fork) never see a live block its owner has not set up yet.
struct BlockInitializer {
  Heap::Visitor init = nullptr;  // (payload, usable, context)
  void* context = nullptr;
};

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

  CheckResult check();
  ArenaStats stats();
  std::size_t trim();
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
  Arena* owner_of(const void* p);

  Arena arenas_[kMaxArenas];
  std::size_t count_ = 4;
};

// The process-wide arenas (constant-initialised).
Arenas& arenas();

}  // namespace dbgalloc::heap
