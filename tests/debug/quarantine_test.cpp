// Quarantine: FIFO order through ring growth, the byte budget covering the ring, the
// count budget, and a ring whose touched memory follows the blocks held, not the
// number of frees.
#include <gtest/gtest.h>

#include <iterator>
#include <vector>

#include "debug/quarantine.hpp"

namespace {

using dbgalloc::debug::Quarantine;

constexpr std::size_t kMiB = std::size_t{1} << 20;

// Pushes entry `n` (user = n * 16) and appends whatever falls out to `out`.
void push(Quarantine& q, std::size_t n, std::size_t bytes, std::vector<std::uintptr_t>* out) {
  Quarantine::Entry evicted[16];
  std::size_t count = 0;
  ASSERT_TRUE(q.push({n * 16, bytes}, evicted, 16, &count));
  for (std::size_t i = 0; i < count; ++i) out->push_back(evicted[i].user / 16);
  while (count == 16) {
    count = q.evict(evicted, 16, false);
    for (std::size_t i = 0; i < count; ++i) out->push_back(evicted[i].user / 16);
  }
}

std::vector<std::uintptr_t> drain(Quarantine& q) {
  std::vector<std::uintptr_t> out;
  Quarantine::Entry evicted[16];
  std::size_t count;
  while ((count = q.evict(evicted, 16, true)) > 0)
    for (std::size_t i = 0; i < count; ++i) out.push_back(evicted[i].user / 16);
  return out;
}

TEST(Quarantine, fifo_order_survives_ring_growth) {
  Quarantine q;
  q.configure(1024 * kMiB, 1 << 20);
  std::vector<std::uintptr_t> out;
  for (std::size_t n = 1; n <= 10000; ++n) push(q, n, 64, &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(q.blocks(), 10000u);
  EXPECT_EQ(q.active_entries(), 16384u);
  std::vector<std::uintptr_t> seen;
  q.for_each([&](const Quarantine::Entry& e) { seen.push_back(e.user / 16); });
  ASSERT_EQ(seen.size(), 10000u);
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], i + 1);
  auto drained = drain(q);
  ASSERT_EQ(drained.size(), 10000u);
  for (std::size_t i = 0; i < drained.size(); ++i) ASSERT_EQ(drained[i], i + 1);
}

TEST(Quarantine, fifo_order_survives_growth_of_a_wrapped_ring) {
  Quarantine q;
  // A byte budget of 3000 blocks of 64 bytes and the first 4096-entry ring, so the
  // ring wraps; then a larger budget, so it grows while wrapped.
  q.configure(3000 * 64 + Quarantine::kInitialActive * sizeof(Quarantine::Entry), 1 << 20);
  std::vector<std::uintptr_t> out;
  for (std::size_t n = 1; n <= 5000; ++n) push(q, n, 64, &out);  // evicts 1..2000 and a batch
  const std::size_t batch = (3000 * 64 + Quarantine::kInitialActive * sizeof(Quarantine::Entry)) /
                            Quarantine::kBatchFraction / 64 + 1;
  ASSERT_GE(out.size(), 2000u);
  ASSERT_LE(out.size(), 2000u + batch);
  const std::size_t evicted = out.size();
  ASSERT_EQ(q.active_entries(), Quarantine::kInitialActive);
  q.configure(1024 * kMiB, 1 << 20);
  for (std::size_t n = 5001; n <= 20000; ++n) push(q, n, 64, &out);  // grows twice
  EXPECT_EQ(out.size(), evicted);
  EXPECT_EQ(q.active_entries(), 32768u);
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], i + 1);
  auto drained = drain(q);
  ASSERT_EQ(drained.size(), 20000u - evicted);
  for (std::size_t i = 0; i < drained.size(); ++i) ASSERT_EQ(drained[i], evicted + 1 + i);
}

TEST(Quarantine, byte_budget_covers_the_ring) {
  Quarantine q;
  q.configure(1 * kMiB, 1 << 20);
  std::vector<std::uintptr_t> out;
  std::size_t held_bytes = 0;
  for (std::size_t n = 1; n <= 100000; ++n) push(q, n, 50, &out);
  q.for_each([&](const Quarantine::Entry& e) { held_bytes += e.bytes; });
  EXPECT_EQ(q.bytes(), held_bytes + q.active_entries() * sizeof(Quarantine::Entry));
  EXPECT_LE(q.bytes(), 1 * kMiB);
  // Evictions come in batches down to 1/kBatchFraction under the budget.
  EXPECT_GT(q.bytes(), 1 * kMiB - kMiB / Quarantine::kBatchFraction - 50);
  // 50-byte blocks and 16 bytes of ring per entry of the active ring: 16384 entries
  // (256 KiB) leave room for 15728 blocks, too few to fill the ring and grow it again.
  EXPECT_EQ(q.active_entries(), 16384u);
  EXPECT_LE(q.blocks(), (kMiB - 16384 * 16) / 50);
  EXPECT_GE(q.blocks(), (kMiB - kMiB / Quarantine::kBatchFraction - 16384 * 16) / 50);
  // FIFO: the newest are held.
  EXPECT_EQ(out.size(), 100000u - q.blocks());
  drain(q);
}

TEST(Quarantine, evicts_in_batches_down_to_the_low_water_mark) {
  Quarantine q;
  q.configure(64 * 1024 + Quarantine::kInitialActive * sizeof(Quarantine::Entry), 1 << 20);
  std::vector<std::uintptr_t> out;
  std::size_t n = 0;
  while (out.empty()) push(q, ++n, 64, &out);
  // The first push over the budget evicts a whole batch: 1/kBatchFraction of the budget.
  const std::size_t budget = 64 * 1024 + Quarantine::kInitialActive * sizeof(Quarantine::Entry);
  EXPECT_EQ(n, 64 * 1024 / 64 + 1);
  EXPECT_GE(out.size() * 64, budget / Quarantine::kBatchFraction);
  EXPECT_LE(q.bytes(), budget - budget / Quarantine::kBatchFraction);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], i + 1);
  // Then nothing leaves until the budget is exceeded again.
  std::size_t batch = out.size();
  for (std::size_t i = 1; i < batch; ++i) push(q, ++n, 64, &out);
  EXPECT_EQ(out.size(), batch);
  push(q, ++n, 64, &out);
  EXPECT_EQ(out.size(), 2 * batch);
  drain(q);
}

TEST(Quarantine, count_budget_bounds_the_blocks) {
  Quarantine q;
  q.configure(1024 * kMiB, 10);
  std::vector<std::uintptr_t> out;
  for (std::size_t n = 1; n <= 1000; ++n) push(q, n, 64, &out);
  EXPECT_EQ(q.blocks(), 10u);
  EXPECT_EQ(q.active_entries(), 11u);  // the whole (count + 1)-entry mapping
  EXPECT_EQ(out.size(), 990u);
  auto drained = drain(q);
  ASSERT_EQ(drained.size(), 10u);
  EXPECT_EQ(drained.front(), 991u);
}

// Millions of frees through a quarantine that holds about a thousand blocks: the ring
// stays at its first 4096 entries (64 KiB), where a ring cycling through its whole
// mapping would touch all (quarantine_blocks + 1) x 16 bytes of it.
TEST(Quarantine, ring_memory_follows_the_blocks_held) {
  Quarantine q;
  q.configure(1 * kMiB, 1 << 20);
  std::vector<std::uintptr_t> out;
  out.reserve(2100000);
  for (std::size_t n = 1; n <= 2000000; ++n) push(q, n, 1000, &out);
  EXPECT_LT(q.blocks(), 1100u);
  EXPECT_EQ(q.active_entries(), Quarantine::kInitialActive);
  drain(q);
}

// A thread's batch enters behind what is already held, oldest first, and is emptied;
// a ring at its count budget makes room for the whole batch from its oldest entries.
TEST(Quarantine, a_batch_enters_in_order_and_is_emptied) {
  Quarantine q;
  q.configure(1024 * kMiB, 100);
  std::vector<std::uintptr_t> out;
  for (std::size_t n = 1; n <= 90; ++n) push(q, n, 64, &out);
  Quarantine::Batch batch{};
  for (std::size_t n = 91; n <= 120; ++n) {
    batch.entries[batch.count++] = {n * 16, 64};
    batch.bytes += 64;
  }
  Quarantine::Entry evicted[Quarantine::kBatchEntries + 16];
  std::size_t count = 0;
  ASSERT_TRUE(q.push_batch(batch, evicted, std::size(evicted), &count));
  EXPECT_EQ(batch.count, 0u);
  EXPECT_EQ(batch.bytes, 0u);
  // 120 blocks against a budget of 100: the 20 oldest and then a batch down to the
  // low-water mark (100 - 100 / kBatchFraction blocks).
  const std::size_t low_water = 100 - 100 / Quarantine::kBatchFraction;
  ASSERT_EQ(count, 120u - low_water);
  for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(evicted[i].user / 16, i + 1);
  auto drained = drain(q);
  ASSERT_EQ(drained.size(), low_water);
  for (std::size_t i = 0; i < drained.size(); ++i) ASSERT_EQ(drained[i], count + 1 + i);
}

TEST(Quarantine, no_budget_holds_nothing) {
  Quarantine q;
  q.configure(0, 1 << 20);
  Quarantine::Entry evicted[16];
  std::size_t count = 0;
  EXPECT_FALSE(q.push({16, 64}, evicted, 16, &count));
  q.configure(1 * kMiB, 1 << 20);
  EXPECT_FALSE(q.push({16, 2 * kMiB}, evicted, 16, &count));  // larger than the budget
  EXPECT_EQ(q.blocks(), 0u);
}

}  // namespace
