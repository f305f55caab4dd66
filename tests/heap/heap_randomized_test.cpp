#include <random>
#include <vector>

#include "heap_test_util.hpp"

namespace dbgalloc::heap::testing {
namespace {

struct Block {
  void* p;
  std::size_t size;
  std::uint32_t id;
};

std::size_t random_size(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0: return rng() % 16;
    case 1: case 2: case 3: return rng() % 256;
    case 4: case 5: return rng() % 4096;
    case 6: return rng() % 65536;
    default: return rng() % 600000;
  }
}

void run_sequence(std::uint64_t seed, int operations, int check_every) {
  ScopedHeap h;
  std::mt19937_64 rng(seed);
  std::vector<Block> live;
  std::uint32_t next_id = 1;
  for (int op = 0; op < operations; ++op) {
    unsigned choice = rng() % 10;
    if (choice < 4 || live.empty()) {
      std::size_t n = random_size(rng);
      void* p = (rng() % 8 == 0) ? h.heap.allocate_aligned(std::size_t{16} << (rng() % 10), n) : h.heap.allocate(n);
      ASSERT_NE(p, nullptr);
      fill(p, n, next_id);
      live.push_back({p, n, next_id++});
    } else if (choice < 8) {
      std::size_t index = rng() % live.size();
      Block b = live[index];
      ASSERT_TRUE(filled(b.p, b.size, b.id)) << "block " << b.id << " was overwritten";
      h.heap.deallocate(b.p);
      live[index] = live.back();
      live.pop_back();
    } else {
      Block& b = live[rng() % live.size()];
      ASSERT_TRUE(filled(b.p, b.size, b.id));
      std::size_t n = random_size(rng);
      void* p = h.heap.reallocate(b.p, n);
      ASSERT_NE(p, nullptr);
      std::size_t kept = n < b.size ? n : b.size;
      ASSERT_TRUE(filled(p, kept, b.id)) << "realloc lost contents of block " << b.id;
      b = {p, n, next_id++};
      fill(p, n, b.id);
    }
    if (op % check_every == 0) {
      CheckResult result = h.heap.check();
      ASSERT_TRUE(result.ok) << "op " << op << ": " << result.problem;
    }
  }
  for (const Block& b : live) {
    ASSERT_TRUE(filled(b.p, b.size, b.id));
    h.heap.deallocate(b.p);
  }
  expect_sound(h.heap);
  EXPECT_EQ(h.heap.stats().live_chunks, 0u);
  EXPECT_EQ(h.heap.stats().in_use_bytes, 0u);
}

TEST(HeapRandomized, long_sequences_keep_every_invariant_and_every_byte) {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) run_sequence(seed, 50000, 97);
}

TEST(HeapRandomized, check_after_every_operation_on_a_short_sequence) { run_sequence(99, 3000, 1); }

}  // namespace
}  // namespace dbgalloc::heap::testing
