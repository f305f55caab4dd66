// record(skip) and capture(skip): frame 0 is exactly where the caller asked, with each
// unwinder; the configured depth is the stored depth.
#include <gtest/gtest.h>

#include <string>

#include "stacks/stacks.hpp"

namespace {

using namespace dbgalloc::stacks;

struct Recorded {
  StackId id;
  std::uintptr_t return_address;  // a PC in the caller of record_here
};

__attribute__((noinline)) Recorded record_here(std::size_t skip) {
  Recorded r{record(skip), reinterpret_cast<std::uintptr_t>(__builtin_return_address(0))};
  asm volatile("" ::: "memory");
  return r;
}

std::string dump(StackId id) {
  std::uintptr_t frames[kMaxFrames];
  std::size_t n = lookup(id, frames, kMaxFrames);
  std::string text = "\n";
  for (std::size_t i = 0; i < n; ++i) text += std::to_string(frames[i]) + " ";
  return text;
}

class RecordTest : public ::testing::TestWithParam<Unwinder> {
 protected:
  void SetUp() override { configure(GetParam(), 16); }
  void TearDown() override { configure(Unwinder::cfi_cached, kDefaultDepth); }
};

TEST_P(RecordTest, skip_one_starts_at_the_callers_caller) {
  Recorded r = record_here(1);
  std::uintptr_t frames[kMaxFrames];
  ASSERT_GE(lookup(r.id, frames, kMaxFrames), 2u);
  EXPECT_EQ(frames[0], r.return_address);
}

TEST_P(RecordTest, skip_zero_starts_in_the_caller) {
  Recorded r = record_here(0);
  std::uintptr_t frames[kMaxFrames];
  ASSERT_GE(lookup(r.id, frames, kMaxFrames), 2u);
  EXPECT_EQ(frames[1], r.return_address);
  EXPECT_NE(frames[0], r.return_address);
}

// Records `count` times from one call site: the asm hides `count` from the compiler,
// so it cannot unroll or peel the loop into several call sites.
__attribute__((noinline)) void record_in_loop(StackId* ids, int count) {
  asm volatile("" : "+r"(count));
  for (int i = 0; i < count; ++i) ids[i] = record_here(0).id;
  asm volatile("" ::: "memory");
}

TEST_P(RecordTest, same_call_site_same_id_other_site_other_id) {
  StackId ids[3] = {};
  record_in_loop(ids, 3);
  StackId elsewhere = record_here(0).id;
  EXPECT_EQ(ids[0], ids[1]) << dump(ids[0]) << dump(ids[1]);
  EXPECT_EQ(ids[0], ids[2]);
  EXPECT_NE(ids[0], elsewhere);
  EXPECT_NE(ids[0], kNoStack);
  EXPECT_NE(ids[0], kDepotFull);
}

TEST_P(RecordTest, depth_is_the_configured_one_and_truncation_is_counted) {
  configure(GetParam(), 3);
  auto before = depot_stats().truncated;
  StackId id = record_here(0).id;
  std::uintptr_t frames[kMaxFrames];
  EXPECT_EQ(lookup(id, frames, kMaxFrames), 3u);
  EXPECT_EQ(depot_stats().truncated, before + 1);
}

TEST_P(RecordTest, capture_frame_zero_is_in_the_caller) {
  std::uintptr_t a[8], b[8];
  std::size_t na = capture(a, 8, 0);
  std::size_t nb = capture(b, 8, 0);
  ASSERT_GE(na, 2u);
  ASSERT_EQ(na, nb);
  // Two call sites in this function: frame 0 differs, the callers' frames agree.
  EXPECT_NE(a[0], b[0]);
  EXPECT_TRUE(std::equal(a + 1, a + na, b + 1));
}

INSTANTIATE_TEST_SUITE_P(Unwinders, RecordTest,
                         ::testing::Values(Unwinder::frame_pointer, Unwinder::cfi, Unwinder::cfi_cached),
                         [](const auto& info) {
                           switch (info.param) {
                             case Unwinder::frame_pointer: return std::string("frame_pointer");
                             case Unwinder::cfi: return std::string("cfi");
                             default: return std::string("cfi_cached");
                           }
                         });

TEST(Lookup, unknown_ids_read_as_empty) {
  std::uintptr_t frames[kMaxFrames];
  EXPECT_EQ(lookup(kNoStack, frames, kMaxFrames), 0u);
  EXPECT_EQ(lookup(kDepotFull, frames, kMaxFrames), 0u);
  EXPECT_EQ(lookup(0x7fffffff, frames, kMaxFrames), 0u);
}

}  // namespace
