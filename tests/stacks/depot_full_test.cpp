// A full depot drops new stacks (kDepotFull, counted), keeps every id it handed out,
// and never crashes: when the arena budget is spent and when the slot table is full.
#include <gtest/gtest.h>

#include <vector>

#include "stacks/stack_depot.hpp"
#include "stacks/stacks.hpp"

namespace {

using namespace dbgalloc::stacks;

TEST(DepotFull, arena_budget_spent_drops_and_counts) {
  StackDepot depot{4096, 1024};  // room for 16 records of 6 frames (64 bytes each)
  std::vector<std::pair<StackId, std::uintptr_t>> kept;
  std::size_t dropped = 0;
  for (std::uintptr_t i = 1; i <= 100; ++i) {
    std::uintptr_t frames[6] = {i, i, i, i, i, i};
    StackId id = depot.insert(frames, 6);
    if (id == kDepotFull) {
      ++dropped;
    } else {
      ASSERT_NE(id, kNoStack);
      kept.emplace_back(id, i);
    }
  }
  EXPECT_EQ(kept.size(), 16u);
  EXPECT_EQ(dropped, 84u);
  EXPECT_EQ(depot.stats().dropped, 84u);
  EXPECT_EQ(depot.stats().bytes_used, 1024u);
  for (auto [id, value] : kept) {
    std::uintptr_t frames[8];
    ASSERT_EQ(depot.get(id, frames, 8), 6u);
    EXPECT_EQ(frames[5], value);
  }
  // Stacks already stored are still found when full.
  std::uintptr_t again[6] = {1, 1, 1, 1, 1, 1};
  EXPECT_EQ(depot.insert(again, 6), kept.front().first);
  depot.release();
}

TEST(DepotFull, slot_table_full_drops_and_counts) {
  StackDepot depot{8, 1 << 20};
  std::size_t stored = 0;
  std::size_t dropped = 0;
  for (std::uintptr_t i = 1; i <= 50; ++i) {
    std::uintptr_t frames[2] = {i, ~i};
    (depot.insert(frames, 2) == kDepotFull ? dropped : stored) += 1;
  }
  EXPECT_EQ(stored, 8u);
  EXPECT_EQ(dropped, 42u);
  EXPECT_EQ(depot.stats().dropped, 42u);
  depot.release();
}

TEST(DepotFull, full_id_prints_a_dropped_line) {
  char storage[256];
  dbgalloc::platform::TextBuffer out(storage, sizeof storage);
  print(kDepotFull, out);
  EXPECT_EQ(out.view(), "    <stack dropped: stack depot full>\n");
}

}  // namespace
