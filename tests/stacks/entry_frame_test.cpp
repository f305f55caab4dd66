// capture_from_caller: a stack captured inside dbgalloc starts at the program's call,
// from the frame an entry point marked (entry_frame.hpp), however many of dbgalloc's own
// frames lie above it; a mark that is not the call's is ignored.
#include <gtest/gtest.h>

#include <vector>

#include "stacks/cfi_unwinder.hpp"
#include "stacks/entry_frame.hpp"
#include "stacks/stacks.hpp"

namespace {

using namespace dbgalloc::stacks;

constexpr std::size_t kDepth = 8;

struct Seen {
  std::uintptr_t caller = 0;              // the entry point's return address
  std::vector<std::uintptr_t> frames;     // what capture_from_caller gave
  std::vector<std::uintptr_t> reference;  // _Unwind_Backtrace from the entry point's caller
};

// Stands for dbgalloc's own frames between an entry point and the capture.
__attribute__((noinline)) std::size_t own_frames(int depth, std::uintptr_t caller, std::uintptr_t* frames) {
  std::size_t n = depth > 0 ? own_frames(depth - 1, caller, frames) : capture_from_caller(frames, kDepth, caller);
  asm volatile("" ::: "memory");
  return n;
}

__attribute__((noinline)) void reference_from_here(Seen& seen) {
  std::uintptr_t frames[kDepth + 2];
  std::size_t n = cfi_unwinder::capture(frames, kDepth + 2, 1);  // frames[0]: in the entry point
  seen.reference.assign(frames + 1, frames + n);
  if (seen.reference.size() > kDepth) seen.reference.resize(kDepth);
  asm volatile("" ::: "memory");
}

// An entry point as interpose's: marks its frame and passes its caller on.
__attribute__((noinline)) Seen marked_entry(int own_depth) {
  Seen seen;
  std::uintptr_t frames[kDepth];
  std::size_t n = own_frames(own_depth, DBGALLOC_ENTRY_CALLER(), frames);
  seen.frames.assign(frames, frames + n);
  seen.caller = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  reference_from_here(seen);
  return seen;
}

// An entry point whose thread carries a mark of some other call.
__attribute__((noinline)) Seen entry_with_foreign_mark(int own_depth) {
  Seen seen;
  alignas(16) std::uintptr_t not_this_call[2] = {0, 0x1234};
  EntryMark foreign(not_this_call, nullptr);
  std::uintptr_t frames[kDepth];
  seen.caller = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  std::size_t n = own_frames(own_depth, seen.caller, frames);
  seen.frames.assign(frames, frames + n);
  reference_from_here(seen);
  return seen;
}

class EntryFrameTest : public ::testing::TestWithParam<Unwinder> {
 protected:
  void SetUp() override { configure(GetParam(), kDepth); }
  void TearDown() override { configure(Unwinder::cfi_cached, kDefaultDepth); }
};

TEST_P(EntryFrameTest, a_marked_call_is_captured_from_the_programs_frame) {
  for (int own_depth : {0, 3}) {
    Seen seen = marked_entry(own_depth);
    ASSERT_FALSE(seen.frames.empty());
    EXPECT_EQ(seen.frames[0], seen.caller) << "own frames " << own_depth;
    // The frame-pointer walk loses frames in code without frame pointers.
    if (GetParam() != Unwinder::frame_pointer) {
      EXPECT_EQ(seen.frames, seen.reference) << "own frames " << own_depth;
    }
  }
}

TEST_P(EntryFrameTest, a_foreign_mark_is_ignored_and_the_stack_still_starts_at_the_call) {
  Seen seen = entry_with_foreign_mark(2);
  ASSERT_FALSE(seen.frames.empty());
  EXPECT_EQ(seen.frames[0], seen.caller);
  if (GetParam() != Unwinder::frame_pointer) { EXPECT_EQ(seen.frames, seen.reference); }
}

INSTANTIATE_TEST_SUITE_P(Unwinders, EntryFrameTest,
                         ::testing::Values(Unwinder::cfi_cached, Unwinder::cfi, Unwinder::frame_pointer));

// Without a mark a capture can only drop a few of dbgalloc's frames by looking for the
// caller; from a mark it starts at the call however deep dbgalloc is.
TEST(EntryFrame, a_capture_from_deep_inside_dbgalloc_starts_at_the_call) {
  configure(Unwinder::cfi_cached, kDepth);
  Seen seen = marked_entry(20);
  ASSERT_FALSE(seen.frames.empty());
  EXPECT_EQ(seen.frames[0], seen.caller);
  EXPECT_EQ(seen.frames, seen.reference);
  configure(Unwinder::cfi_cached, kDefaultDepth);
}

__attribute__((noinline)) std::uintptr_t mark_seen_inside(const void* record) {
  EntryMark inner(record, nullptr);
  std::uintptr_t seen = entry_record();
  asm volatile("" ::: "memory");
  return seen;
}

TEST(EntryFrame, a_nested_mark_gives_the_outer_one_back) {
  alignas(16) std::uintptr_t outer_record[2] = {};
  alignas(16) std::uintptr_t inner_record[2] = {};
  std::uintptr_t before = entry_record();
  {
    EntryMark outer(outer_record, nullptr);
    EXPECT_EQ(entry_record(), reinterpret_cast<std::uintptr_t>(outer_record));
    EXPECT_EQ(mark_seen_inside(inner_record), reinterpret_cast<std::uintptr_t>(inner_record));
    EXPECT_EQ(entry_record(), reinterpret_cast<std::uintptr_t>(outer_record));
  }
  EXPECT_EQ(entry_record(), before);
}

}  // namespace
