// The frame-pointer walk: complete through code with frame pointers, and early-stopping
// but never wrong or crashing through code without them.
#include <gtest/gtest.h>

#include "stack_test_support.hpp"
#include "stacks/cfi_unwinder.hpp"
#include "stacks/frame_pointer_unwinder.hpp"

// Calls fn(frames, max, skip) with RBP set to `rbp`, so fn's own frame record links
// to it. Written in assembly because no compiler lets C++ choose RBP.
extern "C" std::size_t call_with_rbp(std::uintptr_t* frames, std::size_t max, std::size_t skip,
                                     std::size_t (*fn)(std::uintptr_t*, std::size_t, std::size_t),
                                     std::uintptr_t rbp);
asm(R"(
  .text
  .globl call_with_rbp
  .type call_with_rbp, @function
call_with_rbp:
  push %rbp
  mov %r8, %rbp
  call *%rcx
  pop %rbp
  ret
  .size call_with_rbp, .-call_with_rbp
)");

namespace {

int garbage_marker;
using namespace dbgalloc::stacks;
using stacks_test::run_chain;
using stacks_test::up_to_chain_caller;

TEST(FramePointerUnwinder, walk_equals_cfi_through_code_with_frame_pointers) {
  for (unsigned shape : {0u, 0x55555555u, 0xaaaaaaaau, 0x1b1b1b1bu}) {
    auto fp = up_to_chain_caller(run_chain(true, 10, shape, frame_pointer_unwinder::capture));
    auto cfi = up_to_chain_caller(run_chain(true, 10, shape, cfi_unwinder::capture));
    ASSERT_EQ(cfi.back(), stacks_test::kChainCaller) << "CFI reference did not reach the test";
    EXPECT_EQ(fp, cfi) << "shape " << shape;
    EXPECT_GE(fp.size(), 14u);
  }
}

TEST(FramePointerUnwinder, skips_frames_without_frame_pointers_but_never_invents_one) {
  for (unsigned shape : {0u, 0x55555555u, 0xaaaaaaaau, 0x1b1b1b1bu}) {
    auto fp = up_to_chain_caller(run_chain(false, 10, shape, frame_pointer_unwinder::capture));
    auto cfi = up_to_chain_caller(run_chain(false, 10, shape, cfi_unwinder::capture));
    ASSERT_EQ(cfi.back(), stacks_test::kChainCaller);
    ASSERT_EQ(fp.back(), stacks_test::kChainCaller) << "the walk reaches the test's own frame";
    // The leaf callback has a frame record, so its return address is always right.
    EXPECT_EQ(fp.front(), cfi.front());
    EXPECT_LT(fp.size(), cfi.size()) << "the walk cannot see functions without frame pointers";
    EXPECT_TRUE(stacks_test::is_subsequence(fp, cfi)) << "shape " << shape;
  }
}

TEST(FramePointerUnwinder, honours_max_and_skip) {
  auto all = run_chain(true, 10, 0, frame_pointer_unwinder::capture);
  auto four = run_chain(true, 10, 0, frame_pointer_unwinder::capture, 4);
  ASSERT_EQ(four.size(), 4u);
  EXPECT_TRUE(std::equal(four.begin(), four.end(), all.begin()));
  std::uintptr_t frames[8];
  EXPECT_EQ(frame_pointer_unwinder::capture(frames, 0, 0), 0u);
}

TEST(FramePointerUnwinder, stops_cleanly_on_a_garbage_frame_pointer) {
  // As in code that uses RBP as a general register: whatever RBP holds, the walk keeps
  // the one frame it can prove and stops, without reading outside the stack.
  volatile std::uintptr_t on_stack[4] = {0, 0, 0, 0};
  auto here = reinterpret_cast<std::uintptr_t>(&on_stack[0]);
  const std::uintptr_t garbage[] = {0,          0x10,        ~std::uintptr_t{0} - 7,
                                    here - 4096, here + 3,   0x00007fff00000000ull,
                                    reinterpret_cast<std::uintptr_t>(&garbage_marker)};
  for (std::uintptr_t value : garbage) {
    std::uintptr_t frames[16] = {};
    std::size_t count = call_with_rbp(frames, 16, 0, frame_pointer_unwinder::capture, value);
    EXPECT_EQ(count, 1u) << std::hex << value;
  }
}

}  // namespace
