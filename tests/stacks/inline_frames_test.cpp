// Inline frames: an address inside inlined code is one frame per inline level, the
// innermost first, each with its own function and line and the same address, as ASan
// and valgrind print them; the SUMMARY line, DEDUP_TOKEN and JSON frames follow.
// Runs inline_cases (C, -O2 -g) under the preload.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>

#include "../support/child.hpp"

namespace {

std::string cases_path, preload_path, source_path;

// The line of the source marked "LINE:name".
int line_of(const std::string& name) {
  std::ifstream source(source_path);
  std::string text;
  for (int line = 1; std::getline(source, text); ++line)
    if (text.find("// LINE:" + name) != std::string::npos) return line;
  ADD_FAILURE() << "no LINE:" << name << " in " << source_path;
  return -1;
}

std::string at(const std::string& marker) { return "inline_cases\\.c:" + std::to_string(line_of(marker)); }

test_support::Outcome run(const std::string& options) {
  return test_support::run_preloaded(cases_path, preload_path, "overflow", options);
}

TEST(InlineFrames, fault_in_an_inlined_function_names_it_then_its_caller_at_the_same_address) {
  test_support::Outcome outcome = run("guard=all:guard_alignment=1");
  ASSERT_NE(outcome.signal, 0) << outcome.output;
  std::regex frames("WRITE of size 1 at 0x[0-9a-f]+ thread T[0-9]+\n"
                    "    #0 (0x[0-9a-f]+) in fill [^ ]*" + at("fill") + "\n"
                    "    #1 \\1 in main [^ ]*" + at("main_fill") + "\n");
  EXPECT_TRUE(std::regex_search(outcome.output, frames)) << outcome.output;
  EXPECT_TRUE(std::regex_search(outcome.output, std::regex("DEDUP_TOKEN: heap-buffer-overflow--fill--main(--|\n)")))
      << outcome.output;
  EXPECT_TRUE(std::regex_search(outcome.output, std::regex("SUMMARY: dbgalloc: heap-buffer-overflow [^ ]*" +
                                                           at("fill") + " in fill\n")))
      << outcome.output;
}

TEST(InlineFrames, allocation_stack_names_the_inlined_allocating_helper) {
  test_support::Outcome outcome = run("");
  EXPECT_EQ(outcome.exit_code, 23) << outcome.output;
  std::regex frames("allocated by thread T[0-9]+ here:\n"
                    "    #0 (0x[0-9a-f]+) in make_block [^ ]*" + at("make_block") + "\n"
                    "    #1 \\1 in main [^ ]*" + at("main_make") + "\n");
  EXPECT_TRUE(std::regex_search(outcome.output, frames)) << outcome.output;
  // Frame numbers go on after the inline levels: the next return address is #2.
  EXPECT_TRUE(std::regex_search(outcome.output, std::regex("here:\n(    #[01] .*\n){2}    #2 0x")))
      << outcome.output;
}

TEST(InlineFrames, json_frames_have_every_level_with_inlined_marked) {
  test_support::Outcome outcome = run("guard=all:guard_alignment=1:report_format=json");
  std::regex frames("\"frames\":\\[\\{\"pc\":\"(0x[0-9a-f]+)\",\"function\":\"fill\",\"file\":\"[^\"]*inline_cases\\.c\","
                    "\"line\":" + std::to_string(line_of("fill")) + ",[^}]*\"inlined\":true\\},"
                    "\\{\"pc\":\"\\1\",\"function\":\"main\",[^}]*\"line\":" + std::to_string(line_of("main_fill")) +
                    ",[^}]*\\}");
  EXPECT_TRUE(std::regex_search(outcome.output, frames)) << outcome.output;
  EXPECT_TRUE(test_support::has(outcome, "\"dedup_key\":\"heap-buffer-overflow--fill--main")) << outcome.output;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 4) {
    fprintf(stderr, "usage: %s INLINE_CASES LIBDBGALLOC SOURCE\n", argv[0]);
    return 2;
  }
  cases_path = argv[1];
  preload_path = argv[2];
  source_path = argv[3];
  return RUN_ALL_TESTS();
}
