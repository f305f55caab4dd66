// Leak reports: each case of leak_cases runs in its own process under the preload, as
// a user runs a program, and the test checks the report (classes, sizes, counts, the
// allocation stacks) and the exit status.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "run_child.hpp"

namespace {

using leak_tests::Amount;
using leak_tests::Outcome;

std::string cases_path;
std::string preload_path;

Outcome run_case(const std::string& name, const std::string& options = "") {
  return leak_tests::run({cases_path, name}, {{"LD_PRELOAD", preload_path}, {"DBGALLOC_OPTIONS", options}});
}

#define EXPECT_OUTPUT(run, text) EXPECT_TRUE(leak_tests::has(run, text)) << "missing: " << (text) << "\n" << (run).output
#define EXPECT_NO_OUTPUT(run, text) EXPECT_FALSE(leak_tests::has(run, text)) << "unexpected: " << (text) << "\n" << (run).output

Amount definite(const Outcome& run) { return leak_tests::amount_after(run.output, "definitely lost:"); }
Amount indirect(const Outcome& run) { return leak_tests::amount_after(run.output, "indirectly lost:"); }
Amount possible(const Outcome& run) { return leak_tests::amount_after(run.output, "possibly lost:"); }

// The stack printed under the first line containing `title`.
std::string stack_under(const Outcome& run, const std::string& title) {
  std::size_t start = run.output.find(title);
  if (start == std::string::npos) return "";
  std::size_t end = run.output.find("\n\n", start);
  return run.output.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(Leaks, a_program_that_frees_everything_reports_nothing) {
  Outcome run = run_case("none");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.output, "");
}

TEST(Leaks, direct_leak_is_reported_with_its_allocation_stack) {
  Outcome run = run_case("direct");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_OUTPUT(run, "ERROR: dbgalloc: detected memory leaks");
  EXPECT_OUTPUT(run, "Direct leak of 40 byte(s) in 1 object(s) allocated from:");
  EXPECT_NE(stack_under(run, "Direct leak of 40").find("leak_direct"), std::string::npos) << run.output;
  EXPECT_OUTPUT(run, "SUMMARY: dbgalloc: 40 byte(s) leaked in 1 allocation(s).");
}

TEST(Leaks, block_owned_by_a_leaked_struct_is_an_indirect_leak) {
  Outcome run = run_case("indirect");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_OUTPUT(run, "Direct leak of 16 byte(s) in 1 object(s)");
  EXPECT_OUTPUT(run, "Indirect leak of 100 byte(s) in 1 object(s)");
  EXPECT_LT(run.output.find("Direct leak"), run.output.find("Indirect leak"));
  EXPECT_OUTPUT(run, "SUMMARY: dbgalloc: 116 byte(s) leaked in 2 allocation(s).");
}

TEST(Leaks, lost_linked_list_is_one_direct_and_the_rest_indirect) {
  Outcome run = run_case("list");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_OUTPUT(run, "Direct leak of 32 byte(s) in 1 object(s)");
  EXPECT_OUTPUT(run, "Indirect leak of 288 byte(s) in 9 object(s)");
  EXPECT_NE(stack_under(run, "Indirect leak").find("make_node"), std::string::npos) << run.output;
  EXPECT_EQ(definite(run), (Amount{32, 1}));
  EXPECT_EQ(indirect(run), (Amount{288, 9}));
}

TEST(Leaks, max_leaks_limits_the_groups_printed_but_not_the_totals) {
  Outcome run = run_case("indirect", "max_leaks=1");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_OUTPUT(run, "Direct leak of 16 byte(s)");
  EXPECT_NO_OUTPUT(run, "Indirect leak of 100");
  EXPECT_OUTPUT(run, "The other leaks are not shown (max_leaks=1).");
  EXPECT_OUTPUT(run, "SUMMARY: dbgalloc: 116 byte(s) leaked in 2 allocation(s).");
}

TEST(Leaks, lost_cycle_has_one_direct_leak) {
  Outcome run = run_case("cycle");
  EXPECT_EQ(definite(run), (Amount{16, 1}));
  EXPECT_EQ(indirect(run), (Amount{16, 1}));
}

TEST(Leaks, leaks_in_recycled_memory_are_found_after_the_quarantine_wrapped) {
  // The quarantine ring's old slots still name the recycled addresses: not roots.
  Outcome run = run_case("churn", "quarantine_mb=1:verbosity=2");
  EXPECT_EQ(definite(run), (Amount{6400, 100}));
  EXPECT_OUTPUT(run, "1 quarantine ring(s) skipped");
}

TEST(Leaks, block_reachable_from_a_global_is_not_reported) {
  Outcome run = run_case("global", "verbosity=1");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NO_OUTPUT(run, "ERROR");
  EXPECT_EQ(definite(run), (Amount{0, 0}));
}

TEST(Leaks, still_reachable_blocks_are_listed_only_with_show_reachable) {
  Outcome run = run_case("global", "show_reachable=1");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NO_OUTPUT(run, "ERROR");
  EXPECT_NE(stack_under(run, "Still reachable: 64 byte(s) in 1 object(s)").find("keep_in_global"), std::string::npos)
      << run.output;
}

TEST(Leaks, block_reachable_from_a_thread_local_is_not_reported) {
  Outcome run = run_case("thread_local", "verbosity=1");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NO_OUTPUT(run, "ERROR");
  EXPECT_EQ(definite(run), (Amount{0, 0}));
}

TEST(Leaks, block_reached_only_by_an_interior_pointer_is_possibly_lost) {
  Outcome run = run_case("interior", "show_possible=1");
  EXPECT_EQ(run.exit_code, 0);  // possible leaks are not errors
  EXPECT_NO_OUTPUT(run, "ERROR");
  EXPECT_NE(stack_under(run, "Possible leak of 72 byte(s) in 1 object(s)").find("keep_interior_only"), std::string::npos)
      << run.output;
  EXPECT_EQ(possible(run), (Amount{72, 1}));
}

TEST(Leaks, suppressed_leak_is_counted_under_suppressions_used) {
  std::string path = testing::TempDir() + "leak_suppressions.txt";
  std::ofstream(path) << "# test suppressions\nleak:leak_for_suppression\nleak:never_matches_anything\n";
  Outcome run = run_case("suppressed", "suppressions=" + path);
  EXPECT_EQ(run.exit_code, 23);  // the unsuppressed 40-byte leak remains
  EXPECT_OUTPUT(run, "Direct leak of 40 byte(s)");
  EXPECT_NO_OUTPUT(run, "leak of 333");
  EXPECT_OUTPUT(run, "Suppressions used:");
  EXPECT_OUTPUT(run, "      1        333 leak_for_suppression");
  EXPECT_NO_OUTPUT(run, "never_matches_anything");
  EXPECT_OUTPUT(run, "SUMMARY: dbgalloc: 40 byte(s) leaked in 1 allocation(s).");
  std::remove(path.c_str());
}

TEST(Leaks, suppression_by_module_and_wildcard) {
  std::string path = testing::TempDir() + "leak_suppressions2.txt";
  std::ofstream(path) << "leak:leak_cases\n";  // the module (and file) of every frame
  Outcome run = run_case("suppressed", "suppressions=" + path);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_OUTPUT(run, "      2        373 leak_cases");
  // Function names are demangled with their parameters.
  std::ofstream(path) << "leak:*for_supp*sion()$\n";
  run = run_case("suppressed", "suppressions=" + path);
  EXPECT_OUTPUT(run, "333 *for_supp*sion()$");
  EXPECT_OUTPUT(run, "Direct leak of 40 byte(s)");
  std::remove(path.c_str());
}

TEST(Leaks, missing_suppressions_file_is_reported_and_the_check_still_runs) {
  Outcome run = run_case("direct", "suppressions=/nonexistent/supp.txt");
  EXPECT_OUTPUT(run, "cannot open suppressions file '/nonexistent/supp.txt'");
  EXPECT_OUTPUT(run, "Direct leak of 40 byte(s)");
}

TEST(Leaks, cxx_static_objects_freed_at_exit_are_not_reported) {
  Outcome run = run_case("cxx_statics", "verbosity=1");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NO_OUTPUT(run, "ERROR");
  EXPECT_EQ(definite(run), (Amount{0, 0}));
  EXPECT_EQ(indirect(run), (Amount{0, 0}));
}

TEST(Leaks, exit_from_a_second_thread_reports_that_threads_leak) {
  Outcome run = run_case("exit_from_thread");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_OUTPUT(run, "Direct leak of 200 byte(s) in 1 object(s)");
  EXPECT_NE(stack_under(run, "Direct leak of 200").find("thread_leaks_then_exits"), std::string::npos) << run.output;
  // The 300-byte block is still held by the main thread, blocked in pthread_join.
  EXPECT_NO_OUTPUT(run, "300 byte(s)");
  EXPECT_OUTPUT(run, "SUMMARY: dbgalloc: 200 byte(s) leaked in 1 allocation(s).");
}

TEST(Leaks, blocks_held_by_a_blocked_threads_stack_and_tls_are_not_reported) {
  Outcome run = run_case("blocked_thread", "verbosity=2");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_OUTPUT(run, "Direct leak of 40 byte(s) in 1 object(s)");  // the main thread's leak only
  EXPECT_EQ(definite(run), (Amount{40, 1}));
  EXPECT_OUTPUT(run, "2 threads (1 others stopped, 0 others blocked");
}

TEST(Leaks, blocks_on_running_threads_stacks_are_not_leaks_when_the_program_exits) {
  // Four workers each hold 64 blocks in a stack array, replacing one at a time, while
  // main returns: every other thread is stopped and scanned from its stack pointer and
  // registers, so none of their blocks is lost. Several runs: the race was different
  // each time.
  for (int attempt = 0; attempt < 5; ++attempt) {
    Outcome run = run_case("exit_while_threads_allocate", "verbosity=2");
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(definite(run), (Amount{0, 0})) << run.output;
    EXPECT_EQ(indirect(run), (Amount{0, 0})) << run.output;
    EXPECT_OUTPUT(run, "5 threads (4 others stopped");
  }
}

TEST(Leaks, a_thread_that_blocks_every_signal_is_scanned_from_its_blocked_stack_pointer) {
  // It cannot be stopped: /proc gives its stack pointer in the system call instead.
  Outcome run = run_case("blocked_thread_signals_masked", "verbosity=2");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_EQ(definite(run), (Amount{40, 1})) << run.output;
  EXPECT_OUTPUT(run, "2 threads (0 others stopped, 1 others blocked");
}

TEST(Leaks, a_pointer_left_in_a_returned_frame_does_not_hide_the_leak) {
  // 512 copies of the only pointer stay in the dead frame, where exit's own frames and
  // the exit handlers later sit without writing them: the scan starts at exit's caller.
  Outcome run = run_case("dead_frame");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_OUTPUT(run, "Direct leak of 1234 byte(s) in 1 object(s) allocated from:");
  EXPECT_NE(stack_under(run, "Direct leak of 1234").find("leak_from_dead_frame"), std::string::npos) << run.output;
}

TEST(Leaks, what_the_frame_calling_exit_holds_is_not_a_leak) {
  Outcome run = run_case("exit_with_live_frame", "show_reachable=1");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NO_OUTPUT(run, "ERROR");
  EXPECT_NE(stack_under(run, "Still reachable: 4321 byte(s) in 1 object(s)").find("exit_while_holding"), std::string::npos)
      << run.output;
}

TEST(Leaks, recoverable_checks_report_and_return_without_exiting) {
  Outcome run = run_case("recoverable");
  EXPECT_OUTPUT(run, "dbgalloc_leak_check returned 1");
  EXPECT_OUTPUT(run, "__lsan_do_recoverable_leak_check returned 1");
  // Two on-demand reports, then the exit check finds the leak again.
  EXPECT_EQ(leak_tests::occurrences(run.output, "Direct leak of 40 byte(s)"), 3u) << run.output;
  EXPECT_EQ(run.exit_code, 23);
}

TEST(Leaks, lsan_do_leak_check_exits_with_exitcode_when_leaks_are_found) {
  Outcome run = run_case("do_leak_check", "exitcode=42");
  EXPECT_EQ(run.exit_code, 42);
  EXPECT_OUTPUT(run, "Direct leak of 40 byte(s)");
  EXPECT_NO_OUTPUT(run, "still running");
}

TEST(Leaks, forked_child_reports_only_its_own_leaks) {
  Outcome run = run_case("fork");
  EXPECT_EQ(run.exit_code, 0);  // the parent leaves with _exit
  EXPECT_OUTPUT(run, "child exit status 23");
  EXPECT_OUTPUT(run, "Direct leak of 777 byte(s) in 1 object(s)");
  EXPECT_NO_OUTPUT(run, "555 byte(s)");
}

TEST(Leaks, untouched_memory_neither_hides_a_leak_nor_loses_a_root) {
  // A leaked block never written is found; a pointer on the one touched page of a
  // mostly untouched mapping of the program's still keeps its block.
  Outcome run = run_case("untouched", "verbosity=2");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_OUTPUT(run, "Direct leak of 8388608 byte(s) in 1 object(s)");
  EXPECT_EQ(definite(run), (Amount{8388608, 1})) << run.output;
  EXPECT_NO_OUTPUT(run, "leak of 333 byte(s)");
  EXPECT_NO_OUTPUT(run, "leak of 6291456 byte(s)");
  // The untouched pages are not read: the program's mapping alone has 63.9 MiB of them.
  EXPECT_OUTPUT(run, "MiB of untouched pages not read");
}

TEST(Leaks, forked_child_finds_its_leak_and_the_roots_in_untouched_mappings) {
  Outcome run = run_case("fork_untouched");
  EXPECT_OUTPUT(run, "child exit status 23");
  EXPECT_OUTPUT(run, "Direct leak of 777 byte(s) in 1 object(s)");
  EXPECT_NO_OUTPUT(run, "leak of 333 byte(s)");
  EXPECT_NO_OUTPUT(run, "leak of 555 byte(s)");
}

TEST(Leaks, forked_child_with_everything_reachable_reports_nothing_of_the_parents) {
  Outcome run = run_case("fork_all_reachable", "verbosity=2");
  EXPECT_OUTPUT(run, "child exit status 0");
  EXPECT_NO_OUTPUT(run, "Direct leak");
  EXPECT_NO_OUTPUT(run, "leak of 555 byte(s)");
  // Its block is kept by a global: the anonymous mappings need no scan.
  EXPECT_OUTPUT(run, "anonymous mappings not needed");
}

TEST(Leaks, forked_child_that_freed_what_it_made_skips_the_scan_and_reports_nothing) {
  Outcome run = run_case("fork_frees_all", "verbosity=2");
  EXPECT_OUTPUT(run, "child exit status 0");
  EXPECT_OUTPUT(run, "definitely lost: 0 byte(s) in 0 block(s)");
  EXPECT_NO_OUTPUT(run, "leak of 555 byte(s)");
  // No block of its own: no roots read (the parent's heap is not walked for them).
  EXPECT_NO_OUTPUT(run, "leak check (exit): roots:");
}

TEST(Leaks, forked_child_of_a_program_with_busy_threads_reports_only_its_own_leak) {
  Outcome run = run_case("fork_with_threads");
  EXPECT_OUTPUT(run, "child exit status 23");
  EXPECT_OUTPUT(run, "Direct leak of 777 byte(s) in 1 object(s)");
  EXPECT_EQ(run.output.find("Direct leak"), run.output.rfind("Direct leak")) << run.output;
  EXPECT_NO_OUTPUT(run, "leak of 555 byte(s)");
}

TEST(Leaks, dbgalloc_own_lookups_leave_no_block_in_the_report) {
  // The exit check looks up LeakSanitizer's hooks with dlsym; a failed dlsym allocates
  // its error message, which is dbgalloc's, not the program's.
  Outcome run = run_case("none", "show_reachable=1");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NO_OUTPUT(run, "dlsym");
  EXPECT_NO_OUTPUT(run, "program_symbols");
}

TEST(Leaks, leak_check_children_0_silences_forked_children) {
  Outcome run = run_case("fork", "leak_check_children=0");
  EXPECT_OUTPUT(run, "child exit status 0");
  EXPECT_NO_OUTPUT(run, "Direct leak");
}

TEST(Leaks, lsan_is_turned_off_returning_1_skips_the_exit_check) {
  Outcome run = run_case("turned_off");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.output, "");
  run = run_case("direct");  // the hook returns 0 there
  EXPECT_EQ(run.exit_code, 23);
}

TEST(Leaks, underscore_exit_gives_no_report) {
  Outcome run = run_case("underscore_exit");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.output, "");
}

TEST(Leaks, detect_leaks_0_turns_the_exit_check_off) {
  Outcome run = run_case("direct", "detect_leaks=0");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.output, "");
}

TEST(Leaks, ignored_objects_and_scoped_ignore_are_not_leaks) {
  Outcome run = run_case("ignored", "verbosity=1");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(definite(run), (Amount{0, 0}));
  EXPECT_EQ(indirect(run), (Amount{0, 0}));
}

TEST(Leaks, registered_root_region_keeps_what_it_points_to) {
  Outcome run = run_case("root_region");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_OUTPUT(run, "Direct leak of 16 byte(s) in 1 object(s)");  // the holder itself
  EXPECT_NO_OUTPUT(run, "123 byte(s)");
}

TEST(Leaks, json_report_has_the_groups_and_totals) {
  Outcome run = run_case("indirect", "report_format=json");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_OUTPUT(run, "{\"tool\":\"dbgalloc\",\"format_version\":1,\"pid\":");
  EXPECT_OUTPUT(run, "\"class\":\"memory-leak\"");
  EXPECT_OUTPUT(run, "{\"kind\":\"direct\",\"bytes\":16,\"objects\":1,");
  EXPECT_OUTPUT(run, "{\"kind\":\"indirect\",\"bytes\":100,\"objects\":1,");
  EXPECT_OUTPUT(run, "\"definitely_lost\":{\"bytes\":16,\"blocks\":1}");
  EXPECT_NO_OUTPUT(run, "Direct leak");
}

TEST(Leaks, log_path_receives_the_leak_report) {
  std::string base = testing::TempDir() + "leak_log";
  Outcome run = run_case("direct", "log_path=" + base);
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_EQ(run.output, "");
  // The report went to LOG_PATH.PID.
  std::string found;
  FILE* list = popen(("cat " + base + ".* && rm -f " + base + ".*").c_str(), "r");
  ASSERT_NE(list, nullptr);
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, list)) > 0) found.append(buffer, n);
  pclose(list);
  EXPECT_NE(found.find("Direct leak of 40 byte(s)"), std::string::npos) << found;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: leaks_test LEAK_CASES LIBDBGALLOC_SO\n");
    return 2;
  }
  cases_path = argv[1];
  preload_path = argv[2];
  return RUN_ALL_TESTS();
}
