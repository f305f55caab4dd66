// Classifying a fault on a guard block's pages (debug::classify_guard_hit), as the
// fault handler does: the record is found through the page map from the faulting
// address, then the block's state and side name the error. Spans (the mprotect
// mechanism, so it runs on any kernel) made through GuardBlocks directly.
#include <gtest/gtest.h>

#include "debug/guard_blocks.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::debug {
namespace {

class GuardHitTest : public testing::Test {
 protected:
  void SetUp() override { guards.configure(65530, false); }
  GuardRecord* allocate_live(std::size_t size, bool left) {
    GuardRecord* record = guards.allocate(size, 16, left);
    if (record == nullptr) return nullptr;
    record->header = BlockHeader{};
    record->header.bits = BlockHeader::pack(size, Kind::malloc, 4, BlockHeader::kGuardFlag);
    transition(&record->header, State::live);
    return record;
  }
  GuardBlocks guards;
};

TEST_F(GuardHitTest, the_guard_page_after_a_live_block_is_an_overflow) {
  GuardRecord* record = allocate_live(100, false);
  ASSERT_NE(record, nullptr);
  const std::uintptr_t guard_page = record->begin() + record->size();
  ASSERT_EQ(GuardBlocks::record_at(guard_page), record);
  EXPECT_EQ(classify_guard_hit(*record, guard_page), GuardHit::overflow);
  EXPECT_EQ(classify_guard_hit(*record, record->user + 100), GuardHit::overflow);
}

TEST_F(GuardHitTest, the_guard_page_before_a_left_guarded_block_is_an_underflow) {
  GuardRecord* record = allocate_live(100, true);
  ASSERT_NE(record, nullptr);
  ASSERT_EQ(record->user, record->begin());
  const std::uintptr_t before = record->begin() - 1;
  ASSERT_EQ(GuardBlocks::record_at(before), record);
  EXPECT_EQ(classify_guard_hit(*record, before), GuardHit::underflow);
}

TEST_F(GuardHitTest, any_access_to_a_quarantined_block_is_a_use_after_free) {
  GuardRecord* record = allocate_live(100, false);
  ASSERT_NE(record, nullptr);
  transition(&record->header, State::quarantined);
  GuardBlocks::protect(record);
  ASSERT_EQ(GuardBlocks::record_at(record->user), record);
  EXPECT_EQ(classify_guard_hit(*record, record->user), GuardHit::use_after_free);
  EXPECT_EQ(classify_guard_hit(*record, record->begin() + record->size()), GuardHit::use_after_free);
  transition(&record->header, State::freed);
  EXPECT_EQ(classify_guard_hit(*record, record->user + 50), GuardHit::use_after_free);
  guards.release(record);
}

}  // namespace
}  // namespace dbgalloc::debug
