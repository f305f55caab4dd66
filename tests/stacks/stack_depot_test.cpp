// StackDepot: deduplication, exact read-back, and distrust of the ids it is given.
#include <gtest/gtest.h>

#include <vector>

#include "stacks/stack_depot.hpp"

namespace {

using namespace dbgalloc::stacks;

class StackDepotTest : public ::testing::Test {
 protected:
  void TearDown() override { depot.release(); }
  std::vector<std::uintptr_t> read(StackId id) {
    std::uintptr_t frames[kMaxFrames];
    std::size_t n = depot.get(id, frames, kMaxFrames);
    return {frames, frames + n};
  }
  StackDepot depot{1024, 1 << 20};
};

TEST_F(StackDepotTest, same_stack_gives_the_same_id) {
  std::uintptr_t a[] = {0x401000, 0x401234, 0x7f0000001000};
  std::uintptr_t b[] = {0x401000, 0x401234, 0x7f0000001000};
  StackId first = depot.insert(a, 3);
  EXPECT_NE(first, kNoStack);
  EXPECT_NE(first, kDepotFull);
  EXPECT_EQ(depot.insert(b, 3), first);
  EXPECT_EQ(depot.stats().stacks_stored, 1u);
}

TEST_F(StackDepotTest, different_stacks_give_different_ids) {
  std::uintptr_t base[] = {1, 2, 3, 4};
  std::uintptr_t reordered[] = {2, 1, 3, 4};
  std::uintptr_t changed[] = {1, 2, 3, 5};
  StackId ids[] = {depot.insert(base, 4), depot.insert(base, 3), depot.insert(reordered, 4),
                   depot.insert(changed, 4), depot.insert(base + 1, 3)};
  for (std::size_t i = 0; i < std::size(ids); ++i)
    for (std::size_t j = i + 1; j < std::size(ids); ++j) EXPECT_NE(ids[i], ids[j]) << i << " " << j;
  EXPECT_EQ(depot.stats().stacks_stored, std::size(ids));
}

TEST_F(StackDepotTest, ids_read_back_exactly_the_stored_frames) {
  std::vector<std::pair<StackId, std::vector<std::uintptr_t>>> stored;
  for (std::uintptr_t n = 1; n <= kMaxFrames; ++n) {
    std::vector<std::uintptr_t> frames;
    for (std::uintptr_t i = 0; i < n; ++i) frames.push_back(n * 1000 + i * 7);
    stored.emplace_back(depot.insert(frames.data(), frames.size()), frames);
  }
  for (auto& [id, frames] : stored) EXPECT_EQ(read(id), frames);
  std::uintptr_t two[2];
  EXPECT_EQ(depot.get(stored.back().first, two, 2), 2u);
  EXPECT_EQ(two[1], stored.back().second[1]);
}

TEST_F(StackDepotTest, empty_stack_is_no_stack_and_long_stacks_are_cut) {
  std::uintptr_t frames[kMaxFrames + 10];
  for (std::size_t i = 0; i < std::size(frames); ++i) frames[i] = 0x1000 + i;
  EXPECT_EQ(depot.insert(frames, 0), kNoStack);
  StackId id = depot.insert(frames, std::size(frames));
  EXPECT_EQ(read(id).size(), kMaxFrames);
  EXPECT_EQ(depot.stats().truncated, 1u);
}

TEST_F(StackDepotTest, forged_ids_read_as_empty) {
  std::uintptr_t frames[] = {10, 20, 30, 40, 50, 60};
  StackId id = depot.insert(frames, 6);
  EXPECT_TRUE(read(kNoStack).empty());
  EXPECT_TRUE(read(kDepotFull).empty());
  for (StackId forged = id + 1; forged < id + 12; ++forged) EXPECT_TRUE(read(forged).empty()) << forged;
  EXPECT_TRUE(read(0x00ffffff).empty());
  StackDepot never_used{16, 4096};
  std::uintptr_t out[4];
  EXPECT_EQ(never_used.get(1, out, 4), 0u);
}

TEST_F(StackDepotTest, stats_count_bytes) {
  std::uintptr_t frames[] = {1, 2, 3};
  depot.insert(frames, 3);
  auto stats = depot.stats();
  EXPECT_EQ(stats.bytes_used, 16u + 3 * sizeof(std::uintptr_t));
  EXPECT_EQ(stats.bytes_budget, 1u << 20);
  EXPECT_EQ(stats.dropped, 0u);
}

}  // namespace
