#include <errno.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "../support/resident.hpp"

#include <cstdio>
#include <vector>

#include "pages/pages.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::pages {
namespace {

const std::size_t kPage = platform::page_size();

TEST(Pages, every_page_of_a_span_maps_back_to_it_and_nothing_after_release) {
  PageAllocator& pages = page_allocator();
  Span* span = pages.allocate(10 * kPage, SpanKind::internal, nullptr);
  ASSERT_NE(span, nullptr);
  EXPECT_EQ(span->base % kPage, 0u);
  EXPECT_EQ(span->size, 10 * kPage);
  for (std::size_t offset = 0; offset < span->size; offset += 512) {
    EXPECT_EQ(pages.span_of(span->base + offset), span);
  }
  EXPECT_NE(pages.span_of(span->base + span->size), span);
  std::uintptr_t base = span->base;
  pages.release(span);
  EXPECT_EQ(pages.span_of(base), nullptr);
}

// Spans covering whole page-map leaves (1 GiB each) are entered as one mark per leaf:
// a 64 GiB span costs a few writes, not 16 M entries (issue 13 item 7). Every page
// still maps back to it, and a smaller span later placed in the same leaf range
// (after release) is found exactly.
using test_support::resident_bytes;

TEST(Pages, a_huge_span_maps_back_to_it_without_filling_the_map_page_by_page) {
  PageAllocator& pages = page_allocator();
  constexpr std::size_t kHuge = std::size_t{64} << 30;
  std::size_t before = resident_bytes();
  Span* span = pages.allocate(kHuge, SpanKind::internal, nullptr);
  ASSERT_NE(span, nullptr);
  // Page by page the map would write 128 MiB of leaves for 64 GiB.
  EXPECT_LT(resident_bytes(), before + (std::size_t{16} << 20));
  for (std::size_t offset = 0; offset < kHuge; offset += (std::size_t{1} << 30) / 3)
    EXPECT_EQ(pages.span_of(span->base + offset), span) << offset;
  EXPECT_EQ(pages.span_of(span->base + kHuge - 1), span);
  EXPECT_NE(pages.span_of(span->base + kHuge), span);
  EXPECT_NE(pages.span_of(span->base - 1), span);
  std::uintptr_t base = span->base;
  pages.release(span);
  for (std::size_t offset = 0; offset < kHuge; offset += (std::size_t{1} << 30) / 3)
    EXPECT_NE(pages.span_of(base + offset), span) << offset;
  Span* small = pages.allocate(10 * kPage, SpanKind::internal, nullptr);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(pages.span_of(small->base), small);
  EXPECT_EQ(pages.span_of(small->base + 10 * kPage - 1), small);
  EXPECT_EQ(pages.span_of(small->base + 10 * kPage), nullptr);
  pages.release(small);
}

TEST(Pages, guard_pages_belong_to_the_span_and_fault_on_access) {
  PageAllocator& pages = page_allocator();
  Span* span = pages.allocate(kPage, SpanKind::guard_block, nullptr, kPage, kPage);
  ASSERT_NE(span, nullptr);
  EXPECT_EQ(pages.span_of(span->base - 1), span);
  EXPECT_EQ(pages.span_of(span->base + kPage), span);
  EXPECT_FALSE(span->contains(span->base + kPage));
  static_cast<char*>(reinterpret_cast<void*>(span->base))[kPage - 1] = 1;  // usable
  char* after = reinterpret_cast<char*>(span->base + kPage);
  char* before = reinterpret_cast<char*>(span->base - 1);
  EXPECT_DEATH(*after = 1, "");
  EXPECT_DEATH(*before = 1, "");
  pages.release(span);
}

// Lines of /proc/self/maps that overlap [begin, end).
std::size_t mappings_over(std::uintptr_t begin, std::uintptr_t end) {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return 0;
  std::size_t count = 0;
  char line[512];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long low = 0, high = 0;
    if (std::sscanf(line, "%lx-%lx", &low, &high) == 2 && low < end && high > begin) ++count;
  }
  std::fclose(maps);
  return count;
}

TEST(Pages, a_guard_page_stays_a_mapping_of_its_own_when_the_span_is_protected) {
  // So protecting and reopening a guard block's usable range changes one mapping in
  // place: no split, no merge (three times cheaper), and the map count does not move.
  PageAllocator& pages = page_allocator();
  Span* span = pages.allocate(2 * kPage, SpanKind::guard_block, nullptr, 0, kPage);
  ASSERT_NE(span, nullptr);
  std::uintptr_t begin = span->map_begin(), end = begin + span->map_size();
  EXPECT_EQ(mappings_over(begin, end), 2u);
  static_cast<char*>(reinterpret_cast<void*>(span->base))[0] = 1;
  ASSERT_TRUE(platform::protect_none(reinterpret_cast<void*>(span->base), span->size));
  EXPECT_EQ(mappings_over(begin, end), 2u);
  ASSERT_TRUE(platform::protect_read_write(reinterpret_cast<void*>(span->base), span->size));
  EXPECT_EQ(mappings_over(begin, end), 2u);
  static_cast<char*>(reinterpret_cast<void*>(span->base))[0] = 2;
  pages.release(span);
}

TEST(Pages, spans_honour_large_alignments) {
  PageAllocator& pages = page_allocator();
  for (std::size_t alignment : {kPage * 2, std::size_t{1} << 20, std::size_t{1} << 22}) {
    Span* span = pages.allocate(kPage, SpanKind::internal, nullptr, 0, 0, alignment);
    ASSERT_NE(span, nullptr);
    EXPECT_EQ(span->base % alignment, 0u);
    pages.release(span);
  }
}

TEST(Pages, span_of_is_safe_for_any_address) {
  PageAllocator& pages = page_allocator();
  int local = 0;
  for (std::uintptr_t address : {std::uintptr_t{0}, std::uintptr_t{1}, reinterpret_cast<std::uintptr_t>(&local),
                                 std::uintptr_t{0x7fffffffffff}, std::uintptr_t{0xffffffffffffffff},
                                 std::uintptr_t{0x800000000000}}) {
    EXPECT_EQ(pages.span_of(address), nullptr);
  }
}

TEST(Pages, statistics_follow_mapping_and_release) {
  PageAllocator& pages = page_allocator();
  PageStats before = pages.stats();
  Span* span = pages.allocate(4 * kPage, SpanKind::internal, nullptr, kPage, kPage);
  ASSERT_NE(span, nullptr);
  EXPECT_EQ(pages.stats().mapped_bytes, before.mapped_bytes + 6 * kPage);
  EXPECT_EQ(pages.stats().live_spans, before.live_spans + 1);
  pages.release(span);
  EXPECT_EQ(pages.stats().mapped_bytes, before.mapped_bytes);
}

TEST(Pages, refused_mappings_come_back_as_enomem_not_a_crash) {
  PageAllocator& pages = page_allocator();
  errno = 0;
  EXPECT_EQ(pages.allocate(std::size_t{1} << 50, SpanKind::internal, nullptr), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  // Address-space exhaustion in a child, so the limit does not leak into other tests.
  pid_t child = fork();
  if (child == 0) {
    rlimit limit{256u << 20, 256u << 20};
    setrlimit(RLIMIT_AS, &limit);
    std::size_t refused = 0;
    std::vector<Span*> spans;
    for (int i = 0; i < 64; ++i) {
      Span* span = pages.allocate(16u << 20, SpanKind::internal, nullptr, kPage, kPage);
      if (span == nullptr) {
        if (errno != ENOMEM) _exit(2);
        ++refused;
      } else {
        spans.push_back(span);
      }
    }
    for (Span* span : spans) pages.release(span);
    _exit(refused > 0 && pages.stats().map_failures >= refused ? 0 : 3);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Pages, many_guarded_spans_until_the_map_count_limit_fail_cleanly) {
  // Each guarded span costs three mappings; keep going well past what most programs
  // use and make sure a refusal (if the limit is reached) is clean.
  PageAllocator& pages = page_allocator();
  std::vector<Span*> spans;
  for (int i = 0; i < 30000; ++i) {
    Span* span = pages.allocate(kPage, SpanKind::guard_block, nullptr, kPage, kPage);
    if (span == nullptr) {
      EXPECT_EQ(errno, ENOMEM);
      break;
    }
    spans.push_back(span);
  }
  EXPECT_GT(spans.size(), 1000u);
  for (Span* span : spans) pages.release(span);
}

}  // namespace
}  // namespace dbgalloc::pages
