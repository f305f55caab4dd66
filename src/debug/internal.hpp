// What the debug layer's units share among themselves (not for other layers).
#pragma once

#include <cstdint>

#include "debug/guard_blocks.hpp"
#include "debug/locate.hpp"
#include "debug/quarantine.hpp"
#include "stacks/stacks.hpp"

namespace dbgalloc::debug::internal {

bool canaries_on();
std::uint8_t free_fill();
// How many leading bytes of a freed block of `size` bytes carry the free fill.
std::size_t filled_bytes(std::size_t size);
GuardBlocks& guard_blocks();
// The first canary byte of the block that changed, or 0.
std::uintptr_t damaged_canary(const Located& block);
void repair_canaries(const Located& block);
// The stack of the current call, dbgalloc's own frames (those above `caller`) dropped.
stacks::StackId record_stack(std::uintptr_t caller);
// Marks the block freed and gives it back to the heap or the guard blocks; damage to
// the heap's words met doing so is reported as found by `operation`.
void release_block(const Located& block, const char* operation = "quarantine eviction", std::uintptr_t caller = 0);

// quarantine_flow.cpp: the FIFO, the threads' batches in front of it, and eviction.
Quarantine& quarantine();
void configure_quarantine(std::size_t max_bytes, std::size_t max_blocks);
// Parks or pushes a freed (filled, quarantined) block; releases it when nothing holds it.
void quarantine_or_release(const Located& block, const char* operation, std::uintptr_t caller);

}  // namespace dbgalloc::debug::internal
