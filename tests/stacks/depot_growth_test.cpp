// Depot levels: the slot table grows level by level as stacks arrive; every id stays
// valid through growth, threads racing on the same new stacks while levels change
// still get one id per stack, and the memory touched follows the stacks stored.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "stacks/stack_depot.hpp"

namespace {

using namespace dbgalloc::stacks;

void make_stack(std::size_t index, std::uintptr_t* frames, std::size_t* count) {
  *count = 1 + index % 12;
  for (std::size_t i = 0; i < *count; ++i) frames[i] = 0x500000 + index * 32 + i;
}

std::vector<std::uintptr_t> read(const StackDepot& depot, StackId id) {
  std::uintptr_t frames[kMaxFrames];
  std::size_t n = depot.get(id, frames, kMaxFrames);
  return {frames, frames + n};
}

TEST(DepotGrowth, growth_keeps_every_id_valid) {
  constexpr std::size_t kStacks = 30000;
  StackDepot depot{1 << 16, 32 << 20};
  ASSERT_EQ(depot.levels(), StackDepot::kMaxLevels);
  std::vector<StackId> ids(kStacks);
  std::uintptr_t frames[kMaxFrames];
  std::size_t count = 0;
  for (std::size_t i = 0; i < kStacks; ++i) {
    make_stack(i, frames, &count);
    ids[i] = depot.insert(frames, count);
    ASSERT_NE(ids[i], kDepotFull) << i;
  }
  EXPECT_GE(depot.current_level(), 5u);
  for (std::size_t i = 0; i < kStacks; ++i) {
    make_stack(i, frames, &count);
    ASSERT_EQ(read(depot, ids[i]), std::vector<std::uintptr_t>(frames, frames + count)) << i;
    ASSERT_EQ(depot.insert(frames, count), ids[i]) << i;  // found again, in whichever level
  }
  auto stats = depot.stats();
  EXPECT_EQ(stats.stacks_stored, kStacks);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.wasted_records, 0u);
  depot.release();
}

TEST(DepotGrowth, a_small_table_has_one_level) {
  StackDepot depot{8, 1 << 20};
  EXPECT_EQ(depot.levels(), 1u);
  StackDepot fuzz_sized{256, 16 << 10};
  EXPECT_EQ(fuzz_sized.levels(), 6u);  // 8, 16, ..., 256 slots
}

// Every thread inserts the same new stacks in the same order, so several threads
// publish each stack at the same moment, many of them while the current level moves.
TEST(DepotGrowth, threads_racing_on_new_stacks_while_levels_grow_get_one_id_each) {
  constexpr std::size_t kStacks = 20000;
  constexpr int kThreads = 6;
  for (int round = 0; round < 5; ++round) {
    StackDepot depot{1 << 15, 16 << 20};
    std::vector<std::vector<StackId>> ids(kThreads, std::vector<StackId>(kStacks));
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) {
        }
        std::uintptr_t frames[kMaxFrames];
        std::size_t count = 0;
        for (std::size_t i = 0; i < kStacks; ++i) {
          make_stack(i, frames, &count);
          ids[t][i] = depot.insert(frames, count);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    std::uintptr_t frames[kMaxFrames];
    std::size_t count = 0;
    for (std::size_t i = 0; i < kStacks; ++i) {
      ASSERT_NE(ids[0][i], kDepotFull) << i;
      for (int t = 1; t < kThreads; ++t) ASSERT_EQ(ids[t][i], ids[0][i]) << "round " << round << " stack " << i;
      make_stack(i, frames, &count);
      ASSERT_EQ(read(depot, ids[0][i]), std::vector<std::uintptr_t>(frames, frames + count));
    }
    EXPECT_EQ(depot.stats().stacks_stored, kStacks);
    EXPECT_GE(depot.current_level(), 5u);
    depot.release();
  }
}

std::size_t resident_bytes() {
  // statm's second field: resident pages.
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  std::size_t size = 0, resident = 0;
  if (std::fscanf(f, "%zu %zu", &size, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// The process depot's size: one 1 Mi-slot table (8 MiB) had nearly every page touched
// by a few thousand stacks; levels touch about 32 bytes of table per stack.
TEST(DepotGrowth, a_depot_touches_memory_in_proportion_to_its_stacks) {
  constexpr std::size_t kStacks = 5000;
  StackDepot depot;  // the process default sizes
  std::uintptr_t frames[kMaxFrames];
  std::size_t count = 0;
  make_stack(0, frames, &count);
  depot.insert(frames, count);  // maps
  std::size_t before = resident_bytes();
  for (std::size_t i = 1; i < kStacks; ++i) {
    make_stack(i, frames, &count);
    ASSERT_NE(depot.insert(frames, count), kDepotFull);
  }
  std::size_t after = resident_bytes();
  ASSERT_GT(before, 0u);
  // Records: 5000 x about 70 bytes; tables: levels up to 16 Ki slots, about 240 KiB.
  // One 1 Mi-slot table grew by about 7 MiB here; 2 MiB leaves room for a sanitizer's
  // shadow memory.
  EXPECT_LT(after - before, std::size_t{2} << 20) << "resident growth " << (after - before);
  depot.release();
}

}  // namespace
