// A forked child's exit check reads only the pages the child wrote (walk.cpp,
// heap/written_walk.cpp): each case of fork_exit_cases does one thing in a child of a
// program with a churned heap of thousands of blocks, and the test checks what the
// child reports (and that the parent's blocks are left to the parent).
#include <gtest/gtest.h>

#include <string>

#include "../support/child.hpp"

namespace {

std::string cases_path;
std::string preload_path;

using test_support::has;
using test_support::occurrences;
using test_support::Outcome;

Outcome run_case(const std::string& name, const std::string& options = "") {
  return test_support::run_preloaded(cases_path, preload_path, name, options);
}

#define EXPECT_REPORT(run, text) EXPECT_TRUE(has(run, text)) << "missing: " << (text) << "\n" << (run).output

// The text from `from` to the end of the stack that follows it.
std::string stack_after(const Outcome& run, const std::string& from) {
  std::size_t start = run.output.find(from);
  if (start == std::string::npos) return "";
  std::size_t end = run.output.find("\n\n", start);
  return run.output.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(ForkExitCheck, child_that_overflows_an_inherited_block_reports_it_at_exit) {
  Outcome run = run_case("overflow_inherited");
  EXPECT_EQ(run.exit_code, 0) << run.output;  // the parent's block is intact in the parent
  EXPECT_REPORT(run, "child status 23");
  EXPECT_REPORT(run, "heap-buffer-overflow on address");
  EXPECT_REPORT(run, "found by exit check");
  EXPECT_REPORT(run, "0 bytes to the right of 13-byte region");
  EXPECT_NE(stack_after(run, "allocated by thread").find("parent_allocates_thirteen"), std::string::npos) << run.output;
  EXPECT_EQ(occurrences(run.output, "ERROR: dbgalloc"), 1u) << run.output;
}

TEST(ForkExitCheck, child_that_underflows_an_inherited_block_reports_it_at_exit) {
  Outcome run = run_case("underflow_inherited");
  EXPECT_REPORT(run, "child status 23");
  EXPECT_REPORT(run, "heap-buffer-underflow on address");
  EXPECT_REPORT(run, "found by exit check");
  EXPECT_REPORT(run, "1 bytes to the left of 13-byte region");
  EXPECT_NE(stack_after(run, "allocated by thread").find("parent_allocates_thirteen"), std::string::npos) << run.output;
}

TEST(ForkExitCheck, child_that_writes_to_an_inherited_freed_block_reports_it_at_exit) {
  Outcome run = run_case("write_after_free_inherited");
  EXPECT_REPORT(run, "child status 23");
  EXPECT_REPORT(run, "heap-use-after-free on address");
  EXPECT_REPORT(run, "5 bytes inside of 100-byte region");
  EXPECT_NE(stack_after(run, "freed by thread").find("parent_releases"), std::string::npos) << run.output;
}

TEST(ForkExitCheck, child_that_overflows_its_own_block_reports_it_at_exit) {
  Outcome run = run_case("overflow_own");
  EXPECT_REPORT(run, "child status 23");
  EXPECT_REPORT(run, "found by exit check");
  EXPECT_REPORT(run, "0 bytes to the right of 13-byte region");
  EXPECT_NE(stack_after(run, "allocated by thread").find("child_allocates_thirteen"), std::string::npos) << run.output;
}

// The child's one leak, of its 40-byte block, and nothing of the parent's thousands.
void expect_only_the_childs_leak(const Outcome& run) {
  EXPECT_REPORT(run, "child status 23");
  EXPECT_REPORT(run, "Direct leak of 40 byte(s) in 1 object(s) allocated from:");
  EXPECT_NE(stack_after(run, "Direct leak of 40").find("child_allocates_forty"), std::string::npos) << run.output;
  EXPECT_REPORT(run, "SUMMARY: dbgalloc: 40 byte(s) leaked in 1 allocation(s).");
  EXPECT_FALSE(has(run, "ERROR: dbgalloc: heap")) << run.output;
}

TEST(ForkExitCheck, child_that_leaks_reports_only_its_own_leak) { expect_only_the_childs_leak(run_case("leak")); }

TEST(ForkExitCheck, child_that_frees_an_inherited_block_and_leaks_its_own_reports_the_leak) {
  expect_only_the_childs_leak(run_case("free_inherited_then_leak"));
}

TEST(ForkExitCheck, child_that_does_nothing_wrong_reports_nothing_and_reads_only_what_it_wrote) {
  Outcome run = run_case("clean", "verbosity=2");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_REPORT(run, "child status 0");
  EXPECT_FALSE(has(run, "ERROR: dbgalloc")) << run.output;
  // Only the child says so, and it read less than the heap.
  EXPECT_EQ(occurrences(run.output, "dbgalloc: exit check of a forked child: the chunks on "), 1u) << run.output;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    fprintf(stderr, "usage: %s FORK_EXIT_CASES LIBDBGALLOC_SO\n", argv[0]);
    return 2;
  }
  cases_path = argv[1];
  preload_path = argv[2];
  return RUN_ALL_TESTS();
}
