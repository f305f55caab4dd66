// Stacks: where each allocation and free came from.
//
// A stack is captured as an array of return addresses (frames[0] is a PC inside the
// function that called capture()/record(), unless `skip` asks to drop more), stored once
// in the stack depot and named by a 32-bit StackId that fits in a block header.
// Symbolization (function, file:line) happens only when a report prints a stack.
//
// Invariants the debug layer relies on:
//  - capture() and record() never allocate, never take a lock and never use stdio, so
//    they are callable from inside malloc and from a signal handler;
//  - an id handed out by record() reads back exactly the frames it was given, for the
//    life of the process (the depot never evicts);
//  - any 32-bit value passed to lookup()/print() is safe: unknown ids read as empty.
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/format.hpp"

namespace dbgalloc::stacks {

using StackId = std::uint32_t;

// 0 means "no stack was recorded" (recording off, or capture found no frame).
inline constexpr StackId kNoStack = 0;
// The depot was full (or its memory could not be mapped): the stack was dropped and
// counted. Reports print "<stack dropped: stack depot full>" for it.
inline constexpr StackId kDepotFull = 0xffffffffu;

// Hard cap on frames per stack; configure() clamps max_depth to it.
inline constexpr std::size_t kMaxFrames = 64;
inline constexpr std::size_t kDefaultDepth = 16;

enum class Unwinder {
  frame_pointer,  // walk the RBP chain: fastest, but loses frames in code without FP
  cfi,            // Boost.Stacktrace's collect(), i.e. _Unwind_Backtrace: complete, slow
  cfi_cached,     // our .eh_frame reader with a per-PC rule cache: complete and fast
};

// Called once at start-up from the options; later calls are allowed (tests) but not
// synchronised with concurrent record() calls beyond being atomic per field.
void configure(Unwinder unwinder, std::size_t max_depth);
Unwinder configured_unwinder();
std::size_t configured_depth();

// Captures up to `max` return addresses with the configured unwinder. skip = 0 makes
// frames[0] a PC in the caller of capture(). Async-signal-safe, no allocation.
std::size_t capture(std::uintptr_t* frames, std::size_t max, std::size_t skip);

// capture() for a call site the caller names (e.g. the program's return address): the
// cached CFI unwinder replays from the walk last made for that site, so captures from
// sites that alternate (an allocation, a free) each replay their own. Same frames.
std::size_t capture_at(std::uintptr_t* frames, std::size_t max, std::size_t skip, std::uintptr_t site);

// The program's stack at its call into dbgalloc: frames[0] is `caller`, the return
// address into the program. When the thread's entry mark (entry_frame.hpp) is the frame
// record of that call, the walk starts there and never unwinds dbgalloc's own frames;
// otherwise it captures from here with a margin and drops the frames above `caller`
// (all kept when `caller` is not among the first few).
std::size_t capture_from_caller(std::uintptr_t* frames, std::size_t max, std::uintptr_t caller);

// capture() with the configured depth, then StackDepot::insert into the process depot.
// skip = 0 makes the first stored frame a PC in the caller of record().
StackId record(std::size_t skip);

// Inserts frames the caller captured and trimmed itself (capture() with a margin, then
// dbgalloc's own frames dropped by matching the caller's return address). More than
// kMaxFrames are cut and counted as truncated. No allocation, no lock.
StackId store(const std::uintptr_t* frames, std::size_t count);

// Copies a stored stack out; returns its frame count (0 for kNoStack, kDepotFull or an
// id the depot never handed out).
std::size_t lookup(StackId id, std::uintptr_t* frames, std::size_t max);

// Appends sanitizer-style lines, one per frame, flushing `out` whenever it is nearly
// full:   "    #0 0x4011d6 in func(int) /src/file.cpp:12\n"
//     or  "    #1 0x7f3a... in func (libfoo.so+0x1a2b)\n"   (no line information)
//     or  "    #2 0x7f3a... (libfoo.so+0x1a2b)\n"             (no symbol at all).
// Symbolizes (demangling allocates): only call it at report time, never from
// inside a signal handler that interrupted malloc.
void print(StackId id, platform::TextBuffer& out);
// Same for a raw frame array (tests, __sanitizer_print_stack_trace).
// first_is_pc: frames[0] is the faulting instruction itself (a signal context), not a
// return address, so it is looked up as is rather than at pc - 1.
void print_frames(const std::uintptr_t* frames, std::size_t count, platform::TextBuffer& out,
                  bool first_is_pc = false);

struct DepotStats {
  std::uint64_t stacks_stored;   // distinct stacks in the depot
  std::uint64_t bytes_used;      // arena bytes handed out (records + wasted)
  std::uint64_t bytes_budget;    // fixed arena budget
  std::uint64_t dropped;         // inserts refused because the depot was full
  std::uint64_t truncated;       // captures that hit the depth limit
  std::uint64_t wasted_records;  // records lost to an insert race (their bytes stay used)
};
DepotStats depot_stats();

}  // namespace dbgalloc::stacks
