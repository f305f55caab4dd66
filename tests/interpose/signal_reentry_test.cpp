// Signals inside the allocator: malloc and free from a signal handler that interrupted
// malloc or free on the same thread are served from the signal heap, never a hang (a
// hang fails by meson's timeout); asynchronous cancellation inside any allocation
// function (C, operator new/delete, aligned) neither aborts the process nor leaves a
// lock held (interpose/cancel.hpp).
#include <gtest/gtest.h>

#include <string>

#include "../support/child.hpp"

namespace {

std::string cases_path;
std::string cancel_cases_path;
std::string preload_path;

using test_support::has;
using test_support::Outcome;

unsigned long long number_before(const std::string& text, const std::string& label) {
  std::size_t at = text.find(label);
  if (at == std::string::npos) return 0;
  std::size_t start = text.rfind(' ', at - 2);
  return std::stoull(text.substr(start + 1, at - start - 1));
}

TEST(SignalReentry, a_handler_that_allocates_while_malloc_is_interrupted_completes_20000_signals) {
  Outcome run = test_support::run({cases_path, "20000"},
                                  {{"LD_PRELOAD", preload_path}, {"DBGALLOC_OPTIONS", "print_stats=1"}});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GE(number_before(run.output, " signals during"), 20000u) << run.output;
  // Most interruptions land inside the allocator: those calls were nested and served.
  EXPECT_GT(number_before(run.output, " allocations by signal handlers that interrupted the allocator"), 1000u)
      << run.output;
  EXPECT_GT(number_before(run.output, " handler blocks reallocated"), 0u) << run.output;
  EXPECT_FALSE(has(run, "ERROR")) << run.output;
}

// `kind`: the allocation functions the cancelled loop calls (async_cancel_cases.cpp).
void expect_clean_cancellations(const std::string& kind) {
  // Their blocks are lost with them: the leak check is left out of this test.
  Outcome run = test_support::run({cancel_cases_path, "50", kind},
                                  {{"LD_PRELOAD", preload_path}, {"DBGALLOC_OPTIONS", "detect_leaks=0"}});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(has(run, "50 of 50 threads cancelled")) << run.output;
  EXPECT_FALSE(has(run, "terminate")) << run.output;
  EXPECT_FALSE(has(run, "FATAL")) << run.output;
}

TEST(AsyncCancel, threads_cancelled_asynchronously_inside_malloc_and_free_end_cleanly) {
  expect_clean_cancellations("c");
}

// Before: 'terminate called without an active exception' (a noexcept delete unwound).
TEST(AsyncCancel, threads_cancelled_asynchronously_inside_new_and_delete_end_cleanly) {
  expect_clean_cancellations("cxx");
}

// Before: 'FATAL: exception not rethrown' (nothrow new caught the cancellation's unwind).
TEST(AsyncCancel, threads_cancelled_asynchronously_inside_aligned_allocation_end_cleanly) {
  expect_clean_cancellations("aligned");
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 4) return 2;
  cases_path = argv[1];
  cancel_cases_path = argv[2];
  preload_path = argv[3];
  return RUN_ALL_TESTS();
}
