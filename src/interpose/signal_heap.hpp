// Calls that re-enter the allocator on a thread already inside it: a signal handler
// that mallocs or frees while the code it interrupted was in malloc or free. The
// interrupted call may hold an arena, quarantine or page-map lock, or be half-way
// through the thread's cache, so the nested call must touch none of those:
//
//  - its allocations come from the signal heap: one private mapping each, found again
//    through a lock-free table, never from the arenas;
//  - its frees of signal-heap blocks unmap at once; its frees of ordinary blocks are
//    kept in a per-thread list and done by the interrupted call when it finishes.
//
// Signal-heap blocks have no canaries and are not leak-checked; the leak scanner reads
// them as roots (they are anonymous mappings of the program). Later calls from
// anywhere (free, realloc, malloc_usable_size, delete) recognise them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "debug/allocator.hpp"

namespace dbgalloc::interpose::signal_heap {

// Marks the calling thread as inside the allocator while alive; nested() is true
// for a call made meanwhile on the same thread (dbgalloc's own internal calls aside).
// When the outermost scope ends, the frees deferred by nested calls are done.
int& depth();
bool nested();
void finish_outermost();

class Scope {
 public:
  Scope() { ++depth(); }
  ~Scope() {
    if (--depth() == 0) finish_outermost();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
};

void* allocate(std::size_t bytes, std::size_t alignment, bool zero);
// True when p is a signal-heap block (cheap when there is none).
bool owns(const void* p);
// Releases a signal-heap block.
void release(void* p);
std::size_t usable_size(const void* p);
// A nested free of an ordinary block: done when the interrupted call finishes. False
// when the thread's list is full (the block is then left allocated).
bool defer_free(void* p, debug::Kind kind, std::size_t sized, bool aligned);
// How many nested calls were served (tests, verbosity).
std::uint64_t served();

}  // namespace dbgalloc::interpose::signal_heap
