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

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "debug/allocator.hpp"
#include "platform/reentry.hpp"

namespace dbgalloc::interpose::signal_heap {

// Marks the calling thread as inside the allocator while alive; nested() is true
// for a call made meanwhile on the same thread (dbgalloc's own internal calls aside).
// When the outermost scope ends, the frees deferred by nested calls are done.
// In the header: every allocation call reads them, a call each would cost as much.
inline constinit thread_local int tls_depth __attribute__((tls_model("initial-exec"))) = 0;
inline constinit thread_local std::size_t tls_deferred_count __attribute__((tls_model("initial-exec"))) = 0;
inline int& depth() { return tls_depth; }
inline bool nested() { return tls_depth > 0 && !platform::in_internal_code(); }
// Does the frees nested calls deferred.
void finish_outermost();

class Scope {
 public:
  Scope() { ++tls_depth; }
  ~Scope() {
    --tls_depth;
    // A signal's defer_free before the decrement is seen below; one after it is not
    // nested (depth 0) and frees at once.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (__builtin_expect(tls_depth == 0 && tls_deferred_count != 0, 0)) finish_outermost();
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
