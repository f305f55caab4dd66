#include <errno.h>

#include <vector>

#include "heap_test_util.hpp"

namespace dbgalloc::heap::testing {
namespace {

TEST(Heap, payloads_are_16_byte_aligned_and_hold_the_request) {
  ScopedHeap h;
  for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 100u, 1000u, 1024u, 5000u, 70000u, 300000u}) {
    void* p = h.heap.allocate(n);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
    EXPECT_GE(h.heap.usable_size(p), n);
    fill(p, n, 7);
    EXPECT_TRUE(h.heap.owns_live_block(p));
  }
  expect_sound(h.heap);
}

TEST(Heap, freeing_neighbours_coalesces_them_into_one_chunk) {
  ScopedHeap h;
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  void* c = h.heap.allocate(100);
  void* guard = h.heap.allocate(100);
  std::size_t free_before = h.heap.stats().free_chunks;
  h.heap.deallocate(a);
  h.heap.deallocate(c);
  EXPECT_EQ(h.heap.stats().free_chunks, free_before + 2);
  h.heap.deallocate(b);  // joins a, b and c
  EXPECT_EQ(h.heap.stats().free_chunks, free_before + 1);
  expect_sound(h.heap);
  // The merged chunk is reused whole: same address as a.
  void* big = h.heap.allocate(300);
  EXPECT_EQ(big, a);
  h.heap.deallocate(guard);
  expect_sound(h.heap);
}

TEST(Heap, realloc_grows_in_place_into_a_free_neighbour_and_keeps_contents) {
  ScopedHeap h;
  void* a = h.heap.allocate(64);
  void* b = h.heap.allocate(4096);
  void* fence = h.heap.allocate(64);
  fill(a, 64, 1);
  h.heap.deallocate(b);
  void* grown = h.heap.reallocate(a, 2000);
  EXPECT_EQ(grown, a);
  EXPECT_TRUE(filled(grown, 64, 1));
  EXPECT_GE(h.heap.usable_size(grown), 2000u);
  expect_sound(h.heap);
  h.heap.deallocate(fence);
}

TEST(Heap, realloc_shrinks_in_place_and_frees_the_tail) {
  ScopedHeap h;
  void* a = h.heap.allocate(8000);
  void* fence = h.heap.allocate(64);
  fill(a, 100, 3);
  std::size_t in_use = h.heap.stats().in_use_bytes;
  void* shrunk = h.heap.reallocate(a, 100);
  EXPECT_EQ(shrunk, a);
  EXPECT_TRUE(filled(shrunk, 100, 3));
  EXPECT_LT(h.heap.stats().in_use_bytes, in_use);
  expect_sound(h.heap);
  h.heap.deallocate(fence);
}

TEST(Heap, realloc_moves_when_the_neighbour_is_taken) {
  ScopedHeap h;
  void* a = h.heap.allocate(64);
  void* b = h.heap.allocate(64);
  fill(a, 64, 9);
  void* moved = h.heap.reallocate(a, 5000);
  ASSERT_NE(moved, nullptr);
  EXPECT_NE(moved, a);
  EXPECT_TRUE(filled(moved, 64, 9));
  EXPECT_FALSE(h.heap.owns_live_block(a));
  h.heap.deallocate(b);
  h.heap.deallocate(moved);
  expect_sound(h.heap);
}

TEST(Heap, aligned_allocations_honour_every_power_of_two_up_to_a_megabyte) {
  ScopedHeap h;
  std::vector<void*> blocks;
  for (std::size_t alignment = 32; alignment <= (1u << 20); alignment <<= 1) {
    for (std::size_t n : {1u, 100u, 5000u}) {
      void* p = h.heap.allocate_aligned(alignment, n);
      ASSERT_NE(p, nullptr) << alignment;
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % alignment, 0u) << alignment;
      EXPECT_GE(h.heap.usable_size(p), n);
      fill(p, n, static_cast<std::uint32_t>(alignment));
      blocks.push_back(p);
    }
  }
  expect_sound(h.heap);
  for (void* p : blocks) h.heap.deallocate(p);
  expect_sound(h.heap);
  EXPECT_EQ(h.heap.stats().live_chunks, 0u);
}

TEST(Heap, large_blocks_are_mapped_directly_and_unmapped_on_free) {
  ScopedHeap h;
  std::size_t mapped = h.heap.stats().mapped_bytes;
  void* p = h.heap.allocate(4 << 20);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(h.heap.stats().direct_blocks, 1u);
  fill(p, 4 << 20, 5);
  h.heap.deallocate(p);
  EXPECT_EQ(h.heap.stats().direct_blocks, 0u);
  EXPECT_EQ(h.heap.stats().mapped_bytes, mapped);
}

TEST(Heap, impossible_requests_fail_with_enomem) {
  ScopedHeap h;
  errno = 0;
  EXPECT_EQ(h.heap.allocate(std::size_t{1} << 62), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  void* p = h.heap.allocate(10);
  errno = 0;
  EXPECT_EQ(h.heap.reallocate(p, ~std::size_t{0} - 8), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_TRUE(h.heap.owns_live_block(p));
  expect_sound(h.heap);
}

TEST(Heap, owns_live_block_rejects_freed_interior_and_foreign_pointers) {
  ScopedHeap h;
  void* p = h.heap.allocate(256);
  void* keep = h.heap.allocate(256);
  int on_stack = 0;
  EXPECT_TRUE(h.heap.owns_live_block(p));
  EXPECT_FALSE(h.heap.owns_live_block(static_cast<char*>(p) + 16));
  EXPECT_FALSE(h.heap.owns_live_block(static_cast<char*>(p) + 1));
  EXPECT_FALSE(h.heap.owns_live_block(&on_stack));
  EXPECT_FALSE(h.heap.owns_live_block(reinterpret_cast<void*>(0x10)));
  h.heap.deallocate(p);
  EXPECT_FALSE(h.heap.owns_live_block(p));
  Heap other;
  void* foreign = other.allocate(64);
  EXPECT_FALSE(h.heap.owns_live_block(foreign));
  other.release_all();
  h.heap.deallocate(keep);
}

TEST(Heap, a_block_merged_into_free_neighbours_on_both_sides_is_not_live_again) {
  ScopedHeap h;
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  void* c = h.heap.allocate(100);
  void* d = h.heap.allocate(100);
  h.heap.deallocate(a);
  h.heap.deallocate(c);
  h.heap.deallocate(b);  // a, b and c are one free chunk now
  EXPECT_FALSE(h.heap.owns_live_block(b));
  EXPECT_FALSE(h.heap.owns_live_block(c));
  expect_sound(h.heap);
  h.heap.deallocate(d);
}

TEST(Heap, trim_returns_fully_free_segments_to_the_os) {
  ScopedHeap h;
  std::vector<void*> blocks;
  for (int i = 0; i < 3000; ++i) blocks.push_back(h.heap.allocate(1000));  // several segments
  EXPECT_GT(h.heap.stats().segments, 1u);
  for (void* p : blocks) h.heap.deallocate(p);
  h.heap.trim();
  EXPECT_EQ(h.heap.stats().segments, 0u);
  EXPECT_EQ(h.heap.stats().mapped_bytes, 0u);
  expect_sound(h.heap);
  EXPECT_NE(h.heap.allocate(10), nullptr);
}

}  // namespace
}  // namespace dbgalloc::heap::testing
