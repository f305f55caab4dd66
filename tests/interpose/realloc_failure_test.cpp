// A failed realloc leaves the old block live and intact (issue 13 item 9): readable,
// freeable without any report, and its free hook not fired (realloc is a free plus a
// malloc only when it succeeds). Linked with the static library.
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "dbgalloc/dbgalloc.h"

extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, size_t),
                                                        void (*)(const volatile void*));

namespace {

const volatile void* freed_by_hook = nullptr;
int free_hooks = 0;
int malloc_hooks = 0;
void on_malloc(const volatile void*, size_t) { ++malloc_hooks; }
void on_free(const volatile void* p) {
  ++free_hooks;
  freed_by_hook = p;
}

std::size_t errors() {
  dbgalloc_stats stats{};
  dbgalloc_get_stats(&stats);
  return stats.errors;
}

class ReallocFailure : public ::testing::Test {
 protected:
  void SetUp() override { __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free); }
  void TearDown() override { __sanitizer_install_malloc_and_free_hooks(nullptr, nullptr); }
};

TEST_F(ReallocFailure, above_the_maximum_leaves_the_block_live_and_the_free_hook_silent) {
  auto* p = static_cast<char*>(malloc(100));
  ASSERT_NE(p, nullptr);
  std::memset(p, 'r', 100);
  std::size_t errors_before = errors();
  int frees = free_hooks;
  int mallocs = malloc_hooks;
  errno = 0;
  EXPECT_EQ(realloc(p, std::size_t{1} << 42), nullptr);  // above the maximum
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(free_hooks, frees);
  EXPECT_EQ(malloc_hooks, mallocs);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(p[i], 'r') << i;
  free(p);  // neither a double free nor any other report
  EXPECT_EQ(free_hooks, frees + 1);
  EXPECT_EQ(freed_by_hook, p);
  EXPECT_EQ(errors(), errors_before);
}

TEST_F(ReallocFailure, a_successful_realloc_is_one_free_and_one_malloc) {
  auto* p = static_cast<char*>(malloc(100));
  int frees = free_hooks;
  int mallocs = malloc_hooks;
  auto* q = static_cast<char*>(realloc(p, 5000));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(free_hooks, frees + 1);
  EXPECT_EQ(freed_by_hook, p);
  EXPECT_EQ(malloc_hooks, mallocs + 1);
  free(q);
}

TEST_F(ReallocFailure, under_an_address_space_limit_leaves_the_block_live) {
  // The limit stays with the process: in a child.
  pid_t child = fork();
  if (child == 0) {
    auto* p = static_cast<char*>(malloc(100));
    if (p == nullptr) _exit(2);
    std::memset(p, 'a', 100);
    rlimit limit{};
    getrlimit(RLIMIT_AS, &limit);
    limit.rlim_cur = 1ul << 30;  // far below what the child has mapped already
    if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(3);
    std::size_t errors_before = errors();
    int frees = free_hooks;
    errno = 0;
    if (realloc(p, std::size_t{2} << 30) != nullptr) _exit(4);
    if (errno != ENOMEM) _exit(5);
    if (free_hooks != frees) _exit(6);
    for (int i = 0; i < 100; ++i)
      if (p[i] != 'a') _exit(7);
    free(p);
    if (errors() != errors_before) _exit(8);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
