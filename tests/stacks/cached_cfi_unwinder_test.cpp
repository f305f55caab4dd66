// The cached CFI unwinder returns exactly the frames _Unwind_Backtrace returns, through
// code with and without frame pointers, over many differently shaped chains, on first
// (cache miss) and later (cache hit) walks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "stack_test_support.hpp"
#include "stacks/cached_cfi_unwinder.hpp"
#include "stacks/cfi_unwinder.hpp"

namespace {

using namespace dbgalloc::stacks;
using stacks_test::run_chain;

void expect_same_as_unwind_backtrace(bool with_frame_pointers, int depth, unsigned shape) {
  auto reference = run_chain(with_frame_pointers, depth, shape, cfi_unwinder::capture, 128);
  auto cached = run_chain(with_frame_pointers, depth, shape, cached_cfi_unwinder::capture, 128);
  auto again = run_chain(with_frame_pointers, depth, shape, cached_cfi_unwinder::capture, 128);
  ASSERT_GE(reference.size(), static_cast<std::size_t>(depth) + 4);
  EXPECT_EQ(cached, reference) << (with_frame_pointers ? "with" : "without")
                               << " frame pointers, depth " << depth << ", shape " << std::hex << shape;
  EXPECT_EQ(again, reference);
}

TEST(CachedCfiUnwinder, same_frames_as_unwind_backtrace_without_frame_pointers) {
  unsigned shape = 0x12345678;
  for (int i = 0; i < 200; ++i) {
    shape = shape * 1664525u + 1013904223u;
    expect_same_as_unwind_backtrace(false, 1 + i % 40, shape);
  }
}

TEST(CachedCfiUnwinder, same_frames_as_unwind_backtrace_with_frame_pointers) {
  unsigned shape = 0x9abcdef0;
  for (int i = 0; i < 200; ++i) {
    shape = shape * 1664525u + 1013904223u;
    expect_same_as_unwind_backtrace(true, 1 + i % 40, shape);
  }
}

struct QsortCapture {
  std::vector<std::uintptr_t> cfi, cached;
} qsort_capture;

int compare_and_capture(const void* a, const void* b) {
  if (qsort_capture.cfi.empty()) {
    std::uintptr_t frames[64];
    qsort_capture.cfi.assign(frames, frames + cfi_unwinder::capture(frames, 64, 0));
    qsort_capture.cached.assign(frames, frames + cached_cfi_unwinder::capture(frames, 64, 0));
  }
  return *static_cast<const int*>(a) - *static_cast<const int*>(b);
}

TEST(CachedCfiUnwinder, same_frames_through_glibc_built_without_frame_pointers) {
  // Debian's libc has no frame pointers; qsort calls back into us through it.
  int values[64];
  for (int i = 0; i < 64; ++i) values[i] = (i * 37) % 64;
  qsort_capture = {};
  qsort(values, 64, sizeof(int), compare_and_capture);
  ASSERT_GE(qsort_capture.cfi.size(), 4u);
  // Frame 0 is the call site inside compare_and_capture, different for each call.
  EXPECT_EQ(std::vector<std::uintptr_t>(qsort_capture.cached.begin() + 1, qsort_capture.cached.end()),
            std::vector<std::uintptr_t>(qsort_capture.cfi.begin() + 1, qsort_capture.cfi.end()));
}

TEST(CachedCfiUnwinder, reaches_the_end_of_the_stack_in_a_new_thread) {
  // A thread's outermost frame (clone3) ends the stack with an undefined return
  // address; both unwinders must stop at the same frame.
  std::vector<std::uintptr_t> reference, cached;
  std::thread([&] {
    reference = run_chain(false, 5, 0x2d2d2d2d, cfi_unwinder::capture, 128);
    cached = run_chain(false, 5, 0x2d2d2d2d, cached_cfi_unwinder::capture, 128);
  }).join();
  ASSERT_LT(reference.size(), 128u);
  EXPECT_EQ(cached, reference);
}

TEST(CachedCfiUnwinder, truncates_at_max_and_honours_skip) {
  auto all = run_chain(false, 20, 0x3c3c3c3c, cached_cfi_unwinder::capture, 128);
  auto first5 = run_chain(false, 20, 0x3c3c3c3c, cached_cfi_unwinder::capture, 5);
  ASSERT_EQ(first5.size(), 5u);
  EXPECT_TRUE(std::equal(first5.begin(), first5.end(), all.begin()));
  std::uintptr_t with_skip[64];
  std::uintptr_t without_skip[64];
  std::size_t n0 = cached_cfi_unwinder::capture(without_skip, 64, 0);
  std::size_t n2 = cached_cfi_unwinder::capture(with_skip, 64, 2);
  ASSERT_EQ(n2 + 2, n0);
  EXPECT_TRUE(std::equal(with_skip, with_skip + n2, without_skip + 2));
}

TEST(CachedCfiUnwinder, caches_rules_and_does_not_fall_back_on_ordinary_code) {
  cached_cfi_unwinder::Stats before{}, after{};
  for (int i = 0; i < 101; ++i) {
    // One call site, so the first walk meets every PC of the later ones.
    run_chain(false, 16, 0x1b1b1b1b, cached_cfi_unwinder::capture);
    (i == 0 ? before : after) = cached_cfi_unwinder::stats();
  }
  EXPECT_GT(before.rules_cached, 10u);
  EXPECT_EQ(after.rules_cached, before.rules_cached) << "a warm walk must not miss";
  EXPECT_EQ(after.fallbacks, before.fallbacks) << "no frame of this chain needs _Unwind_Backtrace";
}

using Frames = std::vector<std::uintptr_t>;
volatile int which_caller;

// Two callers with the same frame layout: walks through the chain meet the same states
// (same PCs and stack pointers) until the word naming the caller differs.
__attribute__((noinline)) void via_first(bool fp, unsigned shape, Frames* reference, Frames* cached) {
  *reference = run_chain(fp, 12, shape, cfi_unwinder::capture, 128);
  *cached = run_chain(fp, 12, shape, cached_cfi_unwinder::capture, 128);
  which_caller = 1;
}

__attribute__((noinline)) void via_second(bool fp, unsigned shape, Frames* reference, Frames* cached) {
  *reference = run_chain(fp, 12, shape, cfi_unwinder::capture, 128);
  *cached = run_chain(fp, 12, shape, cached_cfi_unwinder::capture, 128);
  which_caller = 2;
}

TEST(CachedCfiUnwinder, replays_the_previous_walk_and_notices_every_changed_word) {
  for (bool fp : {false, true}) {
    std::uint64_t before = cached_cfi_unwinder::steps_replayed_in_thread();
    unsigned shape = 0x5a5a5a5a;
    for (int i = 0; i < 120; ++i) {
      Frames reference, cached;
      if (i % 3 == 0) {
        via_first(fp, shape, &reference, &cached);
      } else {
        via_second(fp, shape, &reference, &cached);
      }
      ASSERT_EQ(cached, reference) << (fp ? "with" : "without") << " frame pointers, walk " << i;
      if (i % 7 == 6) shape = shape * 1664525u + 1013904223u;
    }
    // Each walk is 20+ frames deep and shares most of them with the walk before.
    EXPECT_GT(cached_cfi_unwinder::steps_replayed_in_thread() - before, 120u * 8)
        << (fp ? "with" : "without") << " frame pointers";
  }
}

// Two call sites with trails of their own (keys 1 and 2 pick different trails).
__attribute__((noinline)) std::size_t capture_site_a(std::uintptr_t* frames, std::size_t max, std::size_t skip) {
  std::size_t count = cached_cfi_unwinder::capture_keyed(frames, max, skip + 1, 1);
  asm volatile("" ::: "memory");
  return count;
}
__attribute__((noinline)) std::size_t capture_site_b(std::uintptr_t* frames, std::size_t max, std::size_t skip) {
  std::size_t count = cached_cfi_unwinder::capture_keyed(frames, max, skip + 1, 2);
  asm volatile("" ::: "memory");
  return count;
}

// An allocation site and a free site alternate in a loop: with one trail each walk
// overwrites what the next could replay (5-6 of 30 steps replayed); keyed, each
// replays from its own previous walk up to the first saved register that changed (the
// chain keeps heap pointers there: 16-24 of 30), and still gives _Unwind_Backtrace's
// frames.
TEST(CachedCfiUnwinder, alternating_call_sites_each_replay_their_own_last_walk) {
  for (int i = 0; i < 20; ++i) {
    std::uint64_t before = cached_cfi_unwinder::steps_replayed_in_thread();
    Frames a = run_chain(false, 12, 0x1234, capture_site_a, 128);
    std::uint64_t replayed_a = cached_cfi_unwinder::steps_replayed_in_thread() - before;
    before = cached_cfi_unwinder::steps_replayed_in_thread();
    Frames b = run_chain(false, 15, 0x4321, capture_site_b, 128);
    std::uint64_t replayed_b = cached_cfi_unwinder::steps_replayed_in_thread() - before;
    ASSERT_EQ(a, run_chain(false, 12, 0x1234, cfi_unwinder::capture, 128));
    ASSERT_EQ(b, run_chain(false, 15, 0x4321, cfi_unwinder::capture, 128));
    ASSERT_GE(a.size(), 16u);
    if (i == 0) continue;  // the first walks fill the trails
    EXPECT_GE(3 * replayed_a, a.size()) << "walk " << i;
    EXPECT_GE(3 * replayed_b, b.size()) << "walk " << i;
  }
}

TEST(CachedCfiUnwinder, replay_is_per_thread) {
  Frames main_reference, main_cached;
  via_first(false, 0x77777777, &main_reference, &main_cached);
  Frames reference, cached;
  std::uint64_t replayed = 1;
  std::thread([&] {
    replayed = cached_cfi_unwinder::steps_replayed_in_thread();
    via_second(false, 0x77777777, &reference, &cached);
  }).join();
  EXPECT_EQ(replayed, 0u) << "a new thread starts without a trail";
  EXPECT_EQ(cached, reference);
  EXPECT_EQ(main_cached, main_reference);
}

}  // namespace
