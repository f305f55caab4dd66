// Concurrent inserts: threads inserting the same stacks in different orders all get
// the same id per stack, each stack is stored once, and every id reads back exactly.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "stacks/stack_depot.hpp"

namespace {

using namespace dbgalloc::stacks;

std::vector<std::uintptr_t> make_stack(std::size_t index) {
  std::vector<std::uintptr_t> frames(1 + index % 20);
  for (std::size_t i = 0; i < frames.size(); ++i) frames[i] = 0x400000 + index * 64 + i;
  return frames;
}

TEST(DepotConcurrency, threads_inserting_the_same_stacks_agree_on_ids) {
  constexpr std::size_t kStacks = 20000;
  constexpr int kThreads = 4;
  StackDepot depot{1 << 16, 16 << 20};
  std::vector<std::vector<StackId>> ids(kThreads, std::vector<StackId>(kStacks));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      for (std::size_t k = 0; k < kStacks; ++k) {
        // Each thread walks the stacks in its own order, so inserts race on every slot.
        std::size_t index = (t % 2 == 0) ? k : kStacks - 1 - k;
        auto frames = make_stack(index);
        ids[t][index] = depot.insert(frames.data(), frames.size());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t index = 0; index < kStacks; ++index) {
    for (int t = 1; t < kThreads; ++t) ASSERT_EQ(ids[t][index], ids[0][index]) << index;
    std::uintptr_t frames[kMaxFrames];
    std::size_t n = depot.get(ids[0][index], frames, kMaxFrames);
    ASSERT_EQ(std::vector<std::uintptr_t>(frames, frames + n), make_stack(index));
  }
  auto stats = depot.stats();
  EXPECT_EQ(stats.stacks_stored, kStacks);
  EXPECT_EQ(stats.dropped, 0u);
  depot.release();
}

TEST(DepotConcurrency, threads_inserting_distinct_stacks_get_distinct_ids) {
  constexpr std::size_t kPerThread = 10000;
  constexpr int kThreads = 4;
  StackDepot depot{1 << 17, 32 << 20};
  std::vector<std::vector<StackId>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t k = 0; k < kPerThread; ++k) {
        auto frames = make_stack(t * kPerThread + k);
        ids[t].push_back(depot.insert(frames.data(), frames.size()));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<StackId> all;
  for (auto& list : ids) all.insert(all.end(), list.begin(), list.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  EXPECT_EQ(depot.stats().stacks_stored, kThreads * kPerThread);
  EXPECT_EQ(depot.stats().wasted_records, 0u);
  depot.release();
}

}  // namespace
