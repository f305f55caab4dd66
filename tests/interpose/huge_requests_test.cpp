// Huge requests (issue 13 item 7): above the documented maximum (1 TiB - 1, see
// docs/usage.md) malloc, calloc, realloc and the aligned allocators fail at once with
// ENOMEM; alignments of 2^40 likewise; calloc of a large block mapped for it alone
// does not write (or fault in) its pages. Linked with the static library, so dbgalloc
// is this process's malloc.
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "../support/resident.hpp"
#include "debug/allocator.hpp"
#include "platform/platform.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace {

constexpr std::size_t kOneTiB = std::size_t{1} << 40;

void* volatile sink;

TEST(HugeRequests, malloc_of_a_tebibyte_fails_with_enomem) {
  for (std::size_t bytes : {kOneTiB, kOneTiB + 4096, std::size_t{1} << 46}) {
    errno = 0;
    sink = malloc(bytes);
    EXPECT_EQ(sink, nullptr) << bytes;
    EXPECT_EQ(errno, ENOMEM) << bytes;
  }
}

// Below the maximum, but more than this machine can back: refused at once as glibc
// refuses it (the kernel's overcommit heuristic), for a guard block too (default mode
// guards blocks of guard_large_size and more; they were mapped lazily, uncounted).
TEST(HugeRequests, a_request_the_machine_cannot_back_fails_with_enomem_as_a_guard_block_too) {
  if (FILE* mode = std::fopen("/proc/sys/vm/overcommit_memory", "r")) {
    int value = std::fgetc(mode);
    std::fclose(mode);
    if (value == '1') {
      GTEST_SKIP() << "vm.overcommit_memory=1: the kernel accepts any size";
    }
  }
  constexpr std::size_t kTenToTheTwelve = 1000000000000;
  for (std::size_t bytes : {kTenToTheTwelve, kOneTiB - 4096}) {
    errno = 0;
    sink = malloc(bytes);
    EXPECT_EQ(sink, nullptr) << bytes;
    EXPECT_EQ(errno, ENOMEM) << bytes;
    errno = 0;
    sink = calloc(1, bytes);
    EXPECT_EQ(sink, nullptr) << bytes;
    EXPECT_EQ(errno, ENOMEM) << bytes;
    void* out = nullptr;
    EXPECT_EQ(posix_memalign(&out, 4096, bytes), ENOMEM) << bytes;
  }
  // Blocks this large are guard blocks here (where the kernel has guard regions), and
  // one the machine can back is still served.
  sink = malloc(std::size_t{1} << 20);
  ASSERT_NE(sink, nullptr);
  if (dbgalloc::platform::guard_regions_supported()) {
    EXPECT_TRUE(dbgalloc::debug::is_guard_block(sink));
  }
  free(sink);
}

TEST(HugeRequests, calloc_of_a_tebibyte_fails_with_enomem) {
  errno = 0;
  sink = calloc(std::size_t{1} << 20, std::size_t{1} << 20);
  EXPECT_EQ(sink, nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(HugeRequests, realloc_to_about_a_tebibyte_fails_and_keeps_the_block) {
  auto* p = static_cast<char*>(malloc(64));
  ASSERT_NE(p, nullptr);
  std::memset(p, 'k', 64);
  errno = 0;
  EXPECT_EQ(realloc(p, kOneTiB), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(p[i], 'k') << i;
  free(p);
}

TEST(HugeRequests, an_alignment_of_two_to_the_40_fails_at_once) {
  constexpr std::size_t kAlignment = std::size_t{1} << 40;
  errno = 0;
  sink = memalign(kAlignment, 64);
  EXPECT_EQ(sink, nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  sink = aligned_alloc(kAlignment, 64);
  EXPECT_EQ(sink, nullptr);
  EXPECT_EQ(errno, ENOMEM);
  void* out = nullptr;
  EXPECT_EQ(posix_memalign(&out, kAlignment, 64), ENOMEM);
  EXPECT_EQ(out, nullptr);
}

using test_support::resident_bytes;

TEST(HugeRequests, calloc_of_a_fresh_gibibyte_does_not_touch_its_pages) {
  constexpr std::size_t kGiB = std::size_t{1} << 30;
  std::size_t before = resident_bytes();
  ASSERT_GT(before, 0u);
  auto* p = static_cast<unsigned char*>(calloc(1, kGiB));
  ASSERT_NE(p, nullptr);
  std::size_t after = resident_bytes();
  EXPECT_LT(after, before + (std::size_t{64} << 20)) << "calloc(1 GiB) made " << (after - before) << " bytes resident";
  // Zero all the same (reading an untouched page maps the kernel's zero page).
  for (std::size_t offset : {std::size_t{0}, kGiB / 3, kGiB / 2, kGiB - 1}) EXPECT_EQ(p[offset], 0) << offset;
  free(p);
}

TEST(HugeRequests, calloc_of_a_reused_block_is_still_zeroed) {
  auto* p = static_cast<unsigned char*>(malloc(4000));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xab, 4000);
  free(p);
  for (int i = 0; i < 64; ++i) {
    auto* q = static_cast<unsigned char*>(calloc(1, 4000));
    ASSERT_NE(q, nullptr);
    for (int j = 0; j < 4000; ++j) ASSERT_EQ(q[j], 0) << j;
    free(q);
  }
}

}  // namespace
