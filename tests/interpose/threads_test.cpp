#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "dbgalloc/dbgalloc.h"

namespace {

struct Block {
  unsigned char* p;
  std::size_t size;
  unsigned char tag;
};

// Blocks handed between threads, so most frees happen on another thread.
class Exchange {
 public:
  void put(Block b) {
    std::lock_guard<std::mutex> lock(mutex_);
    blocks_.push_back(b);
  }
  bool take(Block* out) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (blocks_.empty()) return false;
    *out = blocks_.back();
    blocks_.pop_back();
    return true;
  }
  std::vector<Block> drain() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(blocks_);
  }

 private:
  std::mutex mutex_;
  std::vector<Block> blocks_;
};

bool intact(const Block& b) {
  for (std::size_t i = 0; i < b.size; ++i) {
    if (b.p[i] != b.tag) return false;
  }
  return true;
}

void worker(int seed, Exchange* exchange, std::atomic<int>* corrupt, int operations) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  for (int i = 0; i < operations; ++i) {
    unsigned choice = rng() % 3;
    if (choice == 0) {
      std::size_t size = 8 + rng() % (rng() % 8 == 0 ? 65536 : 512);
      auto tag = static_cast<unsigned char>(rng());
      auto* p = static_cast<unsigned char*>(malloc(size));
      memset(p, tag, size);
      exchange->put({p, size, tag});
    } else {
      Block b;
      if (!exchange->take(&b)) continue;
      if (!intact(b)) corrupt->fetch_add(1);
      if (choice == 1) {
        free(b.p);
      } else {
        std::size_t size = 8 + rng() % 4096;
        auto* p = static_cast<unsigned char*>(realloc(b.p, size));
        std::size_t kept = size < b.size ? size : b.size;
        for (std::size_t k = 0; k < kept; ++k) {
          if (p[k] != b.tag) {
            corrupt->fetch_add(1);
            break;
          }
        }
        memset(p, b.tag, size);
        exchange->put({p, size, b.tag});
      }
    }
  }
}

TEST(Threads, four_threads_with_cross_thread_frees_keep_every_byte) {
  Exchange exchange;
  std::atomic<int> corrupt{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker, t + 1, &exchange, &corrupt, 200000);
  for (auto& thread : threads) thread.join();
  for (Block& b : exchange.drain()) {
    if (!intact(b)) corrupt.fetch_add(1);
    free(b.p);
  }
  EXPECT_EQ(corrupt.load(), 0);
  EXPECT_EQ(dbgalloc_check_heap(), 0);
  dbgalloc_stats stats{};
  dbgalloc_get_stats(&stats);
  EXPECT_EQ(stats.errors, 0u);
}

TEST(Threads, fork_while_other_threads_allocate_leaves_a_working_child) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&stop, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<void*> mine;
      while (!stop.load(std::memory_order_relaxed)) {
        mine.push_back(malloc(16 + rng() % 2000));
        if (mine.size() > 100) {
          for (void* p : mine) free(p);
          mine.clear();
        }
      }
      for (void* p : mine) free(p);
    });
  }
  for (int round = 0; round < 30; ++round) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      std::vector<void*> blocks;
      for (int i = 0; i < 1000; ++i) blocks.push_back(malloc(static_cast<std::size_t>(i) * 8 + 1));
      for (void* p : blocks) free(p);
      _exit(dbgalloc_check_heap() == 0 ? 0 : 3);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << "child died in round " << round;
    ASSERT_EQ(WEXITSTATUS(status), 0) << "round " << round;
  }
  stop = true;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(dbgalloc_check_heap(), 0);
}

}  // namespace
