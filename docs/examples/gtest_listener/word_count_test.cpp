// GoogleTest with the dbgalloc listener: each test is checked for leaks and heap
// corruption when it ends, and fails with dbgalloc's report if it has any.
#include <dbgalloc/gtest.hpp>
#include <gtest/gtest.h>

#include <cstdlib>

#include "word_count.hpp"

TEST(WordCount, counts_words) {
  EXPECT_EQ(word_count("one two  three"), 3u);
  EXPECT_EQ(word_count(""), 0u);
}

// Run with --gtest_also_run_disabled_tests to see the listener fail a test that leaks.
TEST(WordCount, DISABLED_leaks_on_purpose) {
  char* lost = static_cast<char*>(malloc(32));
  lost[0] = 'x';
  lost = nullptr;
  EXPECT_EQ(word_count("leak"), 1u);
}

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  dbgalloc::gtest::install();
  return RUN_ALL_TESTS();
}
