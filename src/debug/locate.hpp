// Finding the block a pointer names, trusting nothing: the page map says which span
// (if any) holds the address, and only then is any memory read; a header counts only
// when its keyed checksum holds.
#pragma once

#include <cstdint>

#include "debug/block.hpp"
#include "debug/guard_blocks.hpp"

namespace dbgalloc::debug {

enum class Lookup {
  ok,           // the start of a block (live, quarantined or freed: see its state)
  not_ours,     // no dbgalloc span holds it: stack, global, foreign, unmapped
  not_a_block,  // in our heap, but no block starts or lives there
  interior,     // inside a live block, not at its start (block filled in)
  corrupted,    // where a block should start, but its header fails the checksum
};

struct Located {
  BlockHeader* header = nullptr;
  std::uintptr_t user = 0;
  GuardRecord* guard = nullptr;  // for guard blocks
};

Lookup locate(std::uintptr_t address, Located* out);

// For a fault report: the block holding `address`, else the block at the near edge of
// a span that ends or starts within `reach` bytes of it (an access just past a large
// block's mapping). Takes no lock it would wait for: false when none is found or the
// heap is busy (the fault may have come from inside it).
bool block_near(std::uintptr_t address, std::size_t reach, Located* out);

// The block inside a heap payload of `usable` bytes, or false.
bool block_in_payload(std::uintptr_t payload, std::size_t usable, Located* out);

// The sanitizer interface's ownership: true when p starts a live block of the
// program's (dbgalloc's internal blocks are not), with its requested size in *size.
bool live_program_block(const volatile void* p, std::size_t* size);

}  // namespace dbgalloc::debug
