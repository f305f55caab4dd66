// A block header as the report layer takes it: plain values (report::BlockFacts), so
// report needs no debug type and sits below this layer.
#pragma once

#include <cstdint>

#include "debug/block.hpp"
#include "report/report.hpp"

namespace dbgalloc::debug {

static_assert(static_cast<int>(report::Family::malloc) == static_cast<int>(Kind::malloc) &&
              static_cast<int>(report::Family::new_scalar) == static_cast<int>(Kind::new_scalar) &&
              static_cast<int>(report::Family::new_array) == static_cast<int>(Kind::new_array));
static_assert(static_cast<int>(report::BlockState::live) == static_cast<int>(State::live) &&
              static_cast<int>(report::BlockState::quarantined) == static_cast<int>(State::quarantined) &&
              static_cast<int>(report::BlockState::freed) == static_cast<int>(State::freed));

inline report::Family family_of(Kind kind) { return static_cast<report::Family>(kind); }

// `header` is a verified header (or a copy of one); `user` is its block's first byte.
inline report::BlockFacts facts_of(const BlockHeader& header, std::uintptr_t user) {
  report::BlockFacts facts;
  facts.user = user;
  facts.size = header.size();
  facts.family = family_of(header.kind());
  facts.aligned_new = header.has(BlockHeader::kAlignedNewFlag);
  facts.state = static_cast<report::BlockState>(header.state());  // invalid (0) is unknown
  facts.guard = header.has(BlockHeader::kGuardFlag);
  facts.left_guard = (header.marks() & BlockHeader::kMarkLeftGuard) != 0;
  facts.alloc_stack = header.alloc_stack;
  facts.free_stack = header.free_stack;
  facts.alloc_thread = header.alloc_thread;
  facts.free_thread = header.free_thread;
  return facts;
}

}  // namespace dbgalloc::debug
