// .eh_frame reader: see eh_frame.hpp. References: LSB "Exception Frames" (eh_frame and
// eh_frame_hdr), DWARF 4 section 6.4 (call frame instructions).
#include "stacks/eh_frame.hpp"

#include <link.h>

#include <cstddef>
#include <cstring>

#include "platform/loader.hpp"

namespace dbgalloc::stacks {

namespace {

// DW_EH_PE pointer encodings.
constexpr std::uint8_t kPeOmit = 0xff;
constexpr std::uint8_t kPeFormatMask = 0x0f;
constexpr std::uint8_t kPeAbsptr = 0x00, kPeUleb128 = 0x01, kPeUdata2 = 0x02, kPeUdata4 = 0x03,
                       kPeUdata8 = 0x04, kPeSleb128 = 0x09, kPeSdata2 = 0x0a, kPeSdata4 = 0x0b,
                       kPeSdata8 = 0x0c;
constexpr std::uint8_t kPeApplMask = 0x70, kPePcrel = 0x10, kPeDatarel = 0x30;
constexpr std::uint8_t kPeIndirect = 0x80;

// x86-64 DWARF register numbers.
constexpr unsigned kRegRbp = 6, kRegRsp = 7, kRegRa = 16;

// A bounded reader: every read past `end` fails the whole parse.
struct Reader {
  const std::uint8_t* p;
  const std::uint8_t* end;
  bool ok = true;

  bool need(std::size_t n) {
    if (!ok || static_cast<std::size_t>(end - p) < n) ok = false;
    return ok;
  }
  template <typename T>
  T fixed() {
    T value{};
    if (need(sizeof(T))) {
      std::memcpy(&value, p, sizeof(T));
      p += sizeof(T);
    }
    return value;
  }
  std::uint64_t uleb() {
    std::uint64_t value = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (!need(1) || shift > 63) return ok = false, 0;
      std::uint8_t byte = *p++;
      value |= std::uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return value;
    }
  }
  std::int64_t sleb() {
    std::uint64_t value = 0;
    unsigned shift = 0;
    std::uint8_t byte = 0;
    do {
      if (!need(1) || shift > 63) return ok = false, 0;
      byte = *p++;
      value |= std::uint64_t{byte & 0x7fu} << shift;
      shift += 7;
    } while (byte & 0x80);
    if (shift < 64 && (byte & 0x40)) value |= ~std::uint64_t{0} << shift;
    return static_cast<std::int64_t>(value);
  }
  // Reads a DW_EH_PE-encoded pointer. `data_base` serves DW_EH_PE_datarel.
  std::uintptr_t encoded(std::uint8_t encoding, std::uintptr_t data_base = 0) {
    if (encoding == kPeOmit) return 0;
    auto here = reinterpret_cast<std::uintptr_t>(p);
    std::uint64_t value = 0;
    switch (encoding & kPeFormatMask) {
      case kPeAbsptr: value = fixed<std::uint64_t>(); break;
      case kPeUleb128: value = uleb(); break;
      case kPeUdata2: value = fixed<std::uint16_t>(); break;
      case kPeUdata4: value = fixed<std::uint32_t>(); break;
      case kPeUdata8: value = fixed<std::uint64_t>(); break;
      case kPeSleb128: value = static_cast<std::uint64_t>(sleb()); break;
      case kPeSdata2: value = static_cast<std::uint64_t>(std::int64_t{fixed<std::int16_t>()}); break;
      case kPeSdata4: value = static_cast<std::uint64_t>(std::int64_t{fixed<std::int32_t>()}); break;
      case kPeSdata8: value = fixed<std::uint64_t>(); break;
      default: ok = false; return 0;
    }
    switch (encoding & kPeApplMask) {
      case 0: break;
      case kPePcrel: value += here; break;
      case kPeDatarel:
        if (data_base == 0) ok = false;
        value += data_base;
        break;
      default: ok = false; return 0;
    }
    // Indirect pointers only occur for personality routines, whose value we skip.
    if (encoding & kPeIndirect) value = 0;
    return value;
  }
};

// The register rules we track; every other register's rule is parsed and ignored.
enum class RegRule : std::uint8_t { same, undefined, offset, other };
struct RowState {
  unsigned cfa_reg = kRegRsp;
  std::int64_t cfa_offset = 8;
  bool cfa_expression = false;
  RegRule rbp = RegRule::same;
  std::int64_t rbp_offset = 0;
  // Every x86-64 CIE sets the return address rule; without it libgcc's answer depends
  // on register state we do not track, so the row stays unsupported.
  RegRule ra = RegRule::same;
  std::int64_t ra_offset = 0;
};

struct Cie {
  std::uint64_t code_align = 1;
  std::int64_t data_align = -8;
  std::uint64_t ra_register = kRegRa;
  std::uint8_t fde_encoding = kPeAbsptr;
  bool has_augmentation_data = false;
  bool signal_frame = false;
  const std::uint8_t* instructions = nullptr;
  const std::uint8_t* end = nullptr;
};

struct Module {
  const std::uint8_t* eh_frame_hdr = nullptr;
  bool found = false;
};

// DBGALLOC_STACKS_FORCE_DL_ITERATE_PHDR lets a test build the older-glibc path here.
#if !defined(DBGALLOC_STACKS_FORCE_DL_ITERATE_PHDR) && defined(DBGALLOC_HAVE_DL_FIND_OBJECT)
Module find_module(std::uintptr_t address) {
  const void* eh_frame_hdr = nullptr;
  if (!platform::find_module_unwind_table(address, &eh_frame_hdr)) return {};
  return {static_cast<const std::uint8_t*>(eh_frame_hdr), true};
}
#else
struct PhdrSearch {
  std::uintptr_t address;
  Module module;
};
int phdr_callback(dl_phdr_info* info, std::size_t, void* data) {
  auto* search = static_cast<PhdrSearch*>(data);
  const ElfW(Phdr)* eh_frame_hdr = nullptr;
  bool inside = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = info->dlpi_phdr[i];
    std::uintptr_t start = info->dlpi_addr + phdr.p_vaddr;
    if (phdr.p_type == PT_LOAD && search->address >= start && search->address < start + phdr.p_memsz)
      inside = true;
    if (phdr.p_type == PT_GNU_EH_FRAME) eh_frame_hdr = &phdr;
  }
  if (!inside) return 0;
  search->module.found = true;
  if (eh_frame_hdr != nullptr)
    search->module.eh_frame_hdr =
        reinterpret_cast<const std::uint8_t*>(info->dlpi_addr + eh_frame_hdr->p_vaddr);
  return 1;
}
Module find_module(std::uintptr_t address) {
  PhdrSearch search{address, {}};
  platform::for_each_module(phdr_callback, &search);
  return search.module;
}
#endif

// Finds the FDE covering `target` through the .eh_frame_hdr binary search table.
const std::uint8_t* find_fde(const std::uint8_t* hdr, std::uintptr_t target) {
  Reader r{hdr, hdr + 12};
  auto version = r.fixed<std::uint8_t>();
  auto eh_frame_ptr_encoding = r.fixed<std::uint8_t>();
  auto count_encoding = r.fixed<std::uint8_t>();
  auto table_encoding = r.fixed<std::uint8_t>();
  // The table is, in every linker we know, pairs of 4-byte offsets from the header.
  if (!r.ok || version != 1 || table_encoding != (kPeDatarel | kPeSdata4) || count_encoding == kPeOmit)
    return nullptr;
  r.end = hdr + 64;
  auto base = reinterpret_cast<std::uintptr_t>(hdr);
  r.encoded(eh_frame_ptr_encoding, base);
  std::uint64_t count = r.encoded(count_encoding, base);
  if (!r.ok || count == 0) return nullptr;
  const auto* table = reinterpret_cast<const std::int32_t*>(r.p);
  std::uint64_t lo = 0, hi = count;  // find the last entry with start <= target
  while (hi - lo > 1) {
    std::uint64_t mid = lo + (hi - lo) / 2;
    if (base + static_cast<std::intptr_t>(table[2 * mid]) <= target) lo = mid; else hi = mid;
  }
  if (base + static_cast<std::intptr_t>(table[2 * lo]) > target) return nullptr;
  return reinterpret_cast<const std::uint8_t*>(base + static_cast<std::intptr_t>(table[2 * lo + 1]));
}

// Reads an entry's length; sets `body` to what follows it and returns the entry's end.
const std::uint8_t* entry_end(const std::uint8_t* entry, const std::uint8_t** body) {
  std::uint32_t length32 = 0;
  std::memcpy(&length32, entry, 4);
  if (length32 == 0) return nullptr;
  if (length32 == 0xffffffffu) {
    std::uint64_t length64 = 0;
    std::memcpy(&length64, entry + 4, 8);
    *body = entry + 12;
    return *body + length64;
  }
  *body = entry + 4;
  return *body + length32;
}

bool parse_cie(const std::uint8_t* entry, Cie* cie) {
  const std::uint8_t* body = nullptr;
  const std::uint8_t* end = entry_end(entry, &body);
  if (end == nullptr) return false;
  Reader r{body, end};
  if (r.fixed<std::uint32_t>() != 0) return false;  // CIE id is 0 in .eh_frame
  auto version = r.fixed<std::uint8_t>();
  if (version != 1 && version != 3) return false;
  const char* augmentation = reinterpret_cast<const char*>(r.p);
  while (r.need(1) && *r.p != 0) ++r.p;
  r.fixed<std::uint8_t>();
  if (augmentation[0] != 0 && augmentation[0] != 'z') return false;  // e.g. ancient "eh"
  cie->code_align = r.uleb();
  cie->data_align = r.sleb();
  cie->ra_register = version == 1 ? r.fixed<std::uint8_t>() : r.uleb();
  if (augmentation[0] == 'z') {
    cie->has_augmentation_data = true;
    std::uint64_t length = r.uleb();
    const std::uint8_t* data_end = r.p + length;
    for (const char* a = augmentation + 1; *a != 0 && r.ok; ++a) {
      switch (*a) {
        case 'L': r.fixed<std::uint8_t>(); break;
        case 'R': cie->fde_encoding = r.fixed<std::uint8_t>(); break;
        case 'P': r.encoded(r.fixed<std::uint8_t>()); break;
        case 'S': cie->signal_frame = true; break;
        case 'B': case 'G': break;
        default: return false;
      }
    }
    if (!r.ok || data_end > end) return false;
    r.p = data_end;
  }
  cie->instructions = r.p;
  cie->end = end;
  return r.ok;
}

// A CFA program being run up to the row that covers `target`.
class CfaProgram {
 public:
  enum class Next { go_on, reached, unsupported };

  CfaProgram(Reader r, const Cie& cie, std::uintptr_t location, std::uintptr_t target, RowState* row,
             const RowState& initial)
      : r_(r), cie_(cie), location_(location), target_(target), row_(*row), initial_(initial) {}

  // False when the program uses something the rule format cannot follow.
  bool run() {
    while (r_.ok && r_.p < r_.end) {
      std::uint8_t op = r_.fixed<std::uint8_t>();
      Next next = op >> 6 != 0 ? primary(op >> 6, op & 0x3f) : extended(op);
      if (next == Next::reached) return true;
      if (next == Next::unsupported) return false;
    }
    return r_.ok;
  }

 private:
  void set_rule(std::uint64_t reg, RegRule rule, std::int64_t offset) {
    if (reg == kRegRbp) row_.rbp = rule, row_.rbp_offset = offset;
    if (reg == cie_.ra_register) row_.ra = rule, row_.ra_offset = offset;
  }
  void restore_rule(std::uint64_t reg) {
    if (reg == kRegRbp) row_.rbp = initial_.rbp, row_.rbp_offset = initial_.rbp_offset;
    if (reg == cie_.ra_register) row_.ra = initial_.ra, row_.ra_offset = initial_.ra_offset;
  }
  Next advance(std::uint64_t delta) {
    location_ += delta * cie_.code_align;
    return location_ <= target_ ? Next::go_on : Next::reached;
  }
  void def_cfa(std::uint64_t reg, std::int64_t offset) {
    row_.cfa_reg = static_cast<unsigned>(reg);
    row_.cfa_offset = offset;
    row_.cfa_expression = false;
  }
  void skip_block() {
    auto n = r_.uleb();
    if (r_.need(n)) r_.p += n;
  }
  std::int64_t factored_uleb() { return static_cast<std::int64_t>(r_.uleb()) * cie_.data_align; }

  // The three opcodes with an operand in their low six bits.
  Next primary(unsigned high, std::uint8_t low) {
    switch (high) {
      case 1: return advance(low);
      case 2: set_rule(low, RegRule::offset, factored_uleb()); return Next::go_on;
      default: restore_rule(low); return Next::go_on;
    }
  }

  Next extended(std::uint8_t op) {
    switch (op) {
      case 0x00: return Next::go_on;  // nop
      case 0x01: location_ = r_.encoded(cie_.fde_encoding); return location_ > target_ ? Next::reached : Next::go_on;
      case 0x02: return advance(r_.fixed<std::uint8_t>());
      case 0x03: return advance(r_.fixed<std::uint16_t>());
      case 0x04: return advance(r_.fixed<std::uint32_t>());
      case 0x0a: case 0x0b: return remember_or_restore(op == 0x0a);
      case 0x0c: { auto reg = r_.uleb(); def_cfa(reg, static_cast<std::int64_t>(r_.uleb())); return Next::go_on; }
      case 0x0d: def_cfa(r_.uleb(), row_.cfa_offset); return Next::go_on;
      case 0x0e: row_.cfa_offset = static_cast<std::int64_t>(r_.uleb()); return Next::go_on;
      case 0x0f: row_.cfa_expression = true; skip_block(); return Next::go_on;
      case 0x12: { auto reg = r_.uleb(); def_cfa(reg, r_.sleb() * cie_.data_align); return Next::go_on; }
      case 0x13: row_.cfa_offset = r_.sleb() * cie_.data_align; return Next::go_on;
      case 0x2e: r_.uleb(); return Next::go_on;  // GNU_args_size: no effect on the CFA rule
      default: return register_rule(op);
    }
  }

  // Opcodes that set one register's rule.
  Next register_rule(std::uint8_t op) {
    auto reg = r_.uleb();
    switch (op) {
      case 0x05: set_rule(reg, RegRule::offset, factored_uleb()); break;
      case 0x06: restore_rule(reg); break;
      case 0x07: set_rule(reg, RegRule::undefined, 0); break;
      case 0x08: set_rule(reg, RegRule::same, 0); break;
      case 0x09: case 0x14: r_.uleb(); set_rule(reg, RegRule::other, 0); break;  // register, val_offset
      case 0x10: case 0x16: skip_block(); set_rule(reg, RegRule::other, 0); break;  // expression, val_expression
      case 0x11: set_rule(reg, RegRule::offset, r_.sleb() * cie_.data_align); break;
      case 0x15: r_.sleb(); set_rule(reg, RegRule::other, 0); break;  // val_offset_sf
      case 0x2f: set_rule(reg, RegRule::offset, -factored_uleb()); break;  // GNU_negative_offset_extended
      default: return Next::unsupported;  // unknown or vendor opcode: let libgcc decide
    }
    return Next::go_on;
  }

  // The remembered row includes the CFA rule, as in DWARF and libgcc.
  Next remember_or_restore(bool remember) {
    if (remember) {
      if (depth_ == kStackDepth) return Next::unsupported;
      remembered_[depth_++] = row_;
    } else {
      if (depth_ == 0) return Next::unsupported;
      row_ = remembered_[--depth_];
    }
    return Next::go_on;
  }

  static constexpr int kStackDepth = 8;
  Reader r_;
  const Cie& cie_;
  std::uintptr_t location_;
  std::uintptr_t target_;
  RowState& row_;
  const RowState& initial_;
  RowState remembered_[kStackDepth];
  int depth_ = 0;
};

// Runs CFA instructions until the row that covers `target` is reached.
bool run_program(Reader r, const Cie& cie, std::uintptr_t location, std::uintptr_t target,
                 RowState* row, const RowState& initial) {
  return CfaProgram(r, cie, location, target, row, initial).run();
}

bool fits_in_int8_units(std::int64_t offset, std::int8_t* out) {
  if (offset % 8 != 0 || offset / 8 < -128 || offset / 8 > 127) return false;
  *out = static_cast<std::int8_t>(offset / 8);
  return true;
}

}  // namespace

UnwindRule find_unwind_rule(std::uintptr_t pc) {
  UnwindRule unsupported;
  UnwindRule end_of_stack;
  end_of_stack.kind = UnwindRule::end_of_stack;
  std::uintptr_t target = pc - 1;
  Module module = find_module(target);
  // Outside every module (JIT code, garbage): libgcc ends the walk there too.
  if (!module.found) return end_of_stack;
  // Inside a module but without CFI: libgcc may still recognise a sigreturn trampoline.
  if (module.eh_frame_hdr == nullptr) return unsupported;
  const std::uint8_t* fde = find_fde(module.eh_frame_hdr, target);
  if (fde == nullptr) return unsupported;

  const std::uint8_t* body = nullptr;
  const std::uint8_t* end = entry_end(fde, &body);
  if (end == nullptr) return unsupported;
  std::uint32_t cie_offset = 0;
  std::memcpy(&cie_offset, body, 4);
  if (cie_offset == 0) return unsupported;  // that is a CIE, not an FDE
  Cie cie;
  if (!parse_cie(body - cie_offset, &cie) || cie.signal_frame) return unsupported;

  Reader r{body + 4, end};
  std::uintptr_t pc_begin = r.encoded(cie.fde_encoding);
  std::uintptr_t pc_range = r.encoded(cie.fde_encoding & kPeFormatMask);
  if (!r.ok || target < pc_begin || target - pc_begin >= pc_range) return unsupported;
  if (cie.has_augmentation_data) {
    std::uint64_t length = r.uleb();
    if (!r.need(length)) return unsupported;
    r.p += length;
  }

  RowState row;
  RowState none;
  if (!run_program(Reader{cie.instructions, cie.end}, cie, pc_begin, ~std::uintptr_t{0}, &row, none))
    return unsupported;
  RowState initial = row;
  if (!run_program(r, cie, pc_begin, target, &row, initial)) return unsupported;

  if (row.ra == RegRule::undefined) return end_of_stack;
  if (row.cfa_expression || (row.cfa_reg != kRegRsp && row.cfa_reg != kRegRbp)) return unsupported;
  if (row.cfa_offset < INT32_MIN || row.cfa_offset > INT32_MAX) return unsupported;
  UnwindRule rule;
  rule.kind = UnwindRule::frame;
  rule.cfa_from_rbp = row.cfa_reg == kRegRbp;
  rule.cfa_offset = static_cast<std::int32_t>(row.cfa_offset);
  if (row.ra != RegRule::offset || !fits_in_int8_units(row.ra_offset, &rule.ra_offset8))
    return unsupported;
  if (row.rbp == RegRule::offset) {
    if (!fits_in_int8_units(row.rbp_offset, &rule.rbp_offset8) || rule.rbp_offset8 == 0)
      return unsupported;
  } else if (row.rbp != RegRule::same) {
    return unsupported;
  }
  return rule;
}

}  // namespace dbgalloc::stacks
