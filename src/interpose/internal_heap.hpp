// Memory for dbgalloc's own code: every allocation made inside platform::InternalScope
// (symbolizing, demangling, reports, leak checks, glibc calls they make) comes from
// here, never from the program's heap, so a report still comes out when the program
// has smashed that heap (chunk words, free-list links) with an overflow.
//
// One address range reserved at the first use (kReservedBytes, PROT_NONE), made
// readable and writable as it fills. Blocks are powers of two from 32 bytes to 64 KiB,
// each with a 16-byte header, carved from the front of the range and kept on one free
// list per size once released; freed blocks are zeroed, so the range (which the leak
// scanner reads as a root, like any anonymous mapping of the program) holds no stale
// pointers and fresh blocks read as zero. Bigger or over-aligned requests, and a call
// made by a signal handler while this thread held the heap's lock, come from the
// signal heap (one private mapping each). free, realloc and malloc_usable_size from
// anywhere recognise these blocks by their address.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::interpose::internal_heap {

inline constexpr std::size_t kReservedBytes = std::size_t{32} << 20;

// nullptr when neither this range nor the signal heap can serve it.
void* allocate(std::size_t bytes, std::size_t alignment);
// True when p lies in the reserved range (one comparison pair).
bool owns(const void* p);
void release(void* p);
// The bytes requested.
std::size_t usable_size(const void* p);

// Taken last in fork's prepare handler (no lock is taken while it is held).
void lock_for_fork();
void unlock_after_fork();
void reset_after_fork();

struct Stats {
  std::size_t blocks_live;
  std::size_t bytes_touched;  // the part of the range made writable so far
};
Stats stats();

}  // namespace dbgalloc::interpose::internal_heap
