// The leak marker's rules (leaks/leak_scan.hpp) on a hand-made block table laid out as
// the heap lays blocks out: a chunk header, the block's header, then its bytes.
#include <gtest/gtest.h>

#include "leaks/leak_scan.hpp"

namespace dbgalloc::leaks {
namespace {

constexpr std::size_t kBlocks = 3;
constexpr std::size_t kWords = 10;  // 2 chunk header, 2 block header, 6 user words

struct Heap {
  alignas(16) std::uintptr_t memory[kBlocks][kWords] = {};
  Block blocks[kBlocks];
  SafeReader reader;

  Heap() {
    for (std::size_t i = 0; i < kBlocks; ++i)
      blocks[i] = Block{user(i), 6 * sizeof(std::uintptr_t), 0, 0, Reach::unreached, false, -1, begin(i)};
    EXPECT_TRUE(reader.init());
  }
  ~Heap() { reader.release(); }
  std::uintptr_t begin(std::size_t i) const { return reinterpret_cast<std::uintptr_t>(&memory[i][2]); }
  std::uintptr_t user(std::size_t i) const { return reinterpret_cast<std::uintptr_t>(&memory[i][4]); }
  std::uintptr_t end(std::size_t i) const { return user(i) + blocks[i].size; }
};

TEST(LeakMarker, a_register_holding_a_blocks_header_address_makes_it_reachable) {
  // A thread stopped while malloc hands the block out holds it by its header only.
  Heap heap;
  Marker marker(heap.blocks, kBlocks, heap.reader);
  ASSERT_TRUE(marker.init());
  marker.root_value(heap.begin(1));
  marker.root_value(heap.begin(2) + 8);
  marker.propagate();
  EXPECT_EQ(heap.blocks[0].reach, Reach::unreached);
  EXPECT_EQ(heap.blocks[1].reach, Reach::reachable);
  EXPECT_EQ(heap.blocks[2].reach, Reach::reachable);
}

TEST(LeakMarker, a_stack_word_holding_a_blocks_header_address_makes_it_reachable) {
  Heap heap;
  Marker marker(heap.blocks, kBlocks, heap.reader);
  ASSERT_TRUE(marker.init());
  std::uintptr_t stack[4] = {0, heap.begin(0), 12345, 0};
  marker.scan_root(reinterpret_cast<std::uintptr_t>(stack), reinterpret_cast<std::uintptr_t>(stack + 4));
  marker.propagate();
  EXPECT_EQ(heap.blocks[0].reach, Reach::reachable);
  EXPECT_EQ(heap.blocks[1].reach, Reach::unreached);
}

TEST(LeakMarker, a_header_address_stored_inside_a_block_is_not_a_pointer_to_it) {
  // Only the allocator holds header addresses: a block's contents pointing there keep
  // nothing alive, while its pointer to a block's start does.
  Heap heap;
  Marker marker(heap.blocks, kBlocks, heap.reader);
  ASSERT_TRUE(marker.init());
  heap.memory[0][4] = heap.begin(1);
  heap.memory[0][5] = heap.user(2);
  marker.root_value(heap.user(0));
  marker.propagate();
  EXPECT_EQ(heap.blocks[0].reach, Reach::reachable);
  EXPECT_EQ(heap.blocks[1].reach, Reach::unreached);
  EXPECT_EQ(heap.blocks[2].reach, Reach::reachable);
}

TEST(LeakMarker, roots_outside_any_block_or_in_a_chunk_header_reach_nothing) {
  Heap heap;
  Marker marker(heap.blocks, kBlocks, heap.reader);
  ASSERT_TRUE(marker.init());
  marker.root_value(heap.end(0));  // one past the end: the next chunk's header
  marker.root_value(heap.begin(1) - 8);
  marker.root_value(heap.begin(0) - 16);
  marker.root_value(heap.end(2));
  marker.propagate();
  for (const Block& block : heap.blocks) EXPECT_EQ(block.reach, Reach::unreached);
}

TEST(LeakMarker, an_interior_root_makes_a_block_possibly_reachable_only) {
  Heap heap;
  Marker marker(heap.blocks, kBlocks, heap.reader);
  ASSERT_TRUE(marker.init());
  marker.root_value(heap.user(1) + 16);
  marker.propagate();
  EXPECT_EQ(heap.blocks[1].reach, Reach::possible);
}

}  // namespace
}  // namespace dbgalloc::leaks
