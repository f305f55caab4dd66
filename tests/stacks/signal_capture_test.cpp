// Capture inside a signal handler: each unwinder works there (on the thread's stack and
// on an alternate signal stack), and the CFI unwinders see through the signal frame
// back into the interrupted call chain.
#include <gtest/gtest.h>

#include <signal.h>

#include <vector>

#include "stack_test_support.hpp"
#include "stacks/cached_cfi_unwinder.hpp"
#include "stacks/cfi_unwinder.hpp"
#include "stacks/frame_pointer_unwinder.hpp"
#include "stacks/stacks.hpp"

namespace {

using namespace dbgalloc::stacks;

struct HandlerCapture {
  std::uintptr_t cfi[64];
  std::size_t cfi_count;
  std::uintptr_t cached[64];
  std::size_t cached_count;
  std::uintptr_t frame_pointer[64];
  std::size_t frame_pointer_count;
  StackId recorded;
};
HandlerCapture in_handler;

void handler(int) {
  in_handler.cfi_count = cfi_unwinder::capture(in_handler.cfi, 64, 0);
  in_handler.cached_count = cached_cfi_unwinder::capture(in_handler.cached, 64, 0);
  in_handler.frame_pointer_count = frame_pointer_unwinder::capture(in_handler.frame_pointer, 64, 0);
  in_handler.recorded = record(0);
}

__attribute__((noinline)) std::size_t raise_at_leaf(void*) {
  raise(SIGUSR1);
  asm volatile("" ::: "memory");
  return 0;
}

// The handler's own return address differs per call site; compare from frame 1 on.
std::vector<std::uintptr_t> after_first(const std::uintptr_t* frames, std::size_t count) {
  return count == 0 ? std::vector<std::uintptr_t>{} : std::vector<std::uintptr_t>(frames + 1, frames + count);
}

void run_and_check(bool alternate_stack) {
  std::vector<char> altstack(1 << 16);
  stack_t ss{}, old_ss{};
  if (alternate_stack) {
    ss.ss_sp = altstack.data();
    ss.ss_size = altstack.size();
    ASSERT_EQ(sigaltstack(&ss, &old_ss), 0);
  }
  struct sigaction sa {}, old_sa{};
  sa.sa_handler = handler;
  sa.sa_flags = alternate_stack ? SA_ONSTACK : 0;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old_sa), 0);
  in_handler = {};
  configure(Unwinder::cfi_cached, 32);

  std::uintptr_t leaf_return = 0;
  {
    // Where raise_at_leaf returns to: the frame that must appear past the signal frame.
    auto frames = stacks_test::run_chain(false, 4, 0x1e1e1e1e, cfi_unwinder::capture);
    leaf_return = frames.at(0);
  }
  chain_without_fp::outer(4, 0x1e1e1e1e, raise_at_leaf, nullptr);

  sigaction(SIGUSR1, &old_sa, nullptr);
  if (alternate_stack) sigaltstack(&old_ss, nullptr);
  configure(Unwinder::cfi_cached, kDefaultDepth);

  auto cfi = after_first(in_handler.cfi, in_handler.cfi_count);
  auto cached = after_first(in_handler.cached, in_handler.cached_count);
  ASSERT_GE(cfi.size(), 8u);
  EXPECT_EQ(cached, cfi);
  // inner_leaf's call to the leaf appears below the signal frame.
  EXPECT_NE(std::find(cfi.begin(), cfi.end(), leaf_return), cfi.end());
  // The frame-pointer walk only trusts the thread's own stack: on an alternate signal
  // stack it gives up at once (and must not crash); on the thread stack it sees the
  // handler at least.
  if (!alternate_stack) { EXPECT_GE(in_handler.frame_pointer_count, 1u); }
  std::uintptr_t stored[kMaxFrames];
  EXPECT_GE(lookup(in_handler.recorded, stored, kMaxFrames), 8u);
}

TEST(SignalCapture, unwinders_see_through_the_signal_frame) { run_and_check(false); }

TEST(SignalCapture, unwinders_work_on_an_alternate_signal_stack) { run_and_check(true); }

}  // namespace
