// Reports name each thread by id and say where it was created: "Thread T<inner>
// created by T<outer> here:" with the stack of the pthread_create call, then the same
// for its creator, as ASan does; the main thread needs none.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "../support/child.hpp"

namespace {

std::string cases_path, preload_path;

std::string id_of(const std::string& output, const std::string& who) {
  std::smatch match;
  if (!std::regex_search(output, match, std::regex(who + "=([0-9]+)\n"))) return "?";
  return match[1];
}

// The stack printed after `heading`, up to the next line that is not a frame.
std::string stack_after(const std::string& output, const std::string& heading) {
  std::size_t at = output.find(heading);
  if (at == std::string::npos) return "";
  std::size_t start = output.find('\n', at) + 1, end = start;
  while (end < output.size() && output.compare(end, 5, "    #") == 0) end = output.find('\n', end) + 1;
  return output.substr(start, end - start);
}

TEST(ThreadOrigins, a_report_says_which_thread_created_each_thread_it_names_and_where) {
  test_support::Outcome run = test_support::run({cases_path}, {{"LD_PRELOAD", preload_path}});
  EXPECT_EQ(run.exit_code, 23) << run.output;
  const std::string main_id = id_of(run.output, "main"), outer = id_of(run.output, "outer"),
                    inner = id_of(run.output, "inner");
  ASSERT_NE(inner, "?") << run.output;
  EXPECT_TRUE(test_support::has(run, "found by free in thread T" + inner + ":")) << run.output;
  EXPECT_TRUE(test_support::has(run, "allocated by thread T" + outer + " here:")) << run.output;
  std::string inner_created = stack_after(run.output, "Thread T" + inner + " created by T" + outer + " here:\n");
  EXPECT_NE(inner_created.find(" in pthread_create"), std::string::npos) << run.output;
  EXPECT_NE(inner_created.find("start_inner"), std::string::npos) << run.output;
  std::string outer_created = stack_after(run.output, "Thread T" + outer + " created by T" + main_id + " here:\n");
  EXPECT_NE(outer_created.find("start_outer"), std::string::npos) << run.output;
  EXPECT_NE(outer_created.find(" in main "), std::string::npos) << run.output;
  EXPECT_FALSE(test_support::has(run, "Thread T" + main_id + " created")) << run.output;
  // Before the keys, as ASan places them.
  EXPECT_LT(run.output.find("created by T"), run.output.find("DEDUP_TOKEN:")) << run.output;
}

TEST(ThreadOrigins, json_reports_carry_the_same_origins) {
  test_support::Outcome run =
      test_support::run({cases_path}, {{"LD_PRELOAD", preload_path}, {"DBGALLOC_OPTIONS", "report_format=json"}});
  const std::string main_id = id_of(run.output, "main"), outer = id_of(run.output, "outer"),
                    inner = id_of(run.output, "inner");
  EXPECT_TRUE(std::regex_search(run.output, std::regex("\"threads\":\\[\\{\"thread\":" + inner + ",\"created_by\":" + outer +
                                                       ",\"frames\":\\[\\{[^}]*\"function\":\"pthread_create\"[^\\]]*start_inner")))
      << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex("\\{\"thread\":" + outer + ",\"created_by\":" + main_id +
                                                       ",\"frames\":\\[[^\\]]*start_outer")))
      << run.output;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) return 2;
  cases_path = argv[1];
  preload_path = argv[2];
  return RUN_ALL_TESTS();
}
