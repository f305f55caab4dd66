// A test per report class: each runs one bug from bug_cases under the preload and
// checks the report's content (class, offsets and sizes, the functions in the current,
// allocation and free stacks) and how the process ended.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <string>

#include "../support/child.hpp"

namespace {

std::string bug_cases_path;
std::string preload_path;

using test_support::has;
using test_support::Outcome;

Outcome run_case(const std::string& name, const std::string& options = "") {
  return test_support::run({bug_cases_path, name}, {{"LD_PRELOAD", preload_path}, {"DBGALLOC_OPTIONS", options}});
}

// The text between `from` and the next line that starts a new section.
std::string section(const Outcome& run, const std::string& from) {
  std::size_t start = run.output.find(from);
  if (start == std::string::npos) return "";
  std::size_t end = run.output.find("\n0x", start);
  std::size_t other = run.output.find("by thread T", start + from.size());
  std::size_t summary = run.output.find("SUMMARY:", start);
  for (std::size_t candidate : {other, summary}) {
    if (candidate != std::string::npos && (end == std::string::npos || candidate < end)) end = candidate;
  }
  return run.output.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

#define EXPECT_REPORT(run, text) EXPECT_TRUE(has(run, text)) << "missing: " << (text) << "\n" << (run).output

TEST(ReportClasses, overflow_by_one_is_reported_at_free_with_both_stacks) {
  Outcome run = run_case("overflow_at_free");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "ERROR: dbgalloc: heap-buffer-overflow on address");
  EXPECT_REPORT(run, "found by free in thread T");
  EXPECT_REPORT(run, "is located 0 bytes to the right of 13-byte region");
  EXPECT_NE(section(run, "found by free").find("release_block"), std::string::npos) << run.output;
  EXPECT_NE(section(run, "allocated by thread").find("allocate_thirteen"), std::string::npos) << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex("SUMMARY: dbgalloc: heap-buffer-overflow [^ ]*bug_cases.cpp:[0-9]+ in "
                                                       "[^\n]*release_block")))
      << run.output;
}

TEST(ReportClasses, underflow_by_one_is_reported_at_free) {
  Outcome run = run_case("underflow_at_free");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "heap-buffer-underflow on address");
  EXPECT_REPORT(run, "is located 1 bytes to the left of 13-byte region");
  EXPECT_NE(section(run, "allocated by thread").find("allocate_thirteen"), std::string::npos) << run.output;
}

TEST(ReportClasses, overflow_is_reported_by_realloc) {
  Outcome run = run_case("overflow_at_realloc");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "heap-buffer-overflow");
  EXPECT_REPORT(run, "found by realloc in thread");
  EXPECT_REPORT(run, "0 bytes to the right of 13-byte region");
}

TEST(ReportClasses, overflow_is_reported_by_a_heap_check) {
  Outcome run = run_case("overflow_at_check");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "found by dbgalloc_check_heap");
  EXPECT_REPORT(run, "7 bytes to the right of 13-byte region");
  EXPECT_NE(section(run, "allocated by thread").find("allocate_thirteen"), std::string::npos) << run.output;
}

TEST(ReportClasses, overflow_of_a_leaked_block_is_reported_at_exit) {
  Outcome run = run_case("overflow_at_exit");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "found by exit check");
  EXPECT_REPORT(run, "0 bytes to the right of 13-byte region");
}

TEST(ReportClasses, guard_page_catches_an_overflowing_write_at_the_instruction) {
  Outcome run = run_case("guard_overflow_write", "guard=all:guard_alignment=1");
  EXPECT_EQ(run.signal, SIGSEGV);
  EXPECT_REPORT(run, "heap-buffer-overflow on address");
  EXPECT_REPORT(run, " at pc 0x");
  EXPECT_REPORT(run, "WRITE of size 1 at 0x");
  EXPECT_REPORT(run, "0 bytes to the right of 13-byte region");
  EXPECT_NE(section(run, "WRITE of size 1 at").find("write_one_past"), std::string::npos) << run.output;
  EXPECT_NE(section(run, "allocated by thread").find("allocate_thirteen"), std::string::npos) << run.output;
}

TEST(ReportClasses, guard_page_catches_an_overflowing_read) {
  Outcome run = run_case("guard_overflow_read", "guard=all");
  EXPECT_EQ(run.signal, SIGSEGV);
  EXPECT_REPORT(run, "READ of size 1 at 0x");
  EXPECT_REPORT(run, "0 bytes to the right of 16-byte region");
  EXPECT_NE(section(run, "READ of size 1 at").find("read_one_past"), std::string::npos) << run.output;
}

TEST(ReportClasses, left_guard_catches_an_underflowing_read) {
  Outcome run = run_case("guard_underflow_read", "guard=all:guard_side=left");
  EXPECT_EQ(run.signal, SIGSEGV);
  EXPECT_REPORT(run, "heap-buffer-underflow");
  EXPECT_REPORT(run, "READ of size 1 at 0x");
  EXPECT_REPORT(run, "1 bytes to the left of 13-byte region");
  EXPECT_NE(section(run, "READ of size 1 at").find("read_one_before"), std::string::npos) << run.output;
  EXPECT_NE(section(run, "allocated by thread").find("allocate_thirteen"), std::string::npos) << run.output;
}

TEST(ReportClasses, random_guard_sides_catch_an_underread_or_an_overread_and_say_which_side) {
  Outcome run = run_case("guard_random_sides", "guard=all:guard_side=random:guard_alignment=1");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_REPORT(run, "children faulted 16");
  std::size_t under = test_support::occurrences(run.output, "ERROR: dbgalloc: heap-buffer-underflow");
  std::size_t over = test_support::occurrences(run.output, "ERROR: dbgalloc: heap-buffer-overflow");
  EXPECT_EQ(under + over, 16u) << run.output;
  // Each report says which side its block was guarded on, and the class matches it.
  EXPECT_EQ(test_support::occurrences(run.output, "1 bytes to the left of 13-byte region"), under);
  EXPECT_EQ(test_support::occurrences(run.output, "0 bytes to the right of 13-byte region"), over);
  EXPECT_EQ(test_support::occurrences(run.output, "put this block's guard page on its left"), under);
  EXPECT_EQ(test_support::occurrences(run.output, "put this block's guard page on its right"), over);
  EXPECT_EQ(test_support::occurrences(run.output, "READ of size 1 at 0x"), 16u);
  // Both sides are drawn over 16 blocks (all on one side: 2 runs in 2^16).
  EXPECT_GT(under, 0u) << run.output;
  EXPECT_GT(over, 0u) << run.output;
}

TEST(ReportClasses, a_block_of_whole_pages_is_guarded_on_both_sides) {
  // With guard regions every slot lies between guard pages, so a block that fills its
  // pages has one on each side whatever guard_side says. With the mprotect fallback the
  // page before it is not ours: the deadly-signal report still names the block.
  Outcome run = run_case("page_multiple_underread", "guard=all:verbosity=1");
  EXPECT_EQ(run.signal, SIGSEGV) << run.output;
  EXPECT_REPORT(run, "is located 1 bytes to the left of 8192-byte region");
  if (has(run, "guard pages: guard regions")) {
    EXPECT_REPORT(run, "ERROR: dbgalloc: heap-buffer-underflow on address");
    EXPECT_REPORT(run, "READ of size 1 at 0x");
  } else {
    EXPECT_REPORT(run, "ERROR: dbgalloc: SEGV on unknown address");
    EXPECT_REPORT(run, "The signal is caused by a READ memory access.");
  }
  std::size_t stack = run.output.find("    #0 ");
  ASSERT_NE(stack, std::string::npos) << run.output;
  std::string frame0 = run.output.substr(stack, run.output.find('\n', stack) - stack);
  EXPECT_NE(frame0.find("read_one_before"), std::string::npos) << run.output;
}

TEST(ReportClasses, read_of_a_quarantined_guard_block_faults_with_both_stacks) {
  Outcome run = run_case("guard_use_after_free_read", "guard=all");
  EXPECT_EQ(run.signal, SIGSEGV);
  EXPECT_REPORT(run, "heap-use-after-free on address");
  EXPECT_REPORT(run, "READ of size 1 at 0x");
  EXPECT_REPORT(run, "10 bytes inside of 100-byte region");
  EXPECT_NE(section(run, "READ of size 1 at").find("read_after_free"), std::string::npos) << run.output;
  EXPECT_NE(section(run, "allocated by thread").find("allocate_hundred"), std::string::npos) << run.output;
  EXPECT_NE(section(run, "freed by thread").find("release_block"), std::string::npos) << run.output;
}

TEST(ReportClasses, a_guard_fault_gives_the_size_of_the_access_from_the_instruction) {
  Outcome store = run_case("guard_overflow_store_eight", "guard=all");
  EXPECT_EQ(store.signal, SIGSEGV);
  EXPECT_REPORT(store, "heap-buffer-overflow on address");
  EXPECT_REPORT(store, "WRITE of size 8 at 0x");
  EXPECT_REPORT(store, "0 bytes to the right of 32-byte region");
  EXPECT_NE(section(store, "WRITE of size 8").find("store_eight_past"), std::string::npos) << store.output;
  // strlen of an unterminated string: the C library's vector loads are decoded too.
  Outcome strlen_run = run_case("guard_strlen_overread", "guard=all");
  EXPECT_EQ(strlen_run.signal, SIGSEGV);
  EXPECT_TRUE(std::regex_search(strlen_run.output, std::regex("\\nREAD of size [0-9]+ at 0x"))) << strlen_run.output;
  EXPECT_REPORT(strlen_run, "3 bytes to the right of 13-byte region");
  EXPECT_NE(section(strlen_run, "READ of size").find("length_of"), std::string::npos) << strlen_run.output;
  EXPECT_NE(section(strlen_run, "allocated by thread").find("allocate_thirteen"), std::string::npos)
      << strlen_run.output;
  // libc's strlen runs as a CPU-specific variant (__strlen_avx2, __strlen_evex, ...):
  // the keys skip it and name the program's caller, the same on every machine.
  EXPECT_TRUE(std::regex_search(strlen_run.output, std::regex("SUMMARY: dbgalloc: heap-buffer-overflow [^ ]*bug_cases.cpp:[0-9]+ "
                                                              "in [^\n]*length_of")))
      << strlen_run.output;
  EXPECT_TRUE(std::regex_search(strlen_run.output, std::regex("DEDUP_TOKEN: heap-buffer-overflow--[^\n]*length_of[^\n]*--main")))
      << strlen_run.output;
  EXPECT_FALSE(std::regex_search(strlen_run.output, std::regex("(SUMMARY|DEDUP_TOKEN):[^\n]*__str"))) << strlen_run.output;
}

TEST(ReportClasses, json_fault_reports_carry_the_access_kind_and_size) {
  Outcome run = run_case("guard_overflow_read", "guard=all:report_format=json");
  EXPECT_EQ(run.signal, SIGSEGV);
  EXPECT_REPORT(run, "\"class\":\"heap-buffer-overflow\"");
  EXPECT_REPORT(run, "\"access\":\"READ\",\"access_size\":1");
  EXPECT_REPORT(run, "\"offset\":16");
}

TEST(ReportClasses, write_after_free_is_found_when_the_block_leaves_quarantine) {
  Outcome run = run_case("use_after_free_write", "quarantine_mb=1");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "heap-use-after-free on address");
  EXPECT_REPORT(run, "found by quarantine eviction");
  EXPECT_REPORT(run, "10 bytes inside of 100-byte region");
  EXPECT_NE(section(run, "allocated by thread").find("allocate_hundred"), std::string::npos) << run.output;
  EXPECT_NE(section(run, "freed by thread").find("release_block"), std::string::npos) << run.output;
  // Found with no stack of the program's: SUMMARY and DEDUP_TOKEN both name the free
  // stack's first frame, never one the allocation and the other the free.
  std::smatch summary, token;
  ASSERT_TRUE(std::regex_search(run.output, summary, std::regex("SUMMARY: dbgalloc: heap-use-after-free [^ ]+ in ([^\n]*)")))
      << run.output;
  ASSERT_TRUE(std::regex_search(run.output, token, std::regex("DEDUP_TOKEN: heap-use-after-free--([^\n]*?)(--|\n)")))
      << run.output;
  EXPECT_EQ(summary[1].str(), token[1].str()) << run.output;
  EXPECT_NE(summary[1].str().find("release_block"), std::string::npos) << run.output;
}

TEST(ReportClasses, write_after_free_is_found_by_a_heap_check) {
  Outcome run = run_case("use_after_free_write_at_check");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "heap-use-after-free");
  EXPECT_REPORT(run, "10 bytes inside of 100-byte region");
}

TEST(ReportClasses, double_free_shows_the_first_free) {
  Outcome run = run_case("double_free");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "ERROR: dbgalloc: double-free on address");
  EXPECT_REPORT(run, "0 bytes inside of 100-byte region");
  EXPECT_NE(section(run, "freed by thread").find("release_block"), std::string::npos) << run.output;
  EXPECT_NE(section(run, "allocated by thread").find("allocate_hundred"), std::string::npos) << run.output;
}

TEST(ReportClasses, freeing_memory_dbgalloc_does_not_own_is_reported) {
  for (const char* name : {"free_stack_address", "free_global", "free_wild"}) {
    Outcome run = run_case(name);
    EXPECT_EQ(run.exit_code, 23) << name;
    EXPECT_REPORT(run, "ERROR: dbgalloc: bad-free on address");
    EXPECT_REPORT(run, "not in any heap dbgalloc manages");
    EXPECT_NE(section(run, "found by free").find("release_block"), std::string::npos) << run.output;
  }
}

TEST(ReportClasses, interior_and_misaligned_frees_name_the_block_and_offset) {
  Outcome interior = run_case("free_interior");
  EXPECT_EQ(interior.exit_code, 23);
  EXPECT_REPORT(interior, "bad-free on address");
  EXPECT_REPORT(interior, "32 bytes inside of 100-byte region");
  EXPECT_NE(section(interior, "allocated by thread").find("allocate_hundred"), std::string::npos) << interior.output;
  Outcome misaligned = run_case("free_misaligned");
  EXPECT_EQ(misaligned.exit_code, 23);
  EXPECT_REPORT(misaligned, "1 bytes inside of 100-byte region");
}

TEST(ReportClasses, every_allocator_deallocator_mismatch_is_reported) {
  struct Case {
    const char* name;
    const char* pair;
  } cases[] = {
      {"malloc_then_delete", "(malloc vs operator delete)"},
      {"new_then_free", "(operator new vs free)"},
      {"new_array_then_delete", "(operator new[] vs operator delete)"},
      {"new_then_delete_array", "(operator new vs operator delete[])"},
      {"aligned_new_then_plain_delete", "(operator new(align_val_t) vs operator delete)"},
  };
  for (const Case& c : cases) {
    Outcome run = run_case(c.name);
    EXPECT_EQ(run.exit_code, 23) << c.name;
    EXPECT_REPORT(run, "ERROR: dbgalloc: alloc-dealloc-mismatch");
    EXPECT_REPORT(run, c.pair);
    EXPECT_REPORT(run, "allocated by thread");
  }
}

TEST(ReportClasses, sized_delete_with_the_wrong_size_is_reported) {
  Outcome run = run_case("sized_delete_mismatch");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "new-delete-type-mismatch");
  EXPECT_REPORT(run, "size of the allocated type: 24 bytes; size of the deallocated type: 16 bytes");
}

TEST(ReportClasses, realloc_of_a_freed_block_is_a_double_free) {
  Outcome run = run_case("realloc_freed");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "double-free");
  EXPECT_REPORT(run, "found by realloc");
  EXPECT_NE(section(run, "freed by thread").find("release_block"), std::string::npos) << run.output;
}

TEST(ReportClasses, an_overwritten_header_is_reported_not_trusted) {
  Outcome run = run_case("header_corruption");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "heap-header-corruption");
}

TEST(ReportClasses, halt_on_error_0_reports_every_bug_and_fails_at_exit) {
  Outcome run = run_case("two_bugs", "halt_on_error=0");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "heap-buffer-overflow");
  EXPECT_REPORT(run, "double-free");
}

using test_support::occurrences;

TEST(ReportClasses, a_bug_found_by_a_heap_check_is_reported_once_not_again_at_exit) {
  for (const char* name : {"overflow_at_check", "use_after_free_write_at_check"}) {
    Outcome run = run_case(name, "halt_on_error=0:detect_leaks=0");
    EXPECT_EQ(occurrences(run.output, "ERROR: dbgalloc:"), 1u) << name << "\n" << run.output;
    EXPECT_EQ(run.exit_code, 23) << name;
  }
}

TEST(ReportClasses, an_overflow_across_neighbouring_headers_is_reported_without_crashing) {
  Outcome run = run_case("smash_neighbours", "halt_on_error=0");
  EXPECT_EQ(run.exit_code, 23) << run.output;
  EXPECT_EQ(run.signal, 0) << run.output;
  EXPECT_REPORT(run, "heap-buffer-overflow");
  EXPECT_REPORT(run, "heap-header-corruption");
}

TEST(ReportClasses, json_reports_are_one_object_per_line) {
  Outcome run = run_case("double_free", "report_format=json");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_REPORT(run, "{\"tool\":\"dbgalloc\"");
  EXPECT_REPORT(run, "\"class\":\"double-free\"");
  EXPECT_REPORT(run, "\"size\":100");
}

TEST(ReportClasses, log_path_sends_reports_to_a_file_per_process) {
  char directory[] = "/tmp/dbgalloc-log-XXXXXX";
  ASSERT_NE(mkdtemp(directory), nullptr);
  std::string prefix = std::string(directory) + "/report";
  Outcome run = run_case("double_free", "log_path=" + prefix);
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_FALSE(has(run, "double-free")) << run.output;
  std::string listing;
  FILE* ls = popen(("cat " + prefix + ".*").c_str(), "r");
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, ls)) > 0) listing.append(buffer, n);
  pclose(ls);
  EXPECT_NE(listing.find("ERROR: dbgalloc: double-free"), std::string::npos) << listing;
  std::system(("rm -rf " + std::string(directory)).c_str());
}

TEST(ReportClasses, new_blocks_are_filled_and_calloc_still_zeroes) {
  Outcome run = run_case("malloc_fill");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_REPORT(run, "be be 00");
  Outcome custom = run_case("malloc_fill", "malloc_fill=171");
  EXPECT_REPORT(custom, "ab ab 00");
}

TEST(ReportClasses, a_correct_program_gets_no_report_in_any_mode) {
  for (const char* options : {"", "guard=all", "guard=sample:2", "guard=all:guard_side=left", "check_every=1",
                              "quarantine_mb=0", "canaries=0"}) {
    Outcome run = run_case("clean", options);
    EXPECT_EQ(run.exit_code, 0) << options << "\n" << run.output;
    EXPECT_REPORT(run, "clean 1000 0");
    EXPECT_FALSE(has(run, "ERROR")) << options << "\n" << run.output;
  }
}

TEST(ReportClasses, bad_option_values_are_refused_with_the_allowed_values) {
  Outcome run = run_case("clean", "guard=sometimes");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_REPORT(run, "bad value 'sometimes' for option 'guard': expected none, all or sample:N");
  Outcome range = run_case("clean", "quarantine_mb=-5");
  EXPECT_EQ(range.exit_code, 1);
  EXPECT_REPORT(range, "for option 'quarantine_mb': expected an integer from 0 to");
  Outcome unknown = run_case("clean", "quarantine=5");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_REPORT(unknown, "unknown option 'quarantine'");
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    fprintf(stderr, "usage: %s BUG_CASES LIBDBGALLOC_SO\n", argv[0]);
    return 2;
  }
  bug_cases_path = argv[1];
  preload_path = argv[2];
  return RUN_ALL_TESTS();
}
