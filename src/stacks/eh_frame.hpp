// Reading one unwind rule out of a module's .eh_frame_hdr / .eh_frame (x86-64 only).
//
// For a return address `pc`, the caller's frame is found from the row of the CFI table
// that covers pc - 1 (the call instruction), exactly as libgcc does. Of that row we keep
// only what a stack walk needs:
//   CFA        = (RSP or RBP) + cfa_offset
//   return PC  = *(CFA + ra_offset)
//   caller RBP = *(CFA + rbp_offset) if RBP was saved, else RBP is unchanged.
// Rows that cannot be said this way (DWARF expressions, CFA in another register, signal
// frames, encodings we do not read) give UnwindRule::unsupported, and the caller falls
// back to _Unwind_Backtrace, which understands everything. A row whose return address
// is undefined (_start, clone3) is the end of the stack.
//
// Modules are found with _dl_find_object (glibc >= 2.35: lock-free, async-signal-safe,
// no allocation); older glibc uses dl_iterate_phdr, which takes the loader lock.
// Nothing here allocates, and all reads stay inside the FDE's declared length.
#pragma once

#include <bit>
#include <cstdint>

namespace dbgalloc::stacks {

struct UnwindRule {
  enum Kind : std::uint8_t { frame = 1, end_of_stack = 2, unsupported = 3 };

  std::int32_t cfa_offset = 0;
  std::int8_t ra_offset8 = 0;   // in units of 8 bytes (offsets are always multiples of 8)
  std::int8_t rbp_offset8 = 0;  // 0: RBP not saved in this frame
  Kind kind = unsupported;
  std::uint8_t cfa_from_rbp = 0;

  // Rules travel through the rule cache as one 64-bit word (never 0: kind != 0).
  std::uint64_t pack() const { return std::bit_cast<std::uint64_t>(*this); }
  static UnwindRule unpack(std::uint64_t word) { return std::bit_cast<UnwindRule>(word); }
};
static_assert(sizeof(UnwindRule) == 8);

// Parses the CFI covering return address `pc`. Slow (binary search plus a CFA program
// run), meant to be called once per PC and cached.
UnwindRule find_unwind_rule(std::uintptr_t pc);

}  // namespace dbgalloc::stacks
