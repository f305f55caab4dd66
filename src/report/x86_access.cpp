// A bounded x86-64 decoder: prefixes, REX, VEX and EVEX, the opcode and the ModRM byte
// are enough to know the size of the memory operand; displacement and immediate bytes
// are never read. Forms it does not list return false: an honest "unknown size".
#include "report/x86_access.hpp"

namespace dbgalloc::report {

#if defined(__x86_64__)

namespace {

using MA = MemoryAccess;

enum class Map : std::uint8_t { one, x0f, x0f38, x0f3a };
enum class Pp : std::uint8_t { none, p66, pf3, pf2 };

struct Insn {
  Map map = Map::one;
  Pp pp = Pp::none;         // mandatory prefix (SSE), or VEX/EVEX pp
  bool rex_w = false;
  bool opsize = false;      // 0x66
  bool rep = false;         // 0xF2 or 0xF3
  int vector = 0;           // 0: legacy SSE/MMX; 1: VEX; 2: EVEX
  std::size_t vlen = 16;    // vector length in bytes (VEX.L, EVEX.L'L)
  bool broadcast = false;   // EVEX.b with a memory operand
  std::uint8_t op = 0;
  std::uint8_t modrm = 0;
};

class Cursor {
 public:
  Cursor(const std::uint8_t* code, std::size_t available) : code_(code), available_(available) {}
  bool next(std::uint8_t* byte) {
    if (at_ >= available_ || at_ >= kMaxInstructionBytes) return false;
    *byte = code_[at_++];
    return true;
  }

 private:
  const std::uint8_t* code_;
  std::size_t available_;
  std::size_t at_ = 0;
};

std::size_t int_size(const Insn& i) { return i.rex_w ? 8 : i.opsize ? 2 : 4; }
std::size_t stack_size(const Insn& i) { return i.opsize ? 2 : 8; }
int reg_field(const Insn& i) { return (i.modrm >> 3) & 7; }

bool done(DecodedAccess* out, std::size_t size, MA access) {
  out->size = size;
  out->access = access;
  return true;
}

// Opcodes with a ModRM byte whose memory operand we size. False: no memory operand
// we know of.
bool one_byte_modrm(const Insn& i, DecodedAccess* out) {
  std::uint8_t op = i.op;
  if (op < 0x40 && (op & 7) < 4) {  // add/or/adc/sbb/and/sub/xor/cmp
    bool cmp = (op >> 3) == 7;
    bool to_memory = (op & 2) == 0;
    std::size_t size = (op & 1) != 0 ? int_size(i) : 1;
    return done(out, size, to_memory && !cmp ? MA::read_write : MA::read);
  }
  switch (op) {
    case 0x63: return done(out, 4, MA::read);                         // movsxd
    case 0x69: case 0x6b: return done(out, int_size(i), MA::read);    // imul r, r/m, imm
    case 0x80: return done(out, 1, reg_field(i) == 7 ? MA::read : MA::read_write);
    case 0x81: case 0x83: return done(out, int_size(i), reg_field(i) == 7 ? MA::read : MA::read_write);
    case 0x84: return done(out, 1, MA::read);                          // test
    case 0x85: return done(out, int_size(i), MA::read);
    case 0x86: return done(out, 1, MA::read_write);                    // xchg
    case 0x87: return done(out, int_size(i), MA::read_write);
    case 0x88: return done(out, 1, MA::write);                         // mov
    case 0x89: return done(out, int_size(i), MA::write);
    case 0x8a: return done(out, 1, MA::read);
    case 0x8b: return done(out, int_size(i), MA::read);
    case 0x8f: return reg_field(i) == 0 && done(out, stack_size(i), MA::write);  // pop r/m
    case 0xc0: case 0xd0: case 0xd2: return done(out, 1, MA::read_write);       // shifts
    case 0xc1: case 0xd1: case 0xd3: return done(out, int_size(i), MA::read_write);
    case 0xc6: return reg_field(i) == 0 && done(out, 1, MA::write);             // mov r/m, imm
    case 0xc7: return reg_field(i) == 0 && done(out, int_size(i), MA::write);
    case 0xf6: case 0xf7: {                                                     // test/not/neg/mul/div
      std::size_t size = op == 0xf6 ? 1 : int_size(i);
      int reg = reg_field(i);
      return done(out, size, reg == 2 || reg == 3 ? MA::read_write : MA::read);
    }
    case 0xfe: return reg_field(i) < 2 && done(out, 1, MA::read_write);         // inc/dec
    case 0xff:
      switch (reg_field(i)) {
        case 0: case 1: return done(out, int_size(i), MA::read_write);          // inc/dec
        case 2: case 4: return done(out, 8, MA::read);                          // call/jmp r/m
        case 6: return done(out, stack_size(i), MA::read);                      // push r/m
        default: return false;
      }
    default: return false;
  }
}

// SSE/AVX sizes in the 0F map. `vec` is the full vector operand.
bool map_0f_vector(const Insn& i, DecodedAccess* out) {
  const std::size_t vec = i.vlen;
  const bool sse = i.pp == Pp::p66 || i.vector > 0;  // else MMX: 8 bytes
  auto scalar_or_vec = [&](MA access) {
    if (i.pp == Pp::pf3) return done(out, 4, access);
    if (i.pp == Pp::pf2) return done(out, 8, access);
    return done(out, vec, access);
  };
  switch (i.op) {
    case 0x10: return scalar_or_vec(MA::read);                    // movups/movupd/movss/movsd
    case 0x11: return scalar_or_vec(MA::write);
    case 0x12: case 0x16:                                          // movlps/movhps, movsldup/movddup
      if (i.pp == Pp::pf3) return done(out, vec, MA::read);
      if (i.pp == Pp::pf2) return done(out, i.vlen == 16 ? 8 : vec, MA::read);
      return done(out, 8, MA::read);
    case 0x13: case 0x17: return i.pp != Pp::pf2 && i.pp != Pp::pf3 && done(out, 8, MA::write);
    case 0x14: case 0x15: case 0x54: case 0x55: case 0x56: case 0x57: case 0xc6:
      return done(out, vec, MA::read);                             // unpck, and/andn/or/xor, shuf
    case 0x28: return done(out, vec, MA::read);                    // movaps/movapd
    case 0x29: case 0x2b: return done(out, vec, MA::write);        // movaps/movapd, movntps
    case 0x2e: case 0x2f: return done(out, i.pp == Pp::p66 ? 8 : 4, MA::read);  // (u)comiss/sd
    case 0x51: case 0x58: case 0x59: case 0x5c: case 0x5d: case 0x5e: case 0x5f: case 0xc2:
      return scalar_or_vec(MA::read);                              // sqrt/add/mul/sub/min/div/max/cmp
    case 0x6e: return done(out, i.rex_w ? 8 : 4, MA::read);        // movd/movq to a register
    case 0x7e:
      if (i.pp == Pp::pf3) return done(out, 8, MA::read);          // movq xmm, m64
      return done(out, i.rex_w ? 8 : 4, MA::write);                // movd/movq to memory
    case 0xd6: return i.pp == Pp::p66 && done(out, 8, MA::write);  // movq m64, xmm
    case 0x6f: case 0x7f: {                                        // movq/movdqa/movdqu (vmovdqu8..64)
      MA access = i.op == 0x6f ? MA::read : MA::write;
      if (i.pp == Pp::none && i.vector == 0) return done(out, 8, access);
      if (i.pp == Pp::pf2 && i.vector != 2) return false;
      return done(out, vec, access);
    }
    case 0xe7: return done(out, sse ? vec : 8, MA::write);         // movntq/movntdq
    case 0x70: return done(out, sse || i.pp != Pp::none ? vec : 8, MA::read);  // pshufd/hw/lw/w
    default: break;
  }
  // Integer SIMD ops reading their memory operand whole (pcmpeq, pminub, pxor, padd...).
  std::uint8_t op = i.op;
  bool integer = (op >= 0x60 && op <= 0x6d) || (op >= 0x74 && op <= 0x76) ||
                 (op >= 0xd1 && op <= 0xfe && op != 0xd6 && op != 0xd7 && op != 0xe6 && op != 0xe7 && op != 0xf7);
  if (!integer || i.pp == Pp::pf2 || i.pp == Pp::pf3) return false;
  if (i.vector == 2 && i.broadcast) return done(out, i.rex_w ? 8 : 4, MA::read);
  return done(out, sse ? vec : 8, MA::read);
}

bool map_0f(const Insn& i, DecodedAccess* out) {
  std::uint8_t op = i.op;
  if (i.vector == 0) {
    if (op >= 0x40 && op <= 0x4f) return done(out, int_size(i), MA::read);          // cmovcc
    switch (op) {
      case 0xaf: return done(out, int_size(i), MA::read);                            // imul
      case 0xb6: case 0xbe: return done(out, 1, MA::read);                           // movzx/movsx m8
      case 0xb7: case 0xbf: return done(out, 2, MA::read);                           // m16
      case 0xb0: case 0xc0: return done(out, 1, MA::read_write);                     // cmpxchg/xadd
      case 0xb1: case 0xc1: return done(out, int_size(i), MA::read_write);
      case 0xb8: case 0xbc: case 0xbd: return done(out, int_size(i), MA::read);      // popcnt/tzcnt/lzcnt
      case 0xc7: return reg_field(i) == 1 && done(out, i.rex_w ? 16 : 8, MA::read_write);  // cmpxchg8b/16b
      default: break;
    }
  }
  return map_0f_vector(i, out);
}

bool map_0f38(const Insn& i, DecodedAccess* out) {
  std::uint8_t op = i.op;
  const std::size_t vec = i.vlen;
  if (i.vector == 0 && (op == 0xf0 || op == 0xf1)) {
    if (i.pp == Pp::pf2) return done(out, op == 0xf0 ? 1 : int_size(i), MA::read);  // crc32
    return done(out, int_size(i), op == 0xf0 ? MA::read : MA::write);             // movbe
  }
  bool sse = i.pp == Pp::p66;
  if (!sse) return false;  // the 0F38 SIMD ops all carry 66 (MMX forms left out)
  if ((op >= 0x20 && op <= 0x25) || (op >= 0x30 && op <= 0x35)) {                 // pmovsx/pmovzx
    static constexpr std::size_t kDivisor[] = {2, 4, 8, 2, 4, 2};
    return done(out, vec / kDivisor[op & 7], MA::read);
  }
  if (i.vector > 0) {
    switch (op) {
      case 0x18: case 0x58: return done(out, 4, MA::read);                          // broadcast d
      case 0x19: case 0x59: return done(out, 8, MA::read);                          // broadcast q
      case 0x1a: case 0x5a: return done(out, 16, MA::read);                         // broadcast 128
      case 0x1b: case 0x5b: return i.vector == 2 && done(out, 32, MA::read);        // broadcast 256
      case 0x78: return done(out, 1, MA::read);                                     // vpbroadcastb
      case 0x79: return done(out, 2, MA::read);                                     // vpbroadcastw
      case 0x2c: case 0x2d: case 0x8c: return i.vector == 1 && done(out, vec, MA::read);   // maskmov load
      case 0x2e: case 0x2f: case 0x8e: return i.vector == 1 && done(out, vec, MA::write);  // maskmov store
      default: break;
    }
  }
  bool whole = op <= 0x0b || (op >= 0x1c && op <= 0x1e) || op == 0x17 || (op >= 0x26 && op <= 0x2b) ||
               (op >= 0x37 && op <= 0x40);
  if (!whole) return false;
  if (i.vector == 2 && i.broadcast) return done(out, i.rex_w ? 8 : 4, MA::read);
  return done(out, vec, MA::read);
}

bool map_0f3a(const Insn& i, DecodedAccess* out) {
  if (i.pp != Pp::p66) return false;
  const std::size_t vec = i.vlen;
  switch (i.op) {
    case 0x14: return done(out, 1, MA::write);                        // pextrb
    case 0x15: return done(out, 2, MA::write);                        // pextrw
    case 0x16: return done(out, i.rex_w ? 8 : 4, MA::write);          // pextrd/q
    case 0x17: return done(out, 4, MA::write);                        // extractps
    case 0x20: return done(out, 1, MA::read);                         // pinsrb
    case 0x21: return done(out, 4, MA::read);                         // insertps
    case 0x22: return done(out, i.rex_w ? 8 : 4, MA::read);           // pinsrd/q
    case 0x60: case 0x61: case 0x62: case 0x63: return done(out, 16, MA::read);  // pcmp(e/i)str(i/m)
    case 0x0c: case 0x0d: case 0x0e: case 0x0f: return done(out, vec, MA::read);  // blend, palignr
    case 0x18: case 0x38: return i.vector > 0 && done(out, 16, MA::read);   // vinsert*128
    case 0x19: case 0x39: return i.vector > 0 && done(out, 16, MA::write);  // vextract*128
    case 0x1a: case 0x3a: return i.vector == 2 && done(out, 32, MA::read);  // vinsert*x8
    case 0x1b: case 0x3b: return i.vector == 2 && done(out, 32, MA::write); // vextract*x8
    case 0x1e: case 0x1f: case 0x3e: case 0x3f:                              // vpcmp(u)b/w/d/q
      if (i.vector != 2) return false;
      if (i.broadcast) return done(out, i.rex_w ? 8 : 4, MA::read);
      return done(out, vec, MA::read);
    default: return false;
  }
}

Pp pp_from_bits(std::uint8_t bits) { return static_cast<Pp>(bits & 3); }

// Legacy prefixes, then an optional REX; *b is the byte after them.
bool read_prefixes(Cursor& c, Insn& i, std::uint8_t* b) {
  bool f2 = false, f3 = false;
  for (;;) {
    if (!c.next(b)) return false;
    if (*b == 0x66) {
      i.opsize = true;
    } else if (*b == 0xf2) {
      f2 = true, f3 = false;
    } else if (*b == 0xf3) {
      f3 = true, f2 = false;
    } else if (*b == 0x67 || *b == 0xf0 || *b == 0x2e || *b == 0x36 || *b == 0x3e || *b == 0x26 || *b == 0x64 ||
               *b == 0x65) {
      // address size, lock, segments: no effect on the operand size
    } else {
      break;
    }
  }
  i.rep = f2 || f3;
  i.pp = f2 ? Pp::pf2 : f3 ? Pp::pf3 : i.opsize ? Pp::p66 : Pp::none;
  if ((*b & 0xf0) == 0x40) {
    i.rex_w = (*b & 8) != 0;
    if (!c.next(b)) return false;
  }
  return true;
}

bool decode_in_map(const Insn& i, DecodedAccess* out) {
  switch (i.map) {
    case Map::x0f: return map_0f(i, out);
    case Map::x0f38: return map_0f38(i, out);
    case Map::x0f3a: return map_0f3a(i, out);
    default: return false;
  }
}

// VEX (first byte 0xC5 or 0xC4) and EVEX (0x62) instructions.
bool decode_vex(Cursor& c, Insn& i, std::uint8_t first, DecodedAccess* out) {
  std::uint8_t p0 = 0, p1 = 0, p2 = 0;
  if (!c.next(&p0)) return false;
  if (first == 0xc5) {
    i.map = Map::x0f;
    i.pp = pp_from_bits(p0);
    i.vlen = (p0 & 4) != 0 ? 32 : 16;
    i.vector = 1;
  } else {
    if (!c.next(&p1)) return false;
    std::uint8_t map = first == 0x62 ? (p0 & 7) : (p0 & 31);
    if (map < 1 || map > 3) return false;
    i.map = static_cast<Map>(map);
    i.rex_w = (p1 & 0x80) != 0;
    i.pp = pp_from_bits(p1);
    if (first == 0xc4) {
      i.vlen = (p1 & 4) != 0 ? 32 : 16;
      i.vector = 1;
    } else {
      if (!c.next(&p2)) return false;
      unsigned ll = (p2 >> 5) & 3;
      if (ll == 3) return false;
      i.vlen = std::size_t{16} << ll;
      i.broadcast = (p2 & 0x10) != 0;
      i.vector = 2;
    }
  }
  i.opsize = false;
  if (!c.next(&i.op) || !c.next(&i.modrm)) return false;
  if ((i.modrm >> 6) == 3) return false;  // register operands only
  return decode_in_map(i, out);
}

// Legacy two- and three-byte opcodes (0F, 0F 38, 0F 3A), after the 0F.
bool decode_escaped(Cursor& c, Insn& i, DecodedAccess* out) {
  std::uint8_t b = 0;
  if (!c.next(&b)) return false;
  if (b == 0x38 || b == 0x3a) {
    i.map = b == 0x38 ? Map::x0f38 : Map::x0f3a;
    if (!c.next(&b)) return false;
  } else {
    i.map = Map::x0f;
  }
  i.op = b;
  if (!c.next(&i.modrm) || (i.modrm >> 6) == 3) return false;
  return decode_in_map(i, out);
}

// One-byte forms without ModRM: the stack, absolute moves and the string instructions.
// False when i.op is none of them.
bool without_modrm(const Insn& i, DecodedAccess* out) {
  const std::uint8_t b = i.op;
  if (b >= 0x50 && b <= 0x57) return done(out, stack_size(i), MA::write);  // push r
  if (b >= 0x58 && b <= 0x5f) return done(out, stack_size(i), MA::read);   // pop r
  switch (b) {
    case 0x68: case 0x6a: case 0x9c: case 0xe8: return done(out, 8, MA::write);  // push imm, pushf, call
    case 0x9d: case 0xc2: case 0xc3: case 0xc9: return done(out, 8, MA::read);   // popf, ret, leave
    case 0xa0: return done(out, 1, MA::read);                                     // mov al, moffs
    case 0xa1: return done(out, int_size(i), MA::read);
    case 0xa2: return done(out, 1, MA::write);
    case 0xa3: return done(out, int_size(i), MA::write);
    case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf: {
      static constexpr MA kAccess[] = {MA::read_write, MA::read_write, MA::read, MA::read, MA::unknown,
                                       MA::unknown,    MA::write,      MA::write, MA::read, MA::read,
                                       MA::read,       MA::read};
      out->string_op = true;
      out->repeated = i.rep;
      return done(out, (b & 1) != 0 ? int_size(i) : 1, kAccess[b - 0xa4]);
    }
    default: return false;
  }
}

}  // namespace

bool decode_x86_access(const std::uint8_t* code, std::size_t available, DecodedAccess* out) {
  Cursor c(code, available);
  Insn i;
  std::uint8_t b = 0;
  if (!read_prefixes(c, i, &b)) return false;
  if (b == 0xc5 || b == 0xc4 || b == 0x62) return decode_vex(c, i, b, out);
  if (b == 0x0f) return decode_escaped(c, i, out);
  i.op = b;
  if (without_modrm(i, out)) return true;
  if (!c.next(&i.modrm) || (i.modrm >> 6) == 3) return false;
  return one_byte_modrm(i, out);
}

#else

bool decode_x86_access(const std::uint8_t*, std::size_t, DecodedAccess*) { return false; }

#endif

}  // namespace dbgalloc::report
