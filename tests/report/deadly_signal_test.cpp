// Deadly signals outside guard pages (handle_segv & co.): each case of deadly_cases runs
// under the preload and the test checks the report (class, address, access kind, the
// faulting function, the block near the address), how the process ended, and that a
// handler of the program's own wins.
#include <gtest/gtest.h>

#include <csignal>
#include <regex>
#include <string>

#include "../support/child.hpp"

namespace {

std::string cases_path;
std::string preload_path;

using test_support::has;
using test_support::Outcome;

Outcome run_case(const std::string& name, const std::string& options = "") {
  return test_support::run_preloaded(cases_path, preload_path, name, options);
}

// The first stack of the report (the faulting code): from "#0" up to the next line
// that does not start a frame.
std::string first_stack(const Outcome& run) {
  std::size_t start = run.output.find("    #0 ");
  if (start == std::string::npos) return "";
  std::size_t end = start;
  while (end < run.output.size() && run.output.compare(end, 5, "    #") == 0) {
    end = run.output.find('\n', end);
    if (end == std::string::npos) break;
    ++end;
  }
  return run.output.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string number_after(const std::string& text, const std::string& label) {
  std::smatch match;
  if (!std::regex_search(text, match, std::regex(label + " ([0-9]+)"))) return "?";
  return match[1];
}

#define EXPECT_REPORT(run, text) EXPECT_TRUE(has(run, text)) << "missing: " << (text) << "\n" << (run).output

TEST(DeadlySignal, a_null_read_is_a_segv_on_the_zero_page_with_the_reading_function) {
  Outcome run = run_case("null_read");
  EXPECT_EQ(run.signal, SIGSEGV) << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex("==[0-9]+==ERROR: dbgalloc: SEGV on unknown address 0x0 "
                                                       "\\(pc 0x[0-9a-f]+ bp 0x[0-9a-f]+ sp 0x[0-9a-f]+ T[0-9]+\\)")))
      << run.output;
  EXPECT_REPORT(run, "==The signal is caused by a READ memory access.");
  EXPECT_REPORT(run, "==Hint: address points to the zero page.");
  EXPECT_NE(first_stack(run).find("#0 0x"), std::string::npos);
  EXPECT_NE(first_stack(run).find("read_through"), std::string::npos) << run.output;
  EXPECT_REPORT(run, "dbgalloc can not provide additional info.");
  EXPECT_TRUE(std::regex_search(run.output, std::regex("SUMMARY: dbgalloc: SEGV [^ ]*deadly_cases.cpp:[0-9]+ in [^\n]*read_through")))
      << run.output;
}

TEST(DeadlySignal, a_write_through_a_wild_pointer_names_its_address_and_kind) {
  Outcome run = run_case("wild_write");
  EXPECT_EQ(run.signal, SIGSEGV) << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex("SEGV on unknown address 0x[0-9a-f]{6,} \\(pc"))) << run.output;
  EXPECT_REPORT(run, "==The signal is caused by a WRITE memory access.");
  EXPECT_FALSE(has(run, "Hint: address points to the zero page")) << run.output;
  EXPECT_NE(first_stack(run).find("write_through"), std::string::npos) << run.output;
}

TEST(DeadlySignal, an_address_inside_a_heap_block_names_the_block_and_its_allocation) {
  Outcome run = run_case("inside_block");
  EXPECT_EQ(run.signal, SIGSEGV) << run.output;
  EXPECT_REPORT(run, "SEGV on unknown address");
  EXPECT_REPORT(run, "is located " + number_after(run.output, "offset") + " bytes inside of 65536-byte region");
  EXPECT_NE(first_stack(run).find("read_byte_at"), std::string::npos) << run.output;
  std::size_t allocated = run.output.find("allocated by thread T");
  ASSERT_NE(allocated, std::string::npos) << run.output;
  EXPECT_NE(run.output.find("allocate_large", allocated), std::string::npos) << run.output;
  EXPECT_FALSE(has(run, "can not provide additional info")) << run.output;
}

TEST(DeadlySignal, an_address_just_below_a_large_block_names_the_block_to_its_right) {
  // guard_large_size=0: a large block is a heap block, so the page below it is free
  // for the case to map (otherwise it is the block's own guard page, an underflow).
  Outcome run = run_case("below_block", "guard_large_size=0");
  ASSERT_NE(run.exit_code, 3) << "could not place an inaccessible page below the block";
  EXPECT_EQ(run.signal, SIGSEGV) << run.output;
  EXPECT_REPORT(run, "is located " + number_after(run.output, "distance") + " bytes to the left of 1048576-byte region");
  std::size_t allocated = run.output.find("allocated by thread T");
  ASSERT_NE(allocated, std::string::npos) << run.output;
  EXPECT_NE(run.output.find("allocate_large", allocated), std::string::npos) << run.output;
}

TEST(DeadlySignal, a_division_by_zero_and_an_illegal_instruction_are_reported_at_their_function) {
  Outcome fpe = run_case("divide_by_zero");
  EXPECT_EQ(fpe.signal, SIGFPE) << fpe.output;
  EXPECT_REPORT(fpe, "ERROR: dbgalloc: FPE on unknown address 0x");
  EXPECT_NE(first_stack(fpe).find("divide_by"), std::string::npos) << fpe.output;
  EXPECT_TRUE(std::regex_search(fpe.output, std::regex("SUMMARY: dbgalloc: FPE [^ ]*deadly_cases.cpp:[0-9]+ in [^\n]*divide_by")))
      << fpe.output;
  Outcome ill = run_case("illegal_instruction");
  EXPECT_EQ(ill.signal, SIGILL) << ill.output;
  EXPECT_REPORT(ill, "ERROR: dbgalloc: ILL on unknown address 0x");
  EXPECT_NE(first_stack(ill).find("execute_trap"), std::string::npos) << ill.output;
}

TEST(DeadlySignal, runaway_recursion_is_a_stack_overflow) {
  Outcome run = run_case("stack_overflow");
  EXPECT_EQ(run.signal, SIGSEGV) << run.output.substr(0, 2000);
  EXPECT_REPORT(run, "ERROR: dbgalloc: stack-overflow on address 0x");
  EXPECT_NE(first_stack(run).find("recurse_forever"), std::string::npos) << run.output.substr(0, 2000);
}

TEST(DeadlySignal, runaway_recursion_in_a_thread_is_a_stack_overflow_too) {
  Outcome run = run_case("stack_overflow_in_thread");
  EXPECT_EQ(run.signal, SIGSEGV) << run.output.substr(0, 2000);
  EXPECT_REPORT(run, "ERROR: dbgalloc: stack-overflow on address 0x");
  EXPECT_NE(first_stack(run).find("recurse_forever"), std::string::npos) << run.output.substr(0, 2000);
}

TEST(DeadlySignal, the_program_handler_wins_whether_installed_before_or_after_dbgalloc) {
  for (const char* name : {"own_handler_first", "own_handler_after"}) {
    Outcome run = run_case(name);
    EXPECT_EQ(run.exit_code, 42) << name << "\n" << run.output;
    EXPECT_REPORT(run, "program handler ran");
    EXPECT_FALSE(has(run, "ERROR: dbgalloc")) << name << "\n" << run.output;
  }
}

TEST(DeadlySignal, handle_segv_0_leaves_the_signal_alone) {
  Outcome run = run_case("null_read", "handle_segv=0");
  EXPECT_EQ(run.signal, SIGSEGV);
  EXPECT_FALSE(has(run, "ERROR: dbgalloc")) << run.output;
  Outcome fpe = run_case("divide_by_zero", "handle_sigfpe=0");
  EXPECT_EQ(fpe.signal, SIGFPE);
  EXPECT_FALSE(has(fpe, "ERROR: dbgalloc")) << fpe.output;
}

TEST(DeadlySignal, a_segv_sent_by_raise_is_not_a_fault_report_and_still_ends_the_process) {
  Outcome run = run_case("raise_segv");
  EXPECT_EQ(run.signal, SIGSEGV) << run.output;
  EXPECT_FALSE(has(run, "survived")) << run.output;
  EXPECT_FALSE(has(run, "ERROR: dbgalloc")) << run.output;
}

TEST(DeadlySignal, json_reports_carry_the_class_and_access) {
  Outcome run = run_case("null_read", "report_format=json");
  EXPECT_EQ(run.signal, SIGSEGV);
  EXPECT_REPORT(run, "\"class\":\"SEGV\"");
  EXPECT_REPORT(run, "\"address\":\"0x0\"");
  EXPECT_REPORT(run, "\"access\":\"READ\",\"access_size\":4");
  EXPECT_REPORT(run, "read_through");
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    fprintf(stderr, "usage: %s DEADLY_CASES LIBDBGALLOC_SO\n", argv[0]);
    return 2;
  }
  cases_path = argv[1];
  preload_path = argv[2];
  return RUN_ALL_TESTS();
}
