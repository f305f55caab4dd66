// LeakSanitizer's interface as its users rely on it, checked on a program linked
// without -rdynamic (lsan_hooks_cases.cpp) run under the preload.
#include <gtest/gtest.h>

#include "run_child.hpp"

namespace {

using leak_tests::Amount;
using leak_tests::Outcome;

std::string cases_path;
std::string preload_path;

Outcome run_case(const std::string& name, const std::string& options = "",
                 std::vector<std::pair<std::string, std::string>> env = {}) {
  env.push_back({"LD_PRELOAD", preload_path});
  env.push_back({"DBGALLOC_OPTIONS", options});
  return leak_tests::run({cases_path, name}, env);
}

#define EXPECT_OUTPUT(run, text) EXPECT_TRUE(leak_tests::has(run, text)) << "missing: " << (text) << "\n" << (run).output
#define EXPECT_NO_OUTPUT(run, text) EXPECT_FALSE(leak_tests::has(run, text)) << "unexpected: " << (text) << "\n" << (run).output

Amount definite(const Outcome& run) { return leak_tests::amount_after(run.output, "definitely lost:"); }
Amount indirect(const Outcome& run) { return leak_tests::amount_after(run.output, "indirectly lost:"); }
Amount suppressed(const Outcome& run) { return leak_tests::amount_after(run.output, "suppressed:"); }

TEST(LsanInterface, is_turned_off_is_found_in_a_program_that_does_not_export_it) {
  Outcome run = run_case("direct", "", {{"CASE_TURN_LEAK_CHECK_OFF", "1"}});
  EXPECT_OUTPUT(run, "hooks exported: no");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NO_OUTPUT(run, "leak");
  // The hook returning 0 leaves the check on.
  run = run_case("direct");
  EXPECT_EQ(run.exit_code, 23) << run.output;
  EXPECT_OUTPUT(run, "Direct leak of 40 byte(s) in 1 object(s)");
}

TEST(LsanInterface, default_suppressions_hide_the_leak_and_the_blocks_it_owns) {
  // leak_suppressed_by_default leaks a 16-byte owner and its 100-byte child, allocated
  // by make_child, which the suppression does not name: both are suppressed.
  Outcome run = run_case("default_suppressions");
  EXPECT_EQ(run.exit_code, 23) << run.output;  // the unsuppressed 40 bytes remain
  EXPECT_EQ(definite(run), (Amount{40, 1})) << run.output;
  EXPECT_EQ(indirect(run), (Amount{0, 0})) << run.output;
  EXPECT_EQ(suppressed(run), (Amount{116, 2})) << run.output;
  EXPECT_NO_OUTPUT(run, "Indirect leak");
  EXPECT_OUTPUT(run, "      2        116 leak_suppressed_by_default");
}

TEST(LsanInterface, default_suppressions_add_to_the_suppressions_file) {
  std::string path = testing::TempDir() + "lsan_interface_supp.txt";
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("leak:leak_direct\n", file);
  std::fclose(file);
  Outcome run = run_case("default_suppressions", "suppressions=" + path);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(suppressed(run), (Amount{156, 3})) << run.output;
  EXPECT_OUTPUT(run, "      1         40 leak_direct");
  std::remove(path.c_str());
}

TEST(LsanInterface, a_block_held_only_by_a_registered_root_region_is_not_a_leak) {
  Outcome run = run_case("shared_region_registered", "verbosity=1");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(definite(run), (Amount{0, 0})) << run.output;
}

TEST(LsanInterface, an_unregistered_root_region_no_longer_keeps_its_blocks) {
  // Shared mappings are not roots of their own: without the region the block is lost.
  Outcome run = run_case("shared_region_never_registered");
  EXPECT_EQ(run.exit_code, 23) << run.output;
  EXPECT_OUTPUT(run, "Direct leak of 321 byte(s) in 1 object(s)");
  run = run_case("shared_region_unregistered");
  EXPECT_EQ(run.exit_code, 23) << run.output;
  EXPECT_OUTPUT(run, "Direct leak of 321 byte(s) in 1 object(s)");
  EXPECT_NO_OUTPUT(run, "warning");
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: lsan_interface_test LSAN_HOOKS_CASES LIBDBGALLOC_SO\n");
    return 2;
  }
  cases_path = argv[1];
  preload_path = argv[2];
  return RUN_ALL_TESTS();
}
