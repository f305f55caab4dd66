// check() must notice broken invariants, or the randomized tests prove nothing.
#include "heap_test_util.hpp"

namespace dbgalloc::heap::testing {
namespace {

std::size_t* header_of(void* payload) { return reinterpret_cast<std::size_t*>(payload) - 1; }

TEST(HeapCheck, notices_an_overwritten_size_field) {
  ScopedHeap h;
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  expect_sound(h.heap);
  std::size_t saved = *header_of(b);
  *header_of(b) = saved + 32;
  CheckResult result = h.heap.check();
  EXPECT_FALSE(result.ok);
  *header_of(b) = saved;
  expect_sound(h.heap);
  h.heap.deallocate(a);
  h.heap.deallocate(b);
}

TEST(HeapCheck, notices_a_cleared_in_use_bit) {
  ScopedHeap h;
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  *header_of(a) &= ~std::size_t{1};
  CheckResult result = h.heap.check();
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.problem, nullptr);
  *header_of(a) |= 1;
  expect_sound(h.heap);
  h.heap.deallocate(b);
}

TEST(HeapCheck, notices_a_broken_footer_of_a_free_chunk) {
  ScopedHeap h;
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  void* c = h.heap.allocate(100);
  h.heap.deallocate(a);
  // b's prev_size is a's footer.
  std::size_t* footer = header_of(b) - 1;
  std::size_t saved = *footer;
  *footer = saved + 16;
  EXPECT_FALSE(h.heap.check().ok);
  *footer = saved;
  expect_sound(h.heap);
  h.heap.deallocate(b);
  h.heap.deallocate(c);
}

TEST(HeapCheck, notices_a_corrupted_bin_link) {
  ScopedHeap h;
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  h.heap.deallocate(a);
  void** links = static_cast<void**>(a);
  void* saved = links[0];
  links[0] = b;
  EXPECT_FALSE(h.heap.check().ok);
  links[0] = saved;
  expect_sound(h.heap);
  h.heap.deallocate(b);
}

// check_around(): the fuzzers' per-operation check sees the same damage near a block.
std::uintptr_t address_of(void* p) { return reinterpret_cast<std::uintptr_t>(p); }

TEST(HeapCheckAround, is_sound_around_live_freed_and_merged_blocks) {
  ScopedHeap h;
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  void* c = h.heap.allocate(100);
  EXPECT_TRUE(h.heap.check_around(address_of(b)).ok);
  h.heap.deallocate(a);
  EXPECT_TRUE(h.heap.check_around(address_of(a)).ok);
  h.heap.deallocate(b);  // merges into a's free chunk
  EXPECT_TRUE(h.heap.check_around(address_of(b)).ok);
  EXPECT_TRUE(h.heap.check_around(address_of(c)).ok);
  h.heap.deallocate(c);
  expect_sound(h.heap);
}

TEST(HeapCheckAround, notices_an_overwritten_size_field) {
  ScopedHeap h;
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  std::size_t saved = *header_of(b);
  *header_of(b) = saved + 32;
  EXPECT_FALSE(h.heap.check_around(address_of(b)).ok);
  *header_of(b) = saved;
  EXPECT_TRUE(h.heap.check_around(address_of(b)).ok);
  h.heap.deallocate(a);
  h.heap.deallocate(b);
}

TEST(HeapCheckAround, notices_a_broken_footer_of_a_free_neighbour) {
  ScopedHeap h;
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  void* c = h.heap.allocate(100);
  h.heap.deallocate(a);
  std::size_t* footer = header_of(b) - 1;
  std::size_t saved = *footer;
  *footer = saved + 16;
  EXPECT_FALSE(h.heap.check_around(address_of(b)).ok);
  *footer = saved;
  EXPECT_TRUE(h.heap.check_around(address_of(b)).ok);
  h.heap.deallocate(b);
  h.heap.deallocate(c);
}

TEST(HeapCheckAround, notices_a_corrupted_bin_link_of_a_freed_block) {
  ScopedHeap h;
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  h.heap.deallocate(a);
  void** links = static_cast<void**>(a);
  void* saved = links[0];
  links[0] = b;
  EXPECT_FALSE(h.heap.check_around(address_of(a)).ok);
  links[0] = saved;
  EXPECT_TRUE(h.heap.check_around(address_of(a)).ok);
  h.heap.deallocate(b);
}

}  // namespace
}  // namespace dbgalloc::heap::testing
