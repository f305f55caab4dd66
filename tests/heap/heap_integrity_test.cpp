// The heap's keyed metadata words (heap/integrity.hpp): a word changed without the key
// is refused wherever the heap acts on it, noted as a Fault naming the chunk, and
// never handed out as memory. One test per place the heap reads such a word.
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "heap/arenas.hpp"
#include "heap/integrity.hpp"
#include "heap_test_util.hpp"

namespace dbgalloc::heap::testing {
namespace {

constexpr std::uint64_t kValue = (std::uint64_t{1} << 48) - 1;

std::uint64_t* head_word(void* payload) { return reinterpret_cast<std::uint64_t*>(payload) - 1; }
std::uint64_t* prev_word(void* payload) { return reinterpret_cast<std::uint64_t*>(payload) - 2; }
std::uintptr_t chunk_of(void* payload) { return reinterpret_cast<std::uintptr_t>(payload) - Heap::kHeaderSize; }

// What a forger without the key does: changes the value bits, keeps the tag bits.
void add_to_value(std::uint64_t* word, std::uint64_t delta) { *word = (*word & ~kValue) | ((*word + delta) & kValue); }

// The fault noted since the last call, at `chunk`.
void expect_fault_at(std::uintptr_t chunk) {
  Fault fault;
  ASSERT_TRUE(take_fault(&fault)) << "no fault noted";
  EXPECT_EQ(fault.address, chunk) << fault.problem;
  EXPECT_NE(fault.problem, nullptr);
}

void expect_no_fault() {
  Fault fault;
  EXPECT_FALSE(take_fault(&fault)) << fault.problem;
}

class HeapIntegrity : public ::testing::Test {
 protected:
  void SetUp() override {
    Fault stale;
    take_fault(&stale);
  }
  ScopedHeap h;
};

TEST_F(HeapIntegrity, a_forged_size_word_is_refused_at_free) {
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  std::uint64_t saved = *head_word(a);
  add_to_value(head_word(a), 208);  // 112 -> 320: the chunk would cover b
  EXPECT_FALSE(h.heap.owns_live_block(a));
  EXPECT_FALSE(h.heap.deallocate(a));
  expect_fault_at(chunk_of(a));
  EXPECT_FALSE(h.heap.check().ok);
  *head_word(a) = saved;
  EXPECT_TRUE(h.heap.deallocate(a));
  EXPECT_TRUE(h.heap.deallocate(b));
  expect_sound(h.heap);
  expect_no_fault();
}

TEST_F(HeapIntegrity, the_old_size_word_with_flags_kept_is_refused_whatever_the_size) {
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  std::uint64_t saved = *head_word(a);
  for (std::uint64_t size : {32u, 96u, 320u, 4096u}) {  // the real one is 128
    *head_word(a) = (saved & ~(kValue & ~std::uint64_t{15})) | size;
    EXPECT_FALSE(h.heap.deallocate(a)) << size;
    expect_fault_at(chunk_of(a));
  }
  *head_word(a) = saved;
  h.heap.deallocate(a);
  h.heap.deallocate(b);
}

TEST_F(HeapIntegrity, a_forged_size_word_is_refused_at_realloc_and_the_neighbour_is_not_copied) {
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  fill(b, 100, 7);
  std::uint64_t saved = *head_word(a);
  add_to_value(head_word(a), 208);
  EXPECT_FALSE(h.heap.resize_in_place(a, 200));
  expect_fault_at(chunk_of(a));
  EXPECT_EQ(h.heap.reallocate(a, 400), nullptr);
  expect_fault_at(chunk_of(a));
  EXPECT_TRUE(filled(b, 100, 7));
  *head_word(a) = saved;
  h.heap.deallocate(a);
  h.heap.deallocate(b);
  expect_sound(h.heap);
}

TEST_F(HeapIntegrity, growing_in_place_refuses_a_forged_neighbour) {
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  void* c = h.heap.allocate(100);
  h.heap.deallocate(b);
  std::uint64_t saved = *head_word(b);
  add_to_value(head_word(b), 4096);  // a free neighbour that claims to be bigger
  EXPECT_FALSE(h.heap.resize_in_place(a, 300));
  expect_fault_at(chunk_of(b));
  *head_word(b) = saved;
  EXPECT_TRUE(h.heap.resize_in_place(a, 200));
  h.heap.deallocate(a);
  h.heap.deallocate(c);
  expect_sound(h.heap);
}

TEST_F(HeapIntegrity, coalescing_refuses_a_forged_previous_size_word) {
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  void* c = h.heap.allocate(100);
  h.heap.deallocate(a);  // b's prev_size now holds a's size
  std::uint64_t saved = *prev_word(b);
  add_to_value(prev_word(b), 64);  // the merge would start inside memory before a
  EXPECT_FALSE(h.heap.deallocate(b));
  expect_fault_at(chunk_of(b));
  *prev_word(b) = saved;
  EXPECT_TRUE(h.heap.deallocate(b));
  h.heap.deallocate(c);
  expect_sound(h.heap);
}

TEST_F(HeapIntegrity, a_cleared_prev_in_use_bit_alone_does_not_merge_with_a_live_block) {
  // PINUSE is outside the head's tag; the previous-size word it would make the heap
  // read was zeroed when the block before was handed out, so the merge is refused.
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  void* c = h.heap.allocate(100);
  fill(a, 100, 5);
  *head_word(b) &= ~std::uint64_t{2};
  EXPECT_FALSE(h.heap.deallocate(b));
  expect_fault_at(chunk_of(b));
  EXPECT_TRUE(filled(a, 100, 5));
  *head_word(b) |= 2;
  EXPECT_TRUE(h.heap.deallocate(b));
  h.heap.deallocate(a);
  h.heap.deallocate(c);
  expect_sound(h.heap);
  expect_no_fault();
}

TEST_F(HeapIntegrity, a_tag_names_the_kind_of_word_so_an_old_link_never_reads_as_another_word) {
  // Chunk boundaries move: a free chunk's link may later sit where a previous-size word
  // (or, 8 bytes on, a size word) is read. Its tag passes only as the link it was.
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  h.heap.deallocate(a);
  auto* links = static_cast<std::uint64_t*>(a);  // fd, then bk
  EXPECT_TRUE(integrity::intact(&links[0], links[0], kValue, integrity::kNextLink));
  EXPECT_TRUE(integrity::intact(&links[1], links[1], kValue, integrity::kPrevLink));
  for (auto role : {integrity::kHead, integrity::kPrevSize, integrity::kPrevLink})
    EXPECT_FALSE(integrity::intact(&links[0], links[0], kValue, role)) << role;
  for (auto role : {integrity::kHead, integrity::kPrevSize, integrity::kNextLink})
    EXPECT_FALSE(integrity::intact(&links[1], links[1], kValue, role)) << role;
  h.heap.deallocate(b);
}

TEST_F(HeapIntegrity, coalescing_refuses_a_forged_free_neighbour_after) {
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  void* c = h.heap.allocate(100);
  h.heap.deallocate(b);
  std::uint64_t saved = *head_word(b);
  add_to_value(head_word(b), 128);  // would swallow c, which is live
  EXPECT_FALSE(h.heap.deallocate(a));
  expect_fault_at(chunk_of(b));
  *head_word(b) = saved;
  EXPECT_TRUE(h.heap.deallocate(a));
  h.heap.deallocate(c);
  expect_sound(h.heap);
}

TEST_F(HeapIntegrity, a_forged_free_chunk_is_never_split_or_handed_out) {
  void* a = h.heap.allocate(1000);
  void* live = h.heap.allocate(100);
  fill(live, 100, 3);
  h.heap.deallocate(a);
  add_to_value(head_word(a), 4096);  // a free chunk claiming the live block's memory
  void* p = h.heap.allocate(1000);   // a's bin: split from a's forged size, it would end past live
  expect_fault_at(chunk_of(a));
  ASSERT_NE(p, nullptr);  // served elsewhere
  EXPECT_NE(p, a);
  auto begin = reinterpret_cast<std::uintptr_t>(p);
  auto live_begin = reinterpret_cast<std::uintptr_t>(live);
  EXPECT_TRUE(begin + 1000 <= live_begin - Heap::kHeaderSize || begin >= live_begin + 100);
  EXPECT_TRUE(filled(live, 100, 3));
}

TEST_F(HeapIntegrity, a_forged_bin_link_is_not_followed) {
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  h.heap.deallocate(a);
  alignas(16) static unsigned char elsewhere[256];
  static_cast<void**>(a)[0] = elsewhere + 16;  // a's forward link, untagged
  void* p = h.heap.allocate(100);
  EXPECT_NE(p, static_cast<void*>(elsewhere + 32));
  EXPECT_FALSE(h.heap.check().ok);
  expect_fault_at(chunk_of(a));
  h.heap.deallocate(b);
}

TEST_F(HeapIntegrity, trim_leaves_a_segment_whose_first_chunk_is_forged) {
  void* a = h.heap.allocate(100);  // the first chunk of the first segment
  h.heap.deallocate(a);
  std::uint64_t saved = *head_word(a);
  add_to_value(head_word(a), 16);
  EXPECT_EQ(h.heap.trim(), 0u);
  expect_fault_at(chunk_of(a));
  *head_word(a) = saved;
}

std::size_t count_live(const Heap& heap) {
  std::size_t count = 0;
  heap.walk_live([](void*, std::size_t, void* context) { ++*static_cast<std::size_t*>(context); }, &count);
  return count;
}

TEST_F(HeapIntegrity, walks_stop_at_a_forged_word_and_check_names_it) {
  void* a = h.heap.allocate(100);
  void* b = h.heap.allocate(100);
  void* c = h.heap.allocate(100);
  EXPECT_EQ(count_live(h.heap), 3u);
  std::uint64_t saved = *head_word(b);
  add_to_value(head_word(b), 128);  // b would seem to hold c's memory
  EXPECT_EQ(count_live(h.heap), 1u);
  EXPECT_EQ(h.heap.find_live_block_containing(reinterpret_cast<std::uintptr_t>(c) + 8), nullptr);
  CheckResult result = h.heap.check();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.address, chunk_of(b));
  EXPECT_FALSE(h.heap.check_around(reinterpret_cast<std::uintptr_t>(b)).ok);
  *head_word(b) = saved;
  for (void* p : {a, b, c}) h.heap.deallocate(p);
}

TEST_F(HeapIntegrity, a_thread_cache_entry_forged_while_cached_is_dropped_and_noted) {
  // The cache remembers damage for the rest of the process: in a child.
  pid_t child = fork();
  if (child == 0) {
    Fault stale;
    take_fault(&stale);
    void* p = arenas().allocate(80);
    void* neighbour = arenas().allocate(80);
    if (!arenas().deallocate(p)) _exit(2);  // cached
    add_to_value(head_word(p), 96);          // would cover the neighbour
    void* q = arenas().allocate(80);
    if (q == p) _exit(3);
    Fault fault;
    if (!take_fault(&fault) || fault.address != chunk_of(p)) _exit(4);
    if (!arenas().deallocate(neighbour)) _exit(5);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(HeapIntegrity, a_live_block_forged_before_its_free_is_not_cached) {
  pid_t child = fork();
  if (child == 0) {
    void* p = arenas().allocate(80);
    add_to_value(head_word(p), 96);
    if (arenas().deallocate(p)) _exit(2);  // refused: neither cached nor freed
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(HeapIntegrity, a_direct_block_with_a_forged_offset_word_is_refused) {
  void* a = h.heap.allocate(Heap::kDirectThreshold * 2);
  std::uint64_t saved = *prev_word(a);
  add_to_value(prev_word(a), 4096);
  EXPECT_FALSE(h.heap.owns_live_block(a));
  EXPECT_FALSE(h.heap.deallocate(a));
  expect_fault_at(chunk_of(a));
  *prev_word(a) = saved;
  EXPECT_TRUE(h.heap.deallocate(a));
}

}  // namespace
}  // namespace dbgalloc::heap::testing
