// The fault report's instruction decoder, on real encodings: each case is assembled by
// the assembler from its mnemonic (into .rodata, never run), and decoding it must give
// the operand size and access the mnemonic means.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "report/x86_access.hpp"

#if defined(__x86_64__)

#define CASE(name, text) #name ": " text "\n"
// clang-format off
asm(".pushsection .rodata\n"
    CASE(x86_movb_load, "movb (%rdi), %al")
    CASE(x86_movb_store, "movb %al, 1(%rdi)")
    CASE(x86_movw_store, "movw %ax, (%rdi)")
    CASE(x86_movl_load, "movl 12(%rsi,%rcx,4), %eax")
    CASE(x86_movq_load, "movq (%rdi), %rax")
    CASE(x86_movq_store_r9, "movq %r9, -8(%r12)")
    CASE(x86_movb_imm_store, "movb $1, (%rdi)")
    CASE(x86_movq_imm_store, "movq $5, 0x100(%rdi)")
    CASE(x86_movzbl, "movzbl (%rdi), %eax")
    CASE(x86_movzwl, "movzwl 2(%rdi), %eax")
    CASE(x86_movsbq, "movsbq (%rdi), %rax")
    CASE(x86_movswl, "movswl (%rdi), %ecx")
    CASE(x86_movslq, "movslq (%rdi), %rax")
    CASE(x86_cmpb_imm, "cmpb $0, (%rdi)")
    CASE(x86_cmpq_reg, "cmpq %rax, (%rdi)")
    CASE(x86_cmpl_load, "cmpl (%rdi), %eax")
    CASE(x86_addl_rmw, "addl %eax, (%rdi)")
    CASE(x86_incq_rmw, "incq (%rdi)")
    CASE(x86_testb, "testb $1, (%rdi)")
    CASE(x86_fs_load, "movq %fs:0x28, %rax")
    CASE(x86_lock_xadd, "lock xaddl %eax, (%rdi)")
    CASE(x86_cmpxchg16b, "lock cmpxchg16b (%rdi)")
    CASE(x86_push, "pushq %rbp")
    CASE(x86_call_mem, "call *8(%rax)")
    CASE(x86_rep_movsb, "rep movsb")
    CASE(x86_rep_stosq, "rep stosq")
    CASE(x86_repe_cmpsb, "repe cmpsb")
    CASE(x86_movsl, "movsl")
    CASE(x86_movups_load, "movups (%rsi), %xmm0")
    CASE(x86_movdqu_store, "movdqu %xmm1, (%rdi)")
    CASE(x86_movdqa_load, "movdqa 16(%rsi), %xmm2")
    CASE(x86_movss_load, "movss (%rdi), %xmm0")
    CASE(x86_movsd_store, "movsd %xmm0, (%rdi)")
    CASE(x86_movq_xmm_load, "movq (%rdi), %xmm0")
    CASE(x86_movd_store, "movd %xmm0, (%rdi)")
    CASE(x86_pcmpeqb, "pcmpeqb (%rdi), %xmm0")
    CASE(x86_pminub, "pminub 16(%rdi), %xmm1")
    CASE(x86_pcmpistri, "pcmpistri $0x1a, (%rdi), %xmm0")
    CASE(x86_vmovdqu_ymm_load, "vmovdqu (%rsi), %ymm0")
    CASE(x86_vmovdqu_xmm_store, "vmovdqu %xmm8, (%rdi)")
    CASE(x86_vmovups_ymm_store, "vmovups %ymm1, 32(%rdi)")
    CASE(x86_vpcmpeqb_ymm, "vpcmpeqb (%rdi), %ymm0, %ymm1")
    CASE(x86_vpbroadcastb, "vpbroadcastb (%rdi), %ymm0")
    CASE(x86_vmovdqu64_ymm16, "vmovdqu64 (%rsi), %ymm16")
    CASE(x86_vmovdqu8_zmm_store, "vmovdqu8 %zmm17, (%rdi)")
    CASE(x86_vpcmpb_evex, "vpcmpb $0, (%rdi), %ymm16, %k0")
    CASE(x86_vpminub_evex, "vpminub 32(%rdi), %ymm17, %ymm18")
    CASE(x86_vpcmpeqd_bcst, "vpcmpeqd (%rdi){1to16}, %zmm0, %k1")
    CASE(x86_lea, "leaq 8(%rdi), %rax")
    CASE(x86_reg_only, "movq %rax, %rbx")
    CASE(x86_fld, "fldt (%rdi)")
    ".popsection\n");
// clang-format on

#define DECLARE(name) extern "C" const std::uint8_t name[];
DECLARE(x86_movb_load) DECLARE(x86_movb_store) DECLARE(x86_movw_store) DECLARE(x86_movl_load)
DECLARE(x86_movq_load) DECLARE(x86_movq_store_r9) DECLARE(x86_movb_imm_store) DECLARE(x86_movq_imm_store)
DECLARE(x86_movzbl) DECLARE(x86_movzwl) DECLARE(x86_movsbq) DECLARE(x86_movswl) DECLARE(x86_movslq)
DECLARE(x86_cmpb_imm) DECLARE(x86_cmpq_reg) DECLARE(x86_cmpl_load) DECLARE(x86_addl_rmw) DECLARE(x86_incq_rmw)
DECLARE(x86_testb) DECLARE(x86_fs_load) DECLARE(x86_lock_xadd) DECLARE(x86_cmpxchg16b) DECLARE(x86_push)
DECLARE(x86_call_mem) DECLARE(x86_rep_movsb) DECLARE(x86_rep_stosq) DECLARE(x86_repe_cmpsb) DECLARE(x86_movsl)
DECLARE(x86_movups_load) DECLARE(x86_movdqu_store) DECLARE(x86_movdqa_load) DECLARE(x86_movss_load)
DECLARE(x86_movsd_store) DECLARE(x86_movq_xmm_load) DECLARE(x86_movd_store) DECLARE(x86_pcmpeqb)
DECLARE(x86_pminub) DECLARE(x86_pcmpistri) DECLARE(x86_vmovdqu_ymm_load) DECLARE(x86_vmovdqu_xmm_store)
DECLARE(x86_vmovups_ymm_store) DECLARE(x86_vpcmpeqb_ymm) DECLARE(x86_vpbroadcastb) DECLARE(x86_vmovdqu64_ymm16)
DECLARE(x86_vmovdqu8_zmm_store) DECLARE(x86_vpcmpb_evex) DECLARE(x86_vpminub_evex) DECLARE(x86_vpcmpeqd_bcst)
DECLARE(x86_lea) DECLARE(x86_reg_only) DECLARE(x86_fld)

namespace {

using dbgalloc::report::decode_x86_access;
using dbgalloc::report::DecodedAccess;
using dbgalloc::report::kMaxInstructionBytes;
using MA = dbgalloc::report::MemoryAccess;

struct Expect {
  const char* text;
  const std::uint8_t* code;
  std::size_t size;
  MA access;
};

const Expect kKnown[] = {
    {"movb (%rdi), %al", x86_movb_load, 1, MA::read},
    {"movb %al, 1(%rdi)", x86_movb_store, 1, MA::write},
    {"movw %ax, (%rdi)", x86_movw_store, 2, MA::write},
    {"movl 12(%rsi,%rcx,4), %eax", x86_movl_load, 4, MA::read},
    {"movq (%rdi), %rax", x86_movq_load, 8, MA::read},
    {"movq %r9, -8(%r12)", x86_movq_store_r9, 8, MA::write},
    {"movb $1, (%rdi)", x86_movb_imm_store, 1, MA::write},
    {"movq $5, 0x100(%rdi)", x86_movq_imm_store, 8, MA::write},
    {"movzbl (%rdi), %eax", x86_movzbl, 1, MA::read},
    {"movzwl 2(%rdi), %eax", x86_movzwl, 2, MA::read},
    {"movsbq (%rdi), %rax", x86_movsbq, 1, MA::read},
    {"movswl (%rdi), %ecx", x86_movswl, 2, MA::read},
    {"movslq (%rdi), %rax", x86_movslq, 4, MA::read},
    {"cmpb $0, (%rdi)", x86_cmpb_imm, 1, MA::read},
    {"cmpq %rax, (%rdi)", x86_cmpq_reg, 8, MA::read},
    {"cmpl (%rdi), %eax", x86_cmpl_load, 4, MA::read},
    {"addl %eax, (%rdi)", x86_addl_rmw, 4, MA::read_write},
    {"incq (%rdi)", x86_incq_rmw, 8, MA::read_write},
    {"testb $1, (%rdi)", x86_testb, 1, MA::read},
    {"movq %fs:0x28, %rax", x86_fs_load, 8, MA::read},
    {"lock xaddl %eax, (%rdi)", x86_lock_xadd, 4, MA::read_write},
    {"lock cmpxchg16b (%rdi)", x86_cmpxchg16b, 16, MA::read_write},
    {"pushq %rbp", x86_push, 8, MA::write},
    {"call *8(%rax)", x86_call_mem, 8, MA::read},
    {"rep movsb", x86_rep_movsb, 1, MA::read_write},
    {"rep stosq", x86_rep_stosq, 8, MA::write},
    {"repe cmpsb", x86_repe_cmpsb, 1, MA::read},
    {"movsl", x86_movsl, 4, MA::read_write},
    {"movups (%rsi), %xmm0", x86_movups_load, 16, MA::read},
    {"movdqu %xmm1, (%rdi)", x86_movdqu_store, 16, MA::write},
    {"movdqa 16(%rsi), %xmm2", x86_movdqa_load, 16, MA::read},
    {"movss (%rdi), %xmm0", x86_movss_load, 4, MA::read},
    {"movsd %xmm0, (%rdi)", x86_movsd_store, 8, MA::write},
    {"movq (%rdi), %xmm0", x86_movq_xmm_load, 8, MA::read},
    {"movd %xmm0, (%rdi)", x86_movd_store, 4, MA::write},
    {"pcmpeqb (%rdi), %xmm0", x86_pcmpeqb, 16, MA::read},
    {"pminub 16(%rdi), %xmm1", x86_pminub, 16, MA::read},
    {"pcmpistri $0x1a, (%rdi), %xmm0", x86_pcmpistri, 16, MA::read},
    {"vmovdqu (%rsi), %ymm0", x86_vmovdqu_ymm_load, 32, MA::read},
    {"vmovdqu %xmm8, (%rdi)", x86_vmovdqu_xmm_store, 16, MA::write},
    {"vmovups %ymm1, 32(%rdi)", x86_vmovups_ymm_store, 32, MA::write},
    {"vpcmpeqb (%rdi), %ymm0, %ymm1", x86_vpcmpeqb_ymm, 32, MA::read},
    {"vpbroadcastb (%rdi), %ymm0", x86_vpbroadcastb, 1, MA::read},
    {"vmovdqu64 (%rsi), %ymm16", x86_vmovdqu64_ymm16, 32, MA::read},
    {"vmovdqu8 %zmm17, (%rdi)", x86_vmovdqu8_zmm_store, 64, MA::write},
    {"vpcmpb $0, (%rdi), %ymm16, %k0", x86_vpcmpb_evex, 32, MA::read},
    {"vpminub 32(%rdi), %ymm17, %ymm18", x86_vpminub_evex, 32, MA::read},
    {"vpcmpeqd (%rdi){1to16}, %zmm0, %k1", x86_vpcmpeqd_bcst, 4, MA::read},
};

TEST(X86Access, common_loads_stores_and_compares_give_their_operand_size_and_direction) {
  for (const Expect& e : kKnown) {
    DecodedAccess decoded;
    ASSERT_TRUE(decode_x86_access(e.code, kMaxInstructionBytes, &decoded)) << e.text;
    EXPECT_EQ(decoded.size, e.size) << e.text;
    EXPECT_EQ(decoded.access, e.access) << e.text;
  }
}

TEST(X86Access, string_instructions_say_so_and_whether_they_repeat) {
  DecodedAccess rep;
  ASSERT_TRUE(decode_x86_access(x86_rep_movsb, kMaxInstructionBytes, &rep));
  EXPECT_TRUE(rep.string_op);
  EXPECT_TRUE(rep.repeated);
  DecodedAccess once;
  ASSERT_TRUE(decode_x86_access(x86_movsl, kMaxInstructionBytes, &once));
  EXPECT_TRUE(once.string_op);
  EXPECT_FALSE(once.repeated);
  DecodedAccess plain;
  ASSERT_TRUE(decode_x86_access(x86_movq_load, kMaxInstructionBytes, &plain));
  EXPECT_FALSE(plain.string_op);
}

TEST(X86Access, forms_without_a_memory_operand_or_not_known_are_refused) {
  for (const std::uint8_t* code : {x86_lea, x86_reg_only, x86_fld}) {
    DecodedAccess decoded;
    decoded.size = 99;
    EXPECT_FALSE(decode_x86_access(code, kMaxInstructionBytes, &decoded));
    EXPECT_EQ(decoded.size, 99u) << "left untouched";
  }
}

TEST(X86Access, never_reads_past_the_bytes_it_is_given) {
  // Every prefix of a valid instruction that stops before its ModRM byte is refused,
  // not read beyond.
  for (const Expect& e : kKnown) {
    DecodedAccess full;
    ASSERT_TRUE(decode_x86_access(e.code, kMaxInstructionBytes, &full));
    std::size_t needed = 0;
    for (std::size_t n = 0; n <= kMaxInstructionBytes; ++n) {
      std::uint8_t copy[kMaxInstructionBytes];
      std::memcpy(copy, e.code, n);
      DecodedAccess decoded;
      if (decode_x86_access(copy, n, &decoded)) {
        needed = n;
        break;
      }
    }
    EXPECT_GT(needed, 0u) << e.text;
    EXPECT_LE(needed, 8u) << e.text << ": prefixes, opcode and ModRM only";
  }
  // Fifteen prefixes and nothing else: refused without reading a sixteenth byte.
  std::uint8_t prefixes[kMaxInstructionBytes + 1];
  std::memset(prefixes, 0x66, sizeof prefixes);
  DecodedAccess decoded;
  EXPECT_FALSE(decode_x86_access(prefixes, sizeof prefixes, &decoded));
}

}  // namespace

#endif
