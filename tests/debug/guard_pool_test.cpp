// The guard-span pool (src/debug/guard_blocks.cpp, the mprotect fallback): spans of
// freed guard blocks are reused, stay PROT_NONE and identified while pooled, the pool
// is bounded, and guard blocks stay under the map budget. The first tests drive
// GuardBlocks directly (spans: configure without guard regions); the last run
// guard_pool_cases under the preload with either mechanism and check the reports.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "../support/child.hpp"
#include "debug/guard_blocks.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::debug {
namespace {

const std::size_t kPage = platform::page_size();

std::string cases_path;
std::string preload_path;

// A live block, as the allocator makes it; a freed one, as release_block leaves it.
GuardRecord* allocate_live(GuardBlocks& guards, std::size_t size, bool left = false) {
  GuardRecord* record = guards.allocate(size, 16, left);
  if (record == nullptr) return nullptr;
  record->header = BlockHeader{};
  record->header.bits = BlockHeader::pack(size, Kind::malloc, 4, BlockHeader::kGuardFlag);
  transition(&record->header, State::live);
  return record;
}

std::size_t mappings() {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return 0;
  std::size_t lines = 0;
  for (int c; (c = std::fgetc(maps)) != EOF;) lines += c == '\n';
  std::fclose(maps);
  return lines;
}

void free_block(GuardBlocks& guards, GuardRecord* record) {
  transition(&record->header, State::quarantined);
  GuardBlocks::protect(record);
  transition(&record->header, State::freed);
  guards.release(record);
}

TEST(GuardPool, a_freed_span_is_reused_for_the_next_block_of_its_shape) {
  GuardBlocks guards;
  guards.configure(65530);
  GuardRecord* first = allocate_live(guards, 100);
  ASSERT_NE(first, nullptr);
  pages::Span* span = first->span;
  std::uintptr_t user = first->user;
  free_block(guards, first);
  EXPECT_EQ(guards.stats().pooled_spans, 1u);
  GuardRecord* second = allocate_live(guards, 100);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->span, span);
  EXPECT_EQ(second->user, user);
  EXPECT_EQ(guards.stats().reused_spans, 1u);
  EXPECT_EQ(guards.stats().pooled_spans, 0u);
  // Writable again, flush against its guard page.
  auto* bytes = reinterpret_cast<char*>(second->user);
  for (std::size_t i = 0; i < 100; ++i) bytes[i] = 1;
  EXPECT_EQ(second->user + 100 + 12, span->base + span->size);  // 100 rounded up to 16
  free_block(guards, second);
  guards.drain_pool();
  EXPECT_EQ(guards.stats().pooled_spans, 0u);
  EXPECT_EQ(guards.stats().live_spans, 0u);
}

TEST(GuardPool, spans_of_another_shape_or_side_are_not_taken) {
  GuardBlocks guards;
  guards.configure(65530);
  GuardRecord* one_page = allocate_live(guards, 100);
  ASSERT_NE(one_page, nullptr);
  pages::Span* pooled = one_page->span;
  free_block(guards, one_page);
  GuardRecord* two_pages = allocate_live(guards, kPage + 100);
  GuardRecord* left = allocate_live(guards, 100, true);
  ASSERT_NE(two_pages, nullptr);
  ASSERT_NE(left, nullptr);
  EXPECT_NE(two_pages->span, pooled);
  EXPECT_NE(left->span, pooled);
  EXPECT_EQ(left->user, left->span->base);
  EXPECT_EQ(guards.stats().pooled_spans, 1u);
  free_block(guards, two_pages);
  free_block(guards, left);
  guards.drain_pool();
}

TEST(GuardPool, a_pooled_span_still_names_its_freed_block_and_faults) {
  GuardBlocks guards;
  guards.configure(65530);
  GuardRecord* record = allocate_live(guards, 100);
  ASSERT_NE(record, nullptr);
  std::uintptr_t user = record->user;
  std::uintptr_t guard_page = record->span->base + record->span->size;
  free_block(guards, record);
  // The page map still says guard block span, of this record, freed: a fault or a free
  // there is reported as a use after free or a double free, not as wild memory.
  EXPECT_EQ(GuardBlocks::record_at(user), record);
  EXPECT_EQ(GuardBlocks::record_at(guard_page), record);
  EXPECT_EQ(GuardBlocks::record_at(user)->header.state(), State::freed);
  EXPECT_EQ(pages::page_allocator().span_of(user)->kind, pages::SpanKind::guard_block);
  EXPECT_DEATH(*reinterpret_cast<volatile char*>(user) = 1, "");
  EXPECT_DEATH((void)*reinterpret_cast<volatile char*>(user + 50), "");
  guards.drain_pool();
  EXPECT_EQ(GuardBlocks::record_at(user), nullptr);
}

TEST(GuardPool, the_pool_is_bounded_by_spans_and_by_bytes) {
  GuardBlocks guards;
  guards.configure(65530);
  std::vector<GuardRecord*> records;
  for (std::size_t i = 0; i < GuardBlocks::kPoolMaxSpans + 200; ++i) records.push_back(allocate_live(guards, 64));
  for (GuardRecord* record : records) {
    ASSERT_NE(record, nullptr);
    free_block(guards, record);
  }
  EXPECT_EQ(guards.stats().pooled_spans, GuardBlocks::kPoolMaxSpans);
  EXPECT_EQ(guards.stats().live_spans, 0u);
  guards.drain_pool();
  // The largest pooled shape: the byte bound is what stops it.
  const std::size_t large = GuardBlocks::kPoolPages * kPage;
  records.clear();
  for (std::size_t i = 0; i < GuardBlocks::kPoolMaxBytes / large + 50; ++i) records.push_back(allocate_live(guards, large));
  for (GuardRecord* record : records) {
    ASSERT_NE(record, nullptr);
    free_block(guards, record);
  }
  EXPECT_EQ(guards.stats().pooled_spans, GuardBlocks::kPoolMaxBytes / large);
  // Larger spans are never pooled.
  GuardRecord* huge = allocate_live(guards, large + kPage);
  ASSERT_NE(huge, nullptr);
  free_block(guards, huge);
  EXPECT_EQ(guards.stats().pooled_spans, GuardBlocks::kPoolMaxBytes / large);
  guards.drain_pool();
  EXPECT_EQ(pages::page_allocator().span_of(records[0]->user), nullptr);
}

TEST(GuardPool, over_the_map_budget_pooled_spans_go_first_then_canaries) {
  GuardBlocks guards;
  guards.configure(50);  // 20 spans
  std::vector<GuardRecord*> live;
  for (int i = 0; i < 20; ++i) live.push_back(allocate_live(guards, 100));
  for (GuardRecord* record : live) ASSERT_NE(record, nullptr);
  EXPECT_EQ(allocate_live(guards, 100), nullptr);
  EXPECT_EQ(guards.stats().fallbacks, 1u);
  for (int i = 0; i < 5; ++i) free_block(guards, live[i]);
  EXPECT_EQ(guards.stats().pooled_spans, 5u);
  // Another shape: a pooled span is unmapped to make room.
  GuardRecord* other = allocate_live(guards, 3 * kPage);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(guards.stats().pooled_spans, 4u);
  EXPECT_EQ(guards.stats().live_spans + guards.stats().pooled_spans, 20u);
  // The same shape: taken from the pool.
  for (int i = 0; i < 4; ++i) EXPECT_NE(allocate_live(guards, 100), nullptr);
  EXPECT_EQ(guards.stats().reused_spans, 4u);
  EXPECT_EQ(allocate_live(guards, 100), nullptr);
  EXPECT_EQ(guards.stats().fallbacks, 2u);
}

TEST(GuardPool, guard_blocks_up_to_the_budget_stay_under_the_kernel_map_limit) {
  GuardBlocks guards;
  std::size_t limit = platform::max_map_count();
  guards.configure(limit);
  std::vector<GuardRecord*> live;
  for (;;) {
    GuardRecord* record = allocate_live(guards, 32 + live.size() % 5000);
    if (record == nullptr) break;
    live.push_back(record);
  }
  EXPECT_GT(live.size(), limit / 4);
  EXPECT_EQ(guards.stats().fallbacks, 1u);
  EXPECT_LT(mappings(), limit * 9 / 10);
  // Quarantined (PROT_NONE) and pooled spans cost what live ones do: still two mappings.
  for (std::size_t i = 0; i < live.size(); i += 2) free_block(guards, live[i]);
  for (std::size_t i = 0; i < live.size(); i += 2) live[i] = allocate_live(guards, 32 + (i + 1) % 5000);
  EXPECT_LT(mappings(), limit * 9 / 10);
  for (GuardRecord* record : live) {
    if (record != nullptr) free_block(guards, record);
  }
  guards.drain_pool();
  EXPECT_EQ(guards.stats().live_spans, 0u);
}

// Under the preload.

test_support::Outcome run_case(const std::string& name, const std::string& options) {
  return test_support::run({cases_path, name}, {{"LD_PRELOAD", preload_path}, {"DBGALLOC_OPTIONS", options}});
}

#define EXPECT_OUTPUT(run, text) \
  EXPECT_TRUE(test_support::has(run, text)) << "missing: " << (text) << "\n" << (run).output

// Each case with both mechanisms: slabs on guard regions where the kernel has them,
// and the mprotect spans forced by guard_regions=0.
const char* const kMechanisms[] = {"", ":guard_regions=0"};

TEST(GuardPool, a_read_of_a_pooled_block_is_a_use_after_free_with_both_stacks) {
  for (const char* mechanism : kMechanisms) {
    auto run = run_case("read_after_pooled", std::string("guard=all:quarantine_mb=0") + mechanism);
    EXPECT_EQ(run.signal, SIGSEGV) << mechanism;
    EXPECT_OUTPUT(run, "heap-use-after-free on address");
    EXPECT_OUTPUT(run, "READ of size 1 at 0x");
    EXPECT_OUTPUT(run, "10 bytes inside of 100-byte region");
    EXPECT_OUTPUT(run, "read_pooled");
    EXPECT_OUTPUT(run, "allocate_pooled_hundred");
    EXPECT_OUTPUT(run, "release_pooled");
  }
}

TEST(GuardPool, a_write_to_a_pooled_block_is_a_use_after_free) {
  for (const char* mechanism : kMechanisms) {
    auto run = run_case("write_after_pooled", std::string("guard=all:quarantine_mb=0") + mechanism);
    EXPECT_EQ(run.signal, SIGSEGV) << mechanism;
    EXPECT_OUTPUT(run, "heap-use-after-free on address");
    EXPECT_OUTPUT(run, "WRITE of size 1 at 0x");
    EXPECT_OUTPUT(run, "write_pooled");
  }
}

TEST(GuardPool, freeing_a_pooled_block_again_is_a_double_free) {
  for (const char* mechanism : kMechanisms) {
    auto run = run_case("double_free_after_pooled", std::string("guard=all:quarantine_mb=0") + mechanism);
    EXPECT_EQ(run.exit_code, 23) << mechanism;
    EXPECT_OUTPUT(run, "ERROR: dbgalloc: double-free on address");
    EXPECT_OUTPUT(run, "0 bytes inside of 100-byte region");
  }
}

TEST(GuardPool, a_reused_span_is_writable_and_faults_again_once_freed) {
  for (const char* mechanism : kMechanisms) {
    auto run = run_case("reuse", std::string("guard=all:quarantine_mb=0") + mechanism);
    EXPECT_OUTPUT(run, "reused 1");
    EXPECT_EQ(run.signal, SIGSEGV) << mechanism;
    EXPECT_OUTPUT(run, "heap-use-after-free on address");
    EXPECT_OUTPUT(run, "read_pooled");
  }
}

TEST(GuardPool, guard_all_over_many_blocks_stays_under_the_map_budget) {
  for (const char* mechanism : kMechanisms) {
    auto run = run_case("many_live_blocks", std::string("guard=all:detect_leaks=0") + mechanism);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_OUTPUT(run, "under the budget");
    EXPECT_FALSE(test_support::has(run, "ERROR")) << run.output;
  }
}

TEST(GuardPool, verbosity_names_the_guard_mechanism_and_guard_regions_0_forces_mprotect) {
  auto forced = run_case("double_free_after_pooled", "guard=all:verbosity=1:guard_regions=0");
  EXPECT_OUTPUT(forced, "dbgalloc: guard pages: mprotect (guard_regions=0)");
  auto chosen = run_case("double_free_after_pooled", "guard=all:verbosity=1");
  EXPECT_OUTPUT(chosen, platform::guard_regions_supported() ? "dbgalloc: guard pages: guard regions (madvise"
                                                             : "dbgalloc: guard pages: mprotect (the kernel has no");
  auto quiet = run_case("double_free_after_pooled", "guard=all");
  EXPECT_FALSE(test_support::has(quiet, "guard pages:")) << quiet.output;
}

}  // namespace
}  // namespace dbgalloc::debug

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    fprintf(stderr, "usage: %s GUARD_POOL_CASES LIBDBGALLOC_SO\n", argv[0]);
    return 2;
  }
  dbgalloc::debug::cases_path = argv[1];
  dbgalloc::debug::preload_path = argv[2];
  return RUN_ALL_TESTS();
}
