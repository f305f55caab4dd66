// Guard slabs (src/debug/guard_slabs.cpp), driven through GuardBlocks on guard regions:
// many blocks share one mapping, a freed slot faults and still names its block, freed
// slots are reused oldest first, a guard page between two slots names the block flush
// against it, and there is no map-count budget to fall back on.
#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "debug/guard_blocks.hpp"
#include "platform/platform.hpp"
#include "../support/maps.hpp"

namespace dbgalloc::debug {
namespace {

const std::size_t kPage = platform::page_size();

class GuardSlabs : public testing::Test {
 protected:
  void SetUp() override {
    if (!platform::guard_regions_supported()) GTEST_SKIP() << "kernel without guard regions";
    guards.configure(65530, true);
  }
  GuardRecord* allocate_live(std::size_t size, bool left = false, std::size_t alignment = 16) {
    GuardRecord* record = guards.allocate(size, alignment, left);
    if (record == nullptr) return nullptr;
    record->header = BlockHeader{};
    record->header.bits = BlockHeader::pack(size, Kind::malloc, 4, BlockHeader::kGuardFlag);
    transition(&record->header, State::live);
    return record;
  }
  void free_block(GuardRecord* record) {
    transition(&record->header, State::quarantined);
    GuardBlocks::protect(record);
    transition(&record->header, State::freed);
    guards.release(record);
  }
  GuardBlocks guards;
};

using test_support::mappings_over;

TEST_F(GuardSlabs, blocks_of_one_page_count_share_one_mapping_each_between_guard_pages) {
  std::vector<GuardRecord*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(allocate_live(100));
  for (GuardRecord* record : blocks) ASSERT_NE(record, nullptr);
  EXPECT_EQ(guards.stats().slabs, 1u);
  EXPECT_EQ(guards.stats().live_spans, 100u);
  GuardSlab* slab = blocks[0]->slab;
  for (GuardRecord* record : blocks) {
    EXPECT_EQ(record->slab, slab);
    EXPECT_EQ(record->size(), kPage);
    EXPECT_EQ(record->user + 112, record->begin() + kPage);  // 100 rounded up to 16 here
    EXPECT_EQ(GuardBlocks::record_at(record->user), record);
  }
  std::uintptr_t begin = slab->span->base;
  EXPECT_EQ(mappings_over(begin, begin + slab->span->size), 1u);
  // Each block's page sits between guard pages: the byte after it and before it fault.
  auto* after = reinterpret_cast<volatile char*>(blocks[5]->begin() + kPage);
  auto* before = reinterpret_cast<volatile char*>(blocks[5]->begin() - 1);
  EXPECT_DEATH((void)*after, "");
  EXPECT_DEATH(*before = 1, "");
  *reinterpret_cast<volatile char*>(blocks[5]->user) = 1;
  for (GuardRecord* record : blocks) free_block(record);
  EXPECT_EQ(guards.stats().live_spans, 0u);
  EXPECT_EQ(guards.stats().freed_slots, 100u);
}

TEST_F(GuardSlabs, a_freed_slot_faults_names_its_freed_block_and_is_reused_oldest_first) {
  GuardRecord* first = allocate_live(3000);
  GuardRecord* second = allocate_live(3000);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  std::uintptr_t user = first->user;
  free_block(first);
  free_block(second);
  EXPECT_EQ(GuardBlocks::record_at(user), first);
  EXPECT_EQ(GuardBlocks::record_at(user)->header.state(), State::freed);
  EXPECT_DEATH((void)*reinterpret_cast<volatile char*>(user + 10), "");
  GuardRecord* again = allocate_live(2000);  // the same page count
  EXPECT_EQ(again, first);
  EXPECT_EQ(guards.stats().reused_spans, 1u);
  auto* bytes = reinterpret_cast<volatile char*>(again->begin());
  EXPECT_EQ(bytes[0], 0);  // the old contents went with the guard
  bytes[kPage - 1] = 1;
  GuardRecord* next = allocate_live(2000);
  EXPECT_EQ(next, second);
  GuardRecord* fresh = allocate_live(2000);
  EXPECT_NE(fresh, first);
  EXPECT_NE(fresh, second);
}

TEST_F(GuardSlabs, a_guard_page_between_two_slots_names_the_block_flush_against_it) {
  GuardRecord* right = allocate_live(kPage - 8);
  GuardRecord* left = allocate_live(64, true);
  ASSERT_NE(right, nullptr);
  ASSERT_NE(left, nullptr);
  ASSERT_EQ(left->slot, right->slot + 1);
  EXPECT_EQ(left->user, left->begin());
  std::uintptr_t guard = right->begin() + kPage;
  EXPECT_EQ(guard + kPage, left->begin());
  EXPECT_EQ(GuardBlocks::record_at(guard), right);             // right's overrun
  EXPECT_EQ(GuardBlocks::record_at(guard + kPage - 1), left);  // left's underrun
  // Blocks of another page count live in a slab of their own.
  GuardRecord* big = allocate_live(5 * kPage);
  ASSERT_NE(big, nullptr);
  EXPECT_NE(big->slab, right->slab);
  EXPECT_EQ(big->size(), 5 * kPage);
  EXPECT_EQ(guards.stats().slabs, 2u);
}

TEST_F(GuardSlabs, blocks_past_the_largest_slot_get_a_slab_of_their_own_unmapped_on_release) {
  const std::size_t size = (GuardBlocks::kSlabPages + 3) * kPage + 5;
  GuardRecord* record = allocate_live(size, false, 1);
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->slab->capacity, 1u);
  EXPECT_EQ(record->user + size, record->begin() + record->size());
  std::uintptr_t user = record->user;
  EXPECT_EQ(guards.stats().slabs, 1u);
  free_block(record);
  EXPECT_EQ(guards.stats().slabs, 0u);
  EXPECT_EQ(GuardBlocks::record_at(user), nullptr);
}

TEST_F(GuardSlabs, no_map_count_budget_limits_them) {
  GuardBlocks tight;
  tight.configure(50, true);  // the span budget would be 20 blocks
  std::vector<GuardRecord*> blocks;
  std::size_t maps_before = mappings_over(0, ~std::uintptr_t{0});
  for (int i = 0; i < 5000; ++i) blocks.push_back(tight.allocate(16 + i % 3000, 16, false));
  for (GuardRecord* record : blocks) ASSERT_NE(record, nullptr);
  EXPECT_EQ(tight.stats().fallbacks, 0u);
  EXPECT_EQ(tight.stats().live_spans, 5000u);
  // A handful of slabs (and their record tables), not two mappings per block.
  EXPECT_LT(mappings_over(0, ~std::uintptr_t{0}), maps_before + 64);
}

}  // namespace
}  // namespace dbgalloc::debug
