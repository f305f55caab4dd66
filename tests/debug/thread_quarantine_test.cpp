// Per-thread quarantine batches (src/debug/thread_quarantine.hpp), through the debug
// layer's own entry points: a parked block is already quarantined, a write after free
// in a thread's parked block is still found when it leaves the FIFO, a thread's exit
// and a fork move batches into the FIFO.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "debug/allocator.hpp"
#include "options/options.hpp"
#include "platform/platform.hpp"
#include "report/report.hpp"

namespace {

namespace debug = dbgalloc::debug;
namespace report = dbgalloc::report;

struct Seen {
  report::ErrorClass error;
  std::uintptr_t address;
  const char* operation;
  std::uint32_t free_thread;
  std::uint32_t free_stack;
  std::size_t size;
};
std::vector<Seen> findings;

void on_finding(const report::Finding& f) {
  findings.push_back({f.error, f.address, f.operation, f.block.free_thread, f.block.free_stack, f.block.size});
}

class ThreadQuarantine : public ::testing::Test {
 protected:
  void SetUp() override {
    dbgalloc::options::Options options;
    options.halt_on_error = false;
    options.quarantine_mb = 1;  // batches of at most 4 KiB of blocks
    dbgalloc::options::set_current(options);
    debug::configure(options);
    report::set_finding_callback(on_finding);
    debug::purge_quarantine();
    findings.clear();
  }
  void TearDown() override { debug::purge_quarantine(); }
};

void* allocate(std::size_t bytes) {
  debug::Request request;
  request.bytes = bytes;
  void* p = debug::allocate(request);
  EXPECT_NE(p, nullptr);
  return p;
}

void release(void* p) { debug::deallocate(p, debug::Kind::malloc, 0, false, 0); }

// Frees `bytes` worth of 4 KiB blocks: pushes everything freed before out of a 1 MiB
// quarantine.
void churn(std::size_t bytes) {
  for (std::size_t done = 0; done < bytes; done += 4096) release(allocate(4096));
}

TEST_F(ThreadQuarantine, a_block_parked_in_a_thread_batch_is_quarantined_at_once) {
  std::size_t before = debug::stats().quarantined_blocks;
  auto* p = static_cast<unsigned char*>(allocate(40));
  release(p);  // one block: parked in this thread's batch, not yet in the FIFO
  EXPECT_EQ(debug::stats().quarantined_blocks, before + 1);
  EXPECT_EQ(debug::usable_size(p), 0u) << "a parked block is not live";
  EXPECT_EQ(p[0], 0xfd) << "filled when freed, before it is parked";
  release(p);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].error, report::ErrorClass::double_free);
  EXPECT_EQ(findings[0].address, reinterpret_cast<std::uintptr_t>(p));
}

TEST_F(ThreadQuarantine, a_write_after_free_in_another_threads_block_is_found_when_it_leaves) {
  unsigned char* p = nullptr;
  std::uint32_t freeing_thread = 0;
  std::thread worker([&] {
    freeing_thread = static_cast<std::uint32_t>(dbgalloc::platform::thread_id());
    p = static_cast<unsigned char*>(allocate(100));
    release(p);
    p[10] = 'x';  // while the block sits in this thread's batch
  });
  worker.join();
  churn(4u << 20);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].error, report::ErrorClass::heap_use_after_free);
  EXPECT_EQ(findings[0].address, reinterpret_cast<std::uintptr_t>(p) + 10) << "the byte written, exactly";
  EXPECT_STREQ(findings[0].operation, "quarantine eviction");
  EXPECT_EQ(findings[0].size, 100u);
  EXPECT_EQ(findings[0].free_thread, freeing_thread) << "the free stack is the worker's";
  EXPECT_NE(findings[0].free_stack, 0u);
}

TEST_F(ThreadQuarantine, a_thread_exit_moves_its_batch_into_the_fifo) {
  std::size_t before = debug::stats().quarantined_blocks;
  std::thread worker([] {
    for (int i = 0; i < 3; ++i) release(allocate(64));
  });
  worker.join();
  EXPECT_EQ(debug::stats().quarantined_blocks, before + 3);
  // The FIFO and this thread's batch only: what the worker parked must be in the FIFO.
  debug::purge_quarantine();
  EXPECT_EQ(debug::stats().quarantined_blocks, 0u);
  EXPECT_TRUE(findings.empty());
}

TEST_F(ThreadQuarantine, a_forked_child_takes_over_the_batches_of_threads_that_did_not_survive) {
  std::atomic<int> stage{0};
  std::vector<unsigned char*> freed;
  std::thread worker([&] {
    for (int i = 0; i < 3; ++i) {
      auto* p = static_cast<unsigned char*>(allocate(48));
      freed.push_back(p);
      release(p);
    }
    freed[1][5] = 'w';  // a write after free in a batch the child inherits
    stage = 1;
    while (stage.load() != 2) std::this_thread::yield();
  });
  while (stage.load() != 1) std::this_thread::yield();
  debug::lock_for_fork();
  pid_t child = fork();
  if (child == 0) {
    debug::reset_after_fork();
    findings.clear();
    // The worker's three blocks are in the FIFO now: a purge from here releases them,
    // checking each.
    debug::purge_quarantine();
    bool ok = debug::stats().quarantined_blocks == 0 && findings.size() == 1 &&
              findings[0].error == report::ErrorClass::heap_use_after_free &&
              findings[0].address == reinterpret_cast<std::uintptr_t>(freed[1]) + 5;
    // The heap is sound and serves again.
    void* again = allocate(48);
    release(again);
    _exit(ok && again != nullptr && debug::check_all("test", 0) == 0 ? 0 : 1);
  }
  debug::unlock_after_fork();
  freed[1][5] = 0xfd;  // the parent's copy: undo the write, so its purge stays quiet
  stage = 2;
  worker.join();
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
