// The reporter survives a smashed heap (issue 13 item 4): overflows that run over the
// neighbouring chunks' words and the free lists' links, and a scribbled header, each
// give their whole report, because nothing dbgalloc does while reporting (symbolizing,
// demangling, formatting) allocates from the program's heap. Each case runs
// output_cases (linked with libdbgalloc.a) in its own process.
#include <gtest/gtest.h>

#include <signal.h>

#include <regex>
#include <string>

#include "../support/child.hpp"

namespace {

std::string cases_path;

using test_support::Outcome;

Outcome run_case(const std::string& name, const std::string& options = "") {
  return test_support::run({cases_path, name}, {{"DBGALLOC_OPTIONS", options}});
}

// The text from `from` up to `to` (one stack of the report).
std::string section(const std::string& text, const std::string& from, const std::string& to) {
  std::size_t begin = text.find(from);
  if (begin == std::string::npos) return "";
  std::size_t end = text.find(to, begin);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// `function` overflowed a 100-byte block and freed it.
void expect_overflow_report(const Outcome& run, const std::string& function) {
  const std::string& out = run.output;
  EXPECT_EQ(run.signal, 0) << out;
  EXPECT_EQ(run.exit_code, 23) << out;
  EXPECT_EQ(test_support::occurrences(out, "ERROR: dbgalloc: heap-buffer-overflow on address"), 1u) << out;
  EXPECT_TRUE(test_support::has(run, "the canary after the block was overwritten")) << out;
  EXPECT_TRUE(test_support::has(run, "is located 0 bytes to the right of 100-byte region")) << out;
  std::string found = section(out, "found by free in thread T", "the canary");
  EXPECT_NE(found.find("#0 0x"), std::string::npos) << out;
  EXPECT_NE(found.find("in (anonymous namespace)::" + function + " "), std::string::npos) << out;
  EXPECT_NE(found.find("output_cases.cpp:"), std::string::npos) << out;
  std::string allocated = section(out, "allocated by thread T", "SUMMARY");
  EXPECT_NE(allocated.find("in (anonymous namespace)::" + function + " "), std::string::npos) << out;
  EXPECT_NE(allocated.find(" in main "), std::string::npos) << out;
  // The file before the function, as ASan prints it.
  std::size_t summary = out.find("SUMMARY: dbgalloc: heap-buffer-overflow ");
  ASSERT_NE(summary, std::string::npos) << out;
  std::string line = out.substr(summary, out.find('\n', summary) - summary);
  EXPECT_NE(line.find("output_cases.cpp:"), std::string::npos) << line;
  EXPECT_NE(line.find(" in (anonymous namespace)::" + function), std::string::npos) << line;
  EXPECT_FALSE(test_support::has(run, "SEGV")) << out;
}

TEST(SmashedHeap, a_10_kib_overflow_over_neighbours_and_free_lists_is_reported) {
  expect_overflow_report(run_case("overflow_10k"), "smashing_overflow(unsigned long)");
}

// No quarantine: the freed neighbours' chunks are in the heap's free lists, whose links
// the overflow replaces with 'AAAA…'; a report that allocated from the heap (to
// demangle a name) crashed here.
TEST(SmashedHeap, a_1_mib_overflow_over_live_blocks_and_free_lists_is_reported) {
  Outcome run = run_case("overflow_1m_inside_segment", "quarantine_mb=0");
  ASSERT_TRUE(test_support::has(run, "overflowing one of a run of")) << run.output;
  expect_overflow_report(run, "overflow_1m_inside_segment()");
}

// An overflow longer than what is left of its heap segment stops at the guard page
// after the segment (before dbgalloc's own tables mapped beyond it, whose loss
// cost the allocation stack): a SEGV report at the writing instruction, which says so.
TEST(SmashedHeap, an_overflow_off_the_end_of_a_heap_segment_is_reported_where_it_writes) {
  Outcome run = run_case("overflow_1m");
  const std::string& out = run.output;
  EXPECT_EQ(run.signal, SIGSEGV) << out;
  EXPECT_TRUE(test_support::has(run, "ERROR: dbgalloc: SEGV on unknown address 0x")) << out;
  EXPECT_TRUE(test_support::has(run, "The signal is caused by a WRITE memory access.")) << out;
  EXPECT_TRUE(test_support::has(run, "Hint: the address is the guard page after a heap segment")) << out;
  EXPECT_TRUE(test_support::has(run, "#0 0x")) << out;
  EXPECT_TRUE(test_support::has(run, "in (anonymous namespace)::scribble(void*, int, unsigned long) ")) << out;
  EXPECT_TRUE(test_support::has(run, "in (anonymous namespace)::smashing_overflow(unsigned long) ")) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("SUMMARY: dbgalloc: SEGV [^ ]*output_cases.cpp:[0-9]+ in "
                                                 "\\(anonymous namespace\\)::scribble")))
      << out;
}

TEST(SmashedHeap, a_scribbled_header_and_free_list_link_are_reported) {
  Outcome run = run_case("header_scribble");
  const std::string& out = run.output;
  EXPECT_EQ(run.signal, 0) << out;
  EXPECT_EQ(run.exit_code, 23) << out;
  // The 16 bytes before the block hold its left canary (or, with metadata integrity
  // checks, the header words): either finding names the 100-byte block.
  bool underflow = test_support::has(run, "ERROR: dbgalloc: heap-buffer-underflow on address");
  bool header = test_support::has(run, "ERROR: dbgalloc: heap-header-corruption on address");
  EXPECT_TRUE(underflow || header) << out;
  if (underflow) {
    EXPECT_TRUE(test_support::has(run, "is located 1 bytes to the left of 100-byte region")) << out;
  }
  std::string found = section(out, "found by free in thread T", "SUMMARY");
  EXPECT_NE(found.find("in (anonymous namespace)::header_scribble() "), std::string::npos) << out;
  std::string allocated = section(out, "allocated by thread T", "SUMMARY");
  EXPECT_NE(allocated.find("in (anonymous namespace)::header_scribble() "), std::string::npos) << out;
  EXPECT_TRUE(test_support::has(run, "SUMMARY: dbgalloc: heap-")) << out;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: smashed_heap_test OUTPUT_CASES\n");
    return 2;
  }
  cases_path = argv[1];
  return RUN_ALL_TESTS();
}
