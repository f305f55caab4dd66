// The per-thread cache of the arenas (thread_cache.hpp): a cached block is not live to
// anyone (walks, double frees, lookups), it is set up before a walk can see it, it is
// bounded, and it goes back to the heaps on trim, at thread exit and in a forked child.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "heap/arenas.hpp"
#include "heap/thread_cache.hpp"
#include "heap_test_util.hpp"

namespace dbgalloc::heap::testing {
namespace {

void expect_arenas_sound() {
  CheckResult result = arenas().check();
  EXPECT_TRUE(result.ok) << result.problem << " at 0x" << std::hex << result.address;
}

// Each test starts and ends with an empty cache on the calling thread.
class ThreadCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { arenas().flush_thread_cache(); }
  void TearDown() override {
    arenas().flush_thread_cache();
    expect_arenas_sound();
  }
};

struct Seen {
  const void* wanted;
  bool seen = false;
};

void note_if_wanted(void* payload, std::size_t, void* context) {
  auto* seen = static_cast<Seen*>(context);
  if (payload == seen->wanted) seen->seen = true;
}

bool walk_sees(const void* p) {
  Seen seen{p};
  arenas().walk_live(note_if_wanted, &seen);
  return seen.seen;
}

TEST_F(ThreadCacheTest, a_freed_small_block_is_cached_and_no_longer_live) {
  void* p = arenas().allocate(40);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(arenas().owns_live_block(p));
  EXPECT_TRUE(walk_sees(p));
  std::size_t cached_before = arenas().stats().cached_chunks;
  ASSERT_TRUE(arenas().deallocate(p));
  EXPECT_EQ(arenas().stats().cached_chunks, cached_before + 1);
  EXPECT_FALSE(arenas().owns_live_block(p));
  EXPECT_EQ(arenas().usable_size(p), 0u);
  EXPECT_EQ(arenas().find_live_block_containing(static_cast<char*>(p) + 8), nullptr);
  EXPECT_FALSE(walk_sees(p));
  expect_arenas_sound();
}

TEST_F(ThreadCacheTest, a_double_free_of_a_cached_block_is_refused) {
  void* p = arenas().allocate(64);
  void* q = arenas().allocate(64);
  ASSERT_TRUE(arenas().deallocate(p));
  EXPECT_FALSE(arenas().deallocate(p));
  expect_arenas_sound();
  // The cache holds p once: the next two allocations of the size are not both p.
  void* a = arenas().allocate(64);
  void* b = arenas().allocate(64);
  EXPECT_EQ(a, p);
  EXPECT_NE(b, p);
  EXPECT_NE(b, q);
  for (void* block : {a, b, q}) EXPECT_TRUE(arenas().deallocate(block));
}

TEST_F(ThreadCacheTest, a_block_from_the_cache_is_set_up_before_it_turns_live) {
  void* p = arenas().allocate(100);
  ASSERT_TRUE(arenas().deallocate(p));
  struct Setup {
    bool live_during_init = true;
    bool walked_during_init = true;
    std::size_t usable = 0;
  } setup;
  Arenas::Initializer initializer{[](void* payload, std::size_t usable, void* context) {
                                    auto* s = static_cast<Setup*>(context);
                                    s->live_during_init = arenas().owns_live_block(payload);
                                    s->walked_during_init = walk_sees(payload);
                                    s->usable = usable;
                                    std::memset(payload, 0xab, usable);
                                  },
                                  &setup};
  std::size_t usable = 0;
  void* again = arenas().allocate(100, &usable, initializer);
  ASSERT_EQ(again, p);  // from the cache
  EXPECT_FALSE(setup.live_during_init);
  EXPECT_FALSE(setup.walked_during_init);
  EXPECT_GE(setup.usable, 100u);
  EXPECT_EQ(usable, setup.usable);
  EXPECT_TRUE(arenas().owns_live_block(again));
  EXPECT_TRUE(walk_sees(again));
  EXPECT_EQ(arenas().usable_size(again), usable);
  EXPECT_TRUE(arenas().deallocate(again));
}

TEST_F(ThreadCacheTest, statistics_count_cached_blocks_as_neither_live_nor_lost) {
  ArenaStats before = arenas().stats();
  std::vector<void*> blocks;
  for (int i = 0; i < 200; ++i) blocks.push_back(arenas().allocate(16 + static_cast<std::size_t>(i % 50) * 16));
  ArenaStats during = arenas().stats();
  EXPECT_EQ(during.allocations - before.allocations, 200u);
  EXPECT_EQ(during.heap.live_chunks - before.heap.live_chunks, 200u);
  for (void* p : blocks) ASSERT_TRUE(arenas().deallocate(p));
  ArenaStats after = arenas().stats();
  EXPECT_EQ(after.frees - before.frees, 200u);
  EXPECT_EQ(after.heap.live_chunks, before.heap.live_chunks);
  EXPECT_EQ(after.heap.in_use_bytes, before.heap.in_use_bytes);
  EXPECT_GT(after.cached_chunks, 0u);
}

TEST_F(ThreadCacheTest, the_cache_is_bounded_per_size_and_in_bytes) {
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(arenas().allocate(48));
  for (void* p : blocks) arenas().deallocate(p);
  EXPECT_LE(arenas().stats().cached_chunks, ThreadCache::kSlots);
  blocks.clear();
  for (int i = 0; i < 4000; ++i) blocks.push_back(arenas().allocate(16 + static_cast<std::size_t>(i % 63) * 16));
  for (void* p : blocks) arenas().deallocate(p);
  ArenaStats stats = arenas().stats();
  EXPECT_LE(stats.cached_bytes, ThreadCache::kMaxBytes);
  EXPECT_LE(stats.cached_chunks, ThreadCache::kSlots * ThreadCache::kClasses);
  expect_arenas_sound();
}

TEST_F(ThreadCacheTest, large_blocks_bypass_the_cache) {
  std::size_t cached_before = arenas().stats().cached_chunks;
  void* p = arenas().allocate(ThreadCache::kMaxRequest + 1);
  ASSERT_TRUE(arenas().deallocate(p));
  EXPECT_EQ(arenas().stats().cached_chunks, cached_before);
  EXPECT_FALSE(arenas().deallocate(p));
}

TEST_F(ThreadCacheTest, trim_flushes_the_calling_threads_cache) {
  void* p = arenas().allocate(200);
  ASSERT_TRUE(arenas().deallocate(p));
  EXPECT_GT(arenas().stats().cached_chunks, 0u);
  arenas().trim();
  EXPECT_EQ(arenas().stats().cached_chunks, 0u);
  expect_arenas_sound();
}

TEST_F(ThreadCacheTest, a_cross_thread_free_is_cached_by_the_freeing_thread_and_returned_at_its_exit) {
  std::vector<void*> blocks;
  for (int i = 0; i < 64; ++i) blocks.push_back(arenas().allocate(24 + static_cast<std::size_t>(i) * 8));
  ArenaStats before = arenas().stats();
  std::size_t cached_in_thread = 0;
  std::thread freer([&] {
    for (void* p : blocks) EXPECT_TRUE(arenas().deallocate(p));
    cached_in_thread = arenas().stats().cached_chunks - before.cached_chunks;
    for (void* p : blocks) EXPECT_FALSE(arenas().deallocate(p));  // double frees, other thread's cache
  });
  freer.join();
  EXPECT_GT(cached_in_thread, 0u);
  ArenaStats after = arenas().stats();
  EXPECT_EQ(after.cached_chunks, before.cached_chunks);  // the exiting thread gave them back
  EXPECT_EQ(after.heap.live_chunks, before.heap.live_chunks - blocks.size());
  for (void* p : blocks) EXPECT_FALSE(arenas().owns_live_block(p));
  expect_arenas_sound();
}

TEST_F(ThreadCacheTest, blocks_a_thread_allocated_from_its_cache_are_returned_at_its_exit) {
  ArenaStats before = arenas().stats();
  std::thread worker([] {
    for (int round = 0; round < 10; ++round) {
      std::vector<void*> blocks;
      for (int i = 0; i < 300; ++i) blocks.push_back(arenas().allocate(static_cast<std::size_t>(i % 70) * 16));
      for (void* p : blocks) EXPECT_TRUE(arenas().deallocate(p));
    }
  });
  worker.join();
  ArenaStats after = arenas().stats();
  EXPECT_EQ(after.cached_chunks, before.cached_chunks);
  EXPECT_EQ(after.heap.live_chunks, before.heap.live_chunks);
  EXPECT_EQ(after.heap.in_use_bytes, before.heap.in_use_bytes);
  EXPECT_EQ(after.allocations - before.allocations, 3000u);
  EXPECT_EQ(after.frees - before.frees, 3000u);
}

TEST_F(ThreadCacheTest, with_the_cache_off_frees_go_straight_back) {
  arenas().set_thread_cache_enabled(false);
  void* p = arenas().allocate(32);
  ASSERT_TRUE(arenas().deallocate(p));
  EXPECT_EQ(arenas().stats().cached_chunks, 0u);
  EXPECT_FALSE(arenas().deallocate(p));
  arenas().set_thread_cache_enabled(true);
  p = arenas().allocate(32);
  std::size_t cached = arenas().stats().cached_chunks;
  ASSERT_TRUE(arenas().deallocate(p));
  EXPECT_EQ(arenas().stats().cached_chunks, cached + 1);
}

std::size_t* head_word(void* payload) { return reinterpret_cast<std::size_t*>(payload) - 1; }

TEST_F(ThreadCacheTest, check_notices_a_cached_entry_whose_header_was_overwritten) {
  void* p = arenas().allocate(80);
  ASSERT_TRUE(arenas().deallocate(p));
  std::size_t saved = *head_word(p);
  *head_word(p) = saved + 32;  // an overflow from the block before
  CheckResult result = arenas().check();
  EXPECT_FALSE(result.ok);
  *head_word(p) = saved;
}

TEST_F(ThreadCacheTest, check_notices_a_cached_entry_that_lost_its_mark) {
  void* p = arenas().allocate(80);
  std::size_t usable = arenas().usable_size(p);
  ASSERT_TRUE(arenas().deallocate(p));
  // The footer, just past the payload: a write past the end of the freed block.
  auto* footer = reinterpret_cast<std::size_t*>(static_cast<char*>(p) + usable);
  std::size_t saved = *footer;
  *footer = 0;
  CheckResult result = arenas().check();
  EXPECT_FALSE(result.ok);
  EXPECT_STREQ(result.problem, "cached chunk lost its cache mark");
  *footer = saved;
}

TEST_F(ThreadCacheTest, a_damaged_entry_is_dropped_and_reported_not_handed_out) {
  // Damage is remembered for the rest of the process: in a child.
  pid_t child = fork();
  if (child == 0) {
    void* p = arenas().allocate(80);
    std::size_t usable = arenas().usable_size(p);
    if (!arenas().deallocate(p)) _exit(2);
    *reinterpret_cast<std::size_t*>(static_cast<char*>(p) + usable) = 0;  // its mark
    void* q = arenas().allocate(80);
    if (q == p) _exit(3);
    CheckResult result = arenas().check();
    if (result.ok || result.address != reinterpret_cast<std::uintptr_t>(p) - Heap::kHeaderSize) _exit(4);
    if (std::strcmp(result.problem, "thread cache entry damaged while cached") != 0) _exit(5);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(ThreadCacheTest, a_forked_child_takes_back_the_caches_of_threads_that_did_not_survive) {
  std::mutex mutex;
  std::condition_variable changed;
  bool filled = false;
  bool done = false;
  std::thread holder([&] {
    std::vector<void*> blocks;
    for (int i = 0; i < 100; ++i) blocks.push_back(arenas().allocate(static_cast<std::size_t>(i % 30) * 16));
    for (void* p : blocks) arenas().deallocate(p);
    std::unique_lock<std::mutex> lock(mutex);
    filled = true;
    changed.notify_all();
    changed.wait(lock, [&] { return done; });
  });
  {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return filled; });
  }
  ArenaStats before = arenas().stats();
  EXPECT_GT(before.cached_chunks, 0u);
  arenas().lock_all();  // as the runtime's fork handlers do
  pid_t child = fork();
  if (child == 0) {
    arenas().reset_locks_after_fork();
    ArenaStats after = arenas().stats();
    if (after.cached_chunks != 0) _exit(2);  // this thread's cache was empty
    if (!arenas().check().ok) _exit(3);
    void* p = arenas().allocate(64);
    if (p == nullptr || !arenas().deallocate(p)) _exit(4);
    _exit(0);
  }
  arenas().unlock_all();
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  changed.notify_all();
  holder.join();
}

TEST_F(ThreadCacheTest, threads_passing_blocks_around_keep_the_heap_sound) {
  constexpr int kThreads = 4;
  constexpr int kRing = 256;
  std::vector<std::atomic<void*>> boxes(kThreads * kRing);
  for (auto& box : boxes) box.store(nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::uint32_t seed = static_cast<std::uint32_t>(t) * 7919u + 1;
      for (int i = 0; i < 20000; ++i) {
        seed = seed * 1103515245u + 12345u;
        std::size_t slot = (seed >> 8) % kRing;
        if (i % 2 == 0) {
          auto* p = static_cast<unsigned char*>(arenas().allocate((seed >> 16) % 1100));
          p[0] = static_cast<unsigned char>(t);
          void* old = boxes[static_cast<std::size_t>(t) * kRing + slot].exchange(p);
          if (old != nullptr) { EXPECT_TRUE(arenas().deallocate(old)); }
        } else {
          void* p = boxes[static_cast<std::size_t>((t + 1) % kThreads) * kRing + slot].exchange(nullptr);
          if (p != nullptr) { EXPECT_TRUE(arenas().deallocate(p)); }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (auto& box : boxes) {
    if (void* p = box.load()) { EXPECT_TRUE(arenas().deallocate(p)); }
  }
  expect_arenas_sound();
}

}  // namespace
}  // namespace dbgalloc::heap::testing
