// What memory access a faulting x86-64 instruction makes: its operand size and whether
// it reads, writes or both, for the "READ of size N" line of a fault report.
//
// Bounded on purpose: it knows the common load/store forms (mov, movzx/movsx, the
// arithmetic and compare group on memory, push/pop/call/ret, the string instructions
// movs/stos/lods/cmps/scas with or without rep, and SSE/AVX/AVX-512 moves, compares and
// integer ops that string and memory functions use) and says "unknown" for anything
// else rather than guess. It runs in the signal handler: no allocation, no locks, and
// it reads only the bytes it is given (the caller copies them from the PC).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::report {

enum class MemoryAccess : std::uint8_t { unknown, read, write, read_write };

struct DecodedAccess {
  std::size_t size = 0;                         // bytes; 0 when unknown
  MemoryAccess access = MemoryAccess::unknown;  // what the instruction does to memory
  bool string_op = false;                       // movs/stos/lods/cmps/scas: size is per element
  bool repeated = false;                        // with a rep prefix
};

// The longest x86 instruction.
constexpr std::size_t kMaxInstructionBytes = 15;

// Decodes the instruction at code[0, available). False (out untouched) when the form is
// not one it knows, or the bytes run out. Only x86-64 encodings are understood.
bool decode_x86_access(const std::uint8_t* code, std::size_t available, DecodedAccess* out);

}  // namespace dbgalloc::report
