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

// Reports dbgalloc makes inside free while the test runs: each fails its test, and
// the run goes on to the next test (halt_on_error=1, the default, or 0).
__attribute__((noinline)) void overflow_then_free() {
  char* p = static_cast<char*>(malloc(24));
  sink = p;
  static_cast<volatile char*>(p)[24] = 'x';
  free(p);
}

TEST(Listener, overflow_found_at_free_fails_its_test) { overflow_then_free(); }

TEST(Listener, double_free_fails_its_test) {
  void* p = malloc(32);
  sink = p;
  free(p);
  free(sink);
}

TEST(Listener, a_test_after_failing_ones_runs_and_passes) {
  delete new int(4);
}

// A death test that expects a report to end the process still sees it end (the
// listener's carrying on stays in the parent).
TEST(Listener, death_test_still_dies_of_a_report) {
  EXPECT_DEATH(overflow_then_free(), "heap-buffer-overflow");
}

TEST(Listener, threadsafe_death_test_still_dies_of_a_report) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(overflow_then_free(), "heap-buffer-overflow");
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
