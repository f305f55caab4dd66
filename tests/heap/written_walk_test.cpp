// Heap::walk_written: in a forked child, the chunks on the pages the child wrote, found
// without walking each segment from its start; checked as check() checks them.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "heap/chunk.hpp"
#include "heap_test_util.hpp"
#include "platform/populated_pages.hpp"

namespace dbgalloc::heap::testing {
namespace {

constexpr std::size_t kBlocks = 4000;

struct Visited {
  void* payloads[kBlocks * 2];
  std::size_t count = 0;
  bool holds(void* p) const { return std::find(payloads, payloads + count, p) != payloads + count; }
};

void record(void* payload, std::size_t, void* context) {
  auto* visited = static_cast<Visited*>(context);
  if (visited->count < kBlocks * 2) visited->payloads[visited->count++] = payload;
}

// A heap of a few thousand blocks, half freed again in an order that merges
// neighbours (old chunk heads left inside larger free chunks), with a few blocks
// direct-mapped.
void build(Heap& heap, std::vector<void*>& live) {
  std::uint64_t seed = 99;
  for (std::size_t i = 0; i < kBlocks; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    std::size_t size = i % 997 == 0 ? 300 * 1024 : (seed >> 33) % 5000 + 1;
    void* p = heap.allocate(size);
    ASSERT_NE(p, nullptr);
    fill(p, size < 64 ? size : 64, static_cast<std::uint32_t>(i));
    live.push_back(p);
  }
  for (std::size_t i = 0; i < live.size(); i += 2) heap.deallocate(live[i]);
  for (std::size_t i = 1; i < live.size(); i += 4) heap.deallocate(live[i]);
  std::vector<void*> kept;
  for (std::size_t i = 0; i < live.size(); ++i) {
    if (i % 2 != 0 && i % 4 != 1) kept.push_back(live[i]);
  }
  live.swap(kept);
  expect_sound(heap);
}

constexpr int kNoExclusiveBit = 3;

// Runs child(pages) in a forked child, pagemap open; its return value is the child's
// exit status (kNoExclusiveBit when the kernel does not mark exclusive pages).
template <typename Child>
int in_child(Child child) {
  pid_t pid = fork();
  if (pid == 0) {
    platform::PopulatedPages pages;
    _exit(pages.open() && pages.written_pages_known() ? child(pages) : kNoExclusiveBit);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

#define EXPECT_CHILD_PASSES(status)                                                              \
  do {                                                                                           \
    if ((status) == kNoExclusiveBit) GTEST_SKIP() << "pagemap does not mark exclusive pages here"; \
    EXPECT_EQ((status), 0);                                                                      \
  } while (0)

TEST(WrittenWalk, visits_every_block_a_forked_child_allocated_and_not_the_whole_heap) {
  ScopedHeap scoped;
  std::vector<void*> inherited;
  build(scoped.heap, inherited);
  int status = in_child([&](platform::PopulatedPages& pages) {
    void* mine[64];
    for (std::size_t i = 0; i < 64; ++i) mine[i] = scoped.heap.allocate(i * 40 + 1);
    scoped.heap.deallocate(inherited[7]);  // merges in the child
    static Visited visited;
    CheckResult result = scoped.heap.walk_written(pages, record, &visited);
    if (!result.ok) return 4;
    for (void* p : mine) {
      if (!visited.holds(p)) return 5;
    }
    return visited.count < inherited.size() ? 0 : 6;
  });
  EXPECT_CHILD_PASSES(status);
}

TEST(WrittenWalk, finds_an_inherited_chunk_head_the_child_damaged) {
  ScopedHeap scoped;
  std::vector<void*> inherited;
  build(scoped.heap, inherited);
  void* victim = inherited[inherited.size() / 2];
  auto victim_chunk = reinterpret_cast<std::uintptr_t>(victim) - Heap::kHeaderSize;
  int status = in_child([&](platform::PopulatedPages& pages) {
    static_cast<std::size_t*>(victim)[-1] ^= 0x40;  // the head word: a size off by 64
    static Visited visited;
    CheckResult result = scoped.heap.walk_written(pages, record, &visited);
    return !result.ok && result.address == victim_chunk ? 0 : 4;
  });
  EXPECT_CHILD_PASSES(status);
}

TEST(WrittenWalk, finds_a_free_chunk_whose_bin_link_the_child_damaged) {
  ScopedHeap scoped;
  std::vector<void*> inherited;
  build(scoped.heap, inherited);
  // A free chunk deep in the heap: the one after a kept block whose successor was freed.
  std::uintptr_t free_chunk = 0;
  for (std::size_t i = inherited.size() / 2; i < inherited.size() && free_chunk == 0; ++i) {
    auto* c = Chunk::of(inherited[i])->after();
    if (!c->in_use() && c->size() < 8192) free_chunk = c->address();
  }
  ASSERT_NE(free_chunk, 0u);
  int status = in_child([&](platform::PopulatedPages& pages) {
    reinterpret_cast<std::uintptr_t*>(free_chunk)[2] ^= 0x100;  // its forward link
    static Visited visited;
    CheckResult result = scoped.heap.walk_written(pages, record, &visited);
    return !result.ok && result.address == free_chunk ? 0 : 4;
  });
  EXPECT_CHILD_PASSES(status);
}

TEST(WrittenWalk, without_pagemap_visits_what_walk_live_visits) {
  ScopedHeap scoped;
  std::vector<void*> live;
  build(scoped.heap, live);
  platform::PopulatedPages unopened;  // every page counts as written
  static Visited walked, all;
  ASSERT_TRUE(scoped.heap.walk_written(unopened, record, &walked).ok);
  scoped.heap.walk_live(record, &all);
  ASSERT_EQ(walked.count, all.count);
  EXPECT_TRUE(std::equal(walked.payloads, walked.payloads + walked.count, all.payloads));
  EXPECT_EQ(all.count, live.size());
}

}  // namespace
}  // namespace dbgalloc::heap::testing
