// dbgalloc's leak counts against valgrind memcheck's: each leak case runs once under
// the preload (verbosity=1 prints the totals line) and once under
// `valgrind --leak-check=full --show-leak-kinds=definite,indirect` without the
// preload; the definitely and indirectly lost bytes and blocks must be equal.
// Skipped when valgrind is not installed.
#include <gtest/gtest.h>

#include <cstdio>

#include "run_child.hpp"

namespace {

using leak_tests::Amount;
using leak_tests::Outcome;

std::string cases_path;
std::string preload_path;
std::string valgrind_path;

struct Counts {
  Amount definite;
  Amount indirect;
};

Counts dbgalloc_counts(const std::string& name, std::string* output) {
  Outcome run = leak_tests::run({cases_path, name}, {{"LD_PRELOAD", preload_path}, {"DBGALLOC_OPTIONS", "verbosity=1"}});
  *output = run.output;
  return {leak_tests::amount_after(run.output, "definitely lost:"), leak_tests::amount_after(run.output, "indirectly lost:")};
}

Counts valgrind_counts(const std::string& name, std::string* output) {
  Outcome run = leak_tests::run({valgrind_path, "--leak-check=full", "--show-leak-kinds=definite,indirect",
                                 "--child-silent-after-fork=yes", cases_path, name},
                                {});
  *output = run.output;
  // "All heap blocks were freed -- no leaks are possible": no LEAK SUMMARY, zero.
  return {leak_tests::amount_after(run.output, "definitely lost:"), leak_tests::amount_after(run.output, "indirectly lost:")};
}

class AgainstValgrind : public testing::TestWithParam<const char*> {};

TEST_P(AgainstValgrind, definite_and_indirect_counts_equal_memchecks) {
  if (valgrind_path.empty()) GTEST_SKIP() << "valgrind is not installed";
  std::string ours_text, theirs_text;
  Counts ours = dbgalloc_counts(GetParam(), &ours_text);
  Counts theirs = valgrind_counts(GetParam(), &theirs_text);
  ASSERT_TRUE(leak_tests::has(Outcome{ours_text}, "definitely lost:")) << ours_text;
  ASSERT_TRUE(leak_tests::has(Outcome{theirs_text}, "HEAP SUMMARY")) << theirs_text;
  EXPECT_EQ(ours.definite.bytes, theirs.definite.bytes) << "dbgalloc:\n" << ours_text << "\nvalgrind:\n" << theirs_text;
  EXPECT_EQ(ours.definite.blocks, theirs.definite.blocks) << ours_text << theirs_text;
  EXPECT_EQ(ours.indirect.bytes, theirs.indirect.bytes) << ours_text << theirs_text;
  EXPECT_EQ(ours.indirect.blocks, theirs.indirect.blocks) << ours_text << theirs_text;
  std::printf("%-18s dbgalloc definite %llu B/%llu, indirect %llu B/%llu | valgrind definite %llu B/%llu, indirect %llu B/%llu\n",
              GetParam(), ours.definite.bytes, ours.definite.blocks, ours.indirect.bytes, ours.indirect.blocks,
              theirs.definite.bytes, theirs.definite.blocks, theirs.indirect.bytes, theirs.indirect.blocks);
}

// The cases that need no dbgalloc API (the program is not linked with it).
INSTANTIATE_TEST_SUITE_P(LeakCases, AgainstValgrind,
                         testing::Values("none", "direct", "indirect", "list", "cycle", "churn", "global", "thread_local",
                                         "interior", "suppressed", "cxx_statics", "exit_from_thread", "blocked_thread"));

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 4) {
    std::fprintf(stderr, "usage: valgrind_compare_test LEAK_CASES LIBDBGALLOC_SO VALGRIND|''\n");
    return 2;
  }
  cases_path = argv[1];
  preload_path = argv[2];
  valgrind_path = argv[3];
  return RUN_ALL_TESTS();
}
