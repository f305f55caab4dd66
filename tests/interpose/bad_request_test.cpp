// Refused requests: with allocator_may_return_null=0 each is reported in its class,
// with what was asked for and the stack of the call, and the program stops; by
// default the program gets NULL and errno, as from glibc, and nothing is printed.
#include <gtest/gtest.h>

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

#define EXPECT_REPORT(run, text) EXPECT_TRUE(has(run, text)) << "missing: " << (text) << "\n" << (run).output

// The stack printed after the "found by" line.
std::string found_by_stack(const Outcome& run) {
  std::size_t start = run.output.find("found by ");
  if (start == std::string::npos) return "";
  std::size_t end = run.output.find("SUMMARY:", start);
  return run.output.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

struct Expected {
  const char* name;
  const char* headline;   // after "ERROR: dbgalloc: "
  const char* function;   // the program's frame #0
  const char* by_default; // what the program sees with allocator_may_return_null=1
};

const Expected kCases[] = {
    {"calloc_overflow",
     "calloc-overflow: calloc parameters overflow: count * size (1152921504606846976 * 16) cannot be represented in "
     "type size_t",
     "ask_calloc_overflow", "calloc returned NULL errno=12"},
    {"reallocarray_overflow",
     "reallocarray-overflow: reallocarray parameters overflow: count * size (1152921504606846976 * 32) cannot be "
     "represented in type size_t",
     "ask_reallocarray_overflow", "reallocarray returned NULL errno=12"},
    {"malloc_too_big",
     "allocation-size-too-big: requested allocation size 2199023255552 (0x20000000000) exceeds the maximum "
     "supported size of 1099511627775 (0xffffffffff)",
     "ask_malloc_too_big", "malloc returned NULL errno=12"},
    {"new_too_big", "allocation-size-too-big: requested allocation size 2199023255552 (0x20000000000)",
     "ask_new_too_big", "new threw std::bad_alloc"},
    {"posix_memalign_alignment",
     "invalid-posix-memalign-alignment: invalid alignment requested in posix_memalign: 24, alignment must be a "
     "power of two and a multiple of sizeof(void*) == 8 (size 100)",
     "ask_posix_memalign_bad_alignment", "posix_memalign returned 22 errno=0"},
    {"aligned_alloc_alignment",
     "invalid-aligned-alloc-alignment: invalid alignment requested in aligned_alloc: 24, alignment must be a power "
     "of two (size 96)",
     "ask_aligned_alloc_bad_alignment", "aligned_alloc returned NULL errno=22"},
    {"memalign_alignment",
     "invalid-allocation-alignment: invalid allocation alignment: 24, alignment must be a power of two",
     "ask_memalign_bad_alignment", "memalign returned a block errno=0"},  // glibc rounds up to 32
    {"pvalloc_overflow",
     "pvalloc-overflow: pvalloc parameters overflow: size 0xfffffffffffffff5 rounded up to the page size 0x1000 "
     "cannot be represented in type size_t",
     "ask_pvalloc_overflow", "pvalloc returned NULL errno=12"},
};

TEST(BadRequest, each_refused_request_is_reported_with_its_class_request_and_stack) {
  for (const Expected& c : kCases) {
    SCOPED_TRACE(c.name);
    Outcome run = run_case(c.name, "allocator_may_return_null=0");
    EXPECT_EQ(run.exit_code, 23) << run.output;
    EXPECT_REPORT(run, std::string("ERROR: dbgalloc: ") + c.headline);
    std::string stack = found_by_stack(run);
    EXPECT_NE(stack.find("#0 "), std::string::npos) << run.output;
    EXPECT_NE(stack.find(c.function), std::string::npos) << "stack without " << c.function << "\n" << run.output;
    EXPECT_NE(stack.find(" in main "), std::string::npos) << run.output;
    std::string klass(c.headline, std::string(c.headline).find(':'));
    EXPECT_TRUE(std::regex_search(run.output, std::regex("SUMMARY: dbgalloc: " + klass + " [^ ]+:[0-9]+ in ")))
        << run.output;
    EXPECT_FALSE(has(run, "still running")) << run.output;
  }
}

TEST(BadRequest, by_default_the_program_gets_null_and_errno_and_no_report) {
  for (const Expected& c : kCases) {
    SCOPED_TRACE(c.name);
    Outcome run = run_case(c.name);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_REPORT(run, c.by_default);
    EXPECT_REPORT(run, "still running");
    EXPECT_FALSE(has(run, "ERROR")) << run.output;
  }
}

TEST(BadRequest, with_halt_on_error_0_the_report_is_made_and_the_program_gets_null) {
  Outcome run = run_case("calloc_overflow", "allocator_may_return_null=0:halt_on_error=0");
  EXPECT_REPORT(run, "ERROR: dbgalloc: calloc-overflow");
  EXPECT_REPORT(run, "calloc returned NULL errno=12");
  EXPECT_REPORT(run, "still running");
  EXPECT_EQ(run.exit_code, 23);  // an error was reported
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: bad_request_test BAD_REQUEST_CASES LIBDBGALLOC_SO\n");
    return 2;
  }
  cases_path = argv[1];
  preload_path = argv[2];
  return RUN_ALL_TESTS();
}
