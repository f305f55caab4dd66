// Test cases for the GoogleTest listener (include/dbgalloc/gtest.hpp), linked with
// libdbgalloc.a the way a user's test binary is. gtest_listener_test.sh runs them
// one filter at a time and checks which pass and what the failures say.
#include <dbgalloc/gtest.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

namespace {

void* volatile sink;
char* kept_block;  // reachable: never a leak

__attribute__((noinline)) void leak_forty_bytes_in_a_test() {
  sink = malloc(40);
  sink = nullptr;
}

__attribute__((noinline)) void leak_before_the_tests() {
  sink = malloc(24);
  sink = nullptr;
}

// Clobbers stale stack slots, so a dead copy of a pointer does not keep a block
// "reachable" in the conservative scan.
__attribute__((noinline)) void scrub_stack() {
  volatile char scratch[8192];
  memset(const_cast<char*>(scratch), 0, sizeof scratch);
}

TEST(Listener, clean_test_passes) {
  char* p = static_cast<char*>(malloc(100));
  memset(p, 1, 100);
  free(p);
  delete new int(3);
}

TEST(Listener, reachable_blocks_are_not_leaks) {
  kept_block = static_cast<char*>(malloc(64));
  SUCCEED();
}

TEST(Listener, leaking_test_fails) {
  leak_forty_bytes_in_a_test();
}

TEST(Listener, overflow_of_a_live_block_fails_at_the_heap_check) {
  static char* live = static_cast<char*>(malloc(13));
  live[13] = 'x';
}

}  // namespace

int main(int argc, char** argv) {
  // Allocated and lost before any test starts: never blamed on a test (nor, being
  // marked by the listener's baseline, reported at exit).
  leak_before_the_tests();
  scrub_stack();
  testing::InitGoogleTest(&argc, argv);
  dbgalloc::gtest::install();
  return RUN_ALL_TESTS();
}
