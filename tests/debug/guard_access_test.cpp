// Guard blocks catch reads as well as writes, at the instruction: guard_access_cases
// runs under the preload and each test checks the report (class, READ or WRITE, the
// offset from the block and its size, the access, allocation and free stacks), with
// guard regions where the kernel has them and with the mprotect fallback forced.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "../support/child.hpp"
#include "platform/platform.hpp"

namespace {

std::string cases_path;
std::string preload_path;

test_support::Outcome run_case(const std::string& name, const std::string& options) {
  return test_support::run_preloaded(cases_path, preload_path, name, options);
}

#define EXPECT_OUTPUT(run, text) \
  EXPECT_TRUE(test_support::has(run, text)) << "missing: " << (text) << "\n" << (run).output

struct Family {
  const char* name;
  const char* allocator;  // the function in the allocation stack
  const char* releaser;   // the function in the free stack
  const char* size;
};
const Family kFamilies[] = {
    {"malloc", "allocate_with_malloc", "release_with_free", "24"},
    {"calloc", "allocate_with_calloc", "release_with_free", "24"},
    {"realloc", "allocate_with_realloc", "release_with_free", "24"},
    {"memalign", "allocate_with_memalign", "release_with_free", "96"},
    {"aligned_alloc", "allocate_with_aligned_alloc", "release_with_free", "96"},
    {"posix_memalign", "allocate_with_posix_memalign", "release_with_free", "192"},
    {"new", "allocate_with_new", "release_with_delete", "13"},
    {"new_array", "allocate_with_new_array", "release_with_delete_array", "13"},
    {"aligned_new", "allocate_with_aligned_new", "release_with_aligned_delete", "96"},
};

void expect_overrun(const Family& family, const char* access, const std::string& options) {
  bool read = std::string(access) == "overread";
  auto run = run_case(std::string(family.name) + "_" + access, options);
  SCOPED_TRACE(std::string(family.name) + " " + access + " with " + options);
  EXPECT_EQ(run.signal, SIGSEGV);
  EXPECT_OUTPUT(run, "ERROR: dbgalloc: heap-buffer-overflow on address");
  EXPECT_OUTPUT(run, read ? "\nREAD " : "\nWRITE ");
  EXPECT_OUTPUT(run, std::string("is located 0 bytes to the right of ") + family.size + "-byte region");
  EXPECT_OUTPUT(run, read ? "in (anonymous namespace)::read_byte" : "in (anonymous namespace)::write_byte");
  EXPECT_OUTPUT(run, std::string("in (anonymous namespace)::") + family.allocator);
}

void expect_use_after_free(const Family& family, const char* access, const std::string& options) {
  bool read = std::string(access) == "read_after_free";
  auto run = run_case(std::string(family.name) + "_" + access, options);
  SCOPED_TRACE(std::string(family.name) + " " + access + " with " + options);
  EXPECT_EQ(run.signal, SIGSEGV);
  EXPECT_OUTPUT(run, "ERROR: dbgalloc: heap-use-after-free on address");
  EXPECT_OUTPUT(run, read ? "\nREAD " : "\nWRITE ");
  EXPECT_OUTPUT(run, std::string("is located 5 bytes inside of ") + family.size + "-byte region");
  EXPECT_OUTPUT(run, read ? "in (anonymous namespace)::read_byte" : "in (anonymous namespace)::write_byte");
  EXPECT_OUTPUT(run, std::string("in (anonymous namespace)::") + family.allocator);
  EXPECT_OUTPUT(run, "freed by thread");
  EXPECT_OUTPUT(run, std::string("in (anonymous namespace)::") + family.releaser);
}

// Every family with guard regions (the mechanism where the kernel has them).
TEST(GuardAccess, a_one_byte_read_or_write_past_any_block_faults_at_the_instruction) {
  for (const Family& family : kFamilies) {
    expect_overrun(family, "overread", "guard=all");
    expect_overrun(family, "overwrite", "guard=all");
  }
}

TEST(GuardAccess, a_read_or_write_of_any_quarantined_block_is_a_use_after_free) {
  for (const Family& family : kFamilies) {
    expect_use_after_free(family, "read_after_free", "guard=all");
    expect_use_after_free(family, "write_after_free", "guard=all");
  }
}

// malloc blocks keep 8-byte alignment unless guard_alignment=1 (allocator.cpp
// flush_alignment): an odd-sized one is flush with it; without it, a one-byte
// overread lands in the canary bytes before the guard page, and only a longer run
// (an unterminated string) reaches it.
const Family kOddMalloc = {"odd_malloc", "allocate_odd_with_malloc", "release_with_free", "13"};

TEST(GuardAccess, guard_alignment_1_makes_an_odd_sized_malloc_block_flush_too) {
  expect_overrun(kOddMalloc, "overread", "guard=all:guard_alignment=1");
  expect_overrun(kOddMalloc, "overwrite", "guard=all:guard_alignment=1");
  expect_use_after_free(kOddMalloc, "read_after_free", "guard=all:guard_alignment=1");
  auto unflush = run_case("odd_malloc_overread", "guard=all");
  EXPECT_EQ(unflush.signal, 0) << unflush.output;
}

// The mprotect fallback, forced: one family of each kind.
TEST(GuardAccess, the_mprotect_fallback_catches_the_same) {
  for (const Family& family : kFamilies) {
    std::string name = family.name;
    if (name != "malloc" && name != "memalign" && name != "new_array") continue;
    expect_overrun(family, "overread", "guard=all:guard_regions=0");
    expect_overrun(family, "overwrite", "guard=all:guard_regions=0");
    expect_use_after_free(family, "read_after_free", "guard=all:guard_regions=0");
    expect_use_after_free(family, "write_after_free", "guard=all:guard_regions=0");
  }
}

const Family kLarge = {"large", "allocate_large", "release_with_free", "300008"};

TEST(GuardAccess, default_mode_catches_a_large_block_overread_and_read_after_free) {
  if (!dbgalloc::platform::guard_regions_supported()) GTEST_SKIP() << "kernel without guard regions";
  expect_overrun(kLarge, "overread", "");
  expect_use_after_free(kLarge, "read_after_free", "");
  expect_use_after_free(kLarge, "write_after_free", "");
  // Off: the overread reads the block's canary and carries on.
  auto off = run_case("large_overread", "guard_large_size=0");
  EXPECT_EQ(off.signal, 0) << off.output;
  EXPECT_FALSE(test_support::has(off, "ERROR")) << off.output;
  // The fallback never makes default-mode guard blocks (they would cost mappings).
  auto fallback = run_case("large_overread", "guard_regions=0");
  EXPECT_EQ(fallback.signal, 0) << fallback.output;
}

TEST(GuardAccess, a_forked_child_inherits_the_guard_pages_of_a_quarantined_block) {
  for (const char* options : {"guard=all", "guard=all:guard_regions=0"}) {
    auto run = run_case("read_after_free_in_child", options);
    SCOPED_TRACE(options);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_OUTPUT(run, "child killed by signal 11");
    EXPECT_OUTPUT(run, "ERROR: dbgalloc: heap-use-after-free on address");
    EXPECT_OUTPUT(run, "is located 5 bytes inside of 24-byte region");
    EXPECT_OUTPUT(run, "in (anonymous namespace)::allocate_with_malloc");
    EXPECT_OUTPUT(run, "in (anonymous namespace)::release_with_free");
  }
}

// Runs alone (meson: is_parallel false): a million pages of memory.
TEST(GuardAccessMillion, a_million_live_guard_blocks_and_no_fallback) {
  if (!dbgalloc::platform::guard_regions_supported()) GTEST_SKIP() << "kernel without guard regions";
  auto run = run_case("million_live_blocks", "guard=all:detect_leaks=0:print_stats=1:malloc_stack_depth=4");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_OUTPUT(run, "live 1000000 peak rss");
  std::size_t at = run.output.find(" guard blocks (");
  ASSERT_NE(at, std::string::npos) << run.output;
  std::size_t start = run.output.rfind(' ', at - 1) + 1;
  unsigned long guarded = std::stoul(run.output.substr(start, at - start));
  EXPECT_GE(guarded, 1000000u);
  EXPECT_OUTPUT(run, " guard blocks (0 fallbacks to canaries");
  // A page per block, and a little more for records, page map and page tables.
  std::size_t rss_at = run.output.find("peak rss ");
  unsigned long rss_mib = std::stoul(run.output.substr(rss_at + 9));
  EXPECT_LT(rss_mib, 1000000ul * dbgalloc::platform::page_size() / (1 << 20) * 5 / 4) << run.output;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    fprintf(stderr, "usage: %s GUARD_ACCESS_CASES LIBDBGALLOC_SO\n", argv[0]);
    return 2;
  }
  cases_path = argv[1];
  preload_path = argv[2];
  return RUN_ALL_TESTS();
}
