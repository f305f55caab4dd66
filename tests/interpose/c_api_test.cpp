#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>

#include "dbgalloc/dbgalloc.h"

namespace {

bool aligned(const void* p, std::size_t alignment) {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

// Keeps the compiler from folding malloc/free pairs away.
void* volatile sink;

TEST(CApi, malloc_is_served_by_dbgalloc) {
  dbgalloc_stats before{}, after{};
  dbgalloc_get_stats(&before);
  void* p = malloc(123);
  sink = p;
  dbgalloc_get_stats(&after);
  EXPECT_EQ(after.allocations, before.allocations + 1);
  EXPECT_GE(malloc_usable_size(p), 123u);
  free(p);
  EXPECT_EQ(dbgalloc_check_heap(), 0);
}

TEST(CApi, malloc_zero_returns_a_unique_freeable_pointer) {
  void* a = malloc(0);
  void* b = malloc(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  free(a);
  free(b);
}

TEST(CApi, calloc_zeroes_recycled_memory) {
  for (int round = 0; round < 50; ++round) {
    auto* dirty = static_cast<unsigned char*>(malloc(4000));
    memset(dirty, 0xAB, 4000);
    free(dirty);
    auto* clean = static_cast<unsigned char*>(calloc(1000, 4));
    ASSERT_NE(clean, nullptr);
    for (int i = 0; i < 4000; ++i) ASSERT_EQ(clean[i], 0) << i;
    free(clean);
  }
}

TEST(CApi, calloc_overflow_fails_with_enomem) {
  errno = 0;
  EXPECT_EQ(calloc(SIZE_MAX / 2, 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(CApi, huge_malloc_fails_with_enomem) {
  errno = 0;
  sink = malloc(SIZE_MAX - 4096);
  EXPECT_EQ(sink, nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(CApi, realloc_keeps_contents_across_growth_and_shrink) {
  auto* p = static_cast<unsigned char*>(malloc(16));
  for (int i = 0; i < 16; ++i) p[i] = static_cast<unsigned char>(i);
  for (std::size_t n : {100u, 5000u, 70000u, 1000000u, 40u, 16u}) {
    p = static_cast<unsigned char*>(realloc(p, n));
    ASSERT_NE(p, nullptr);
    for (int i = 0; i < 16; ++i) ASSERT_EQ(p[i], i) << "after realloc to " << n;
  }
  free(p);
}

TEST(CApi, realloc_null_and_zero_follow_glibc) {
  void* p = realloc(nullptr, 50);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(realloc(p, 0), nullptr);  // glibc frees and returns NULL
  errno = 0;
  void* q = malloc(10);
  EXPECT_EQ(realloc(q, SIZE_MAX - 100), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(dbgalloc_check_heap(), 0);
  free(q);  // still owned by the caller after a failed realloc
}

TEST(CApi, reallocarray_detects_overflow) {
  errno = 0;
  void* p = malloc(8);
  EXPECT_EQ(reallocarray(p, SIZE_MAX / 2, 4), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  void* q = reallocarray(p, 10, 10);
  ASSERT_NE(q, nullptr);
  EXPECT_GE(malloc_usable_size(q), 100u);
  free(q);
}

TEST(CApi, posix_memalign_checks_alignment_and_returns_codes_not_errno) {
  void* p = reinterpret_cast<void*>(0x1);
  errno = 0;
  EXPECT_EQ(posix_memalign(&p, 3, 10), EINVAL);
  EXPECT_EQ(posix_memalign(&p, 4, 10), EINVAL);  // not a multiple of sizeof(void*)
  EXPECT_EQ(errno, 0);
  EXPECT_EQ(p, reinterpret_cast<void*>(0x1));
  for (std::size_t alignment = 8; alignment <= (1u << 21); alignment <<= 1) {
    ASSERT_EQ(posix_memalign(&p, alignment, 100), 0);
    EXPECT_TRUE(aligned(p, alignment)) << alignment;
    free(p);
  }
}

TEST(CApi, aligned_alloc_memalign_valloc_pvalloc_align_as_documented) {
  errno = 0;
  EXPECT_EQ(aligned_alloc(24, 100), nullptr);
  EXPECT_EQ(errno, EINVAL);
  void* a = aligned_alloc(64, 100);
  EXPECT_TRUE(aligned(a, 64));
  void* m = memalign(48, 10);  // rounded up to 64, as glibc does
  EXPECT_TRUE(aligned(m, 64));
  long page = sysconf(_SC_PAGESIZE);
  void* v = valloc(10);
  EXPECT_TRUE(aligned(v, static_cast<std::size_t>(page)));
  void* pv = pvalloc(10);
  EXPECT_TRUE(aligned(pv, static_cast<std::size_t>(page)));
  EXPECT_GE(malloc_usable_size(pv), static_cast<std::size_t>(page));
  for (void* p : {a, m, v, pv}) free(p);
  EXPECT_EQ(dbgalloc_check_heap(), 0);
}

TEST(CApi, free_preserves_errno) {
  void* p = malloc(10);
  errno = 1234;
  free(p);
  EXPECT_EQ(errno, 1234);
}

TEST(CApi, mallinfo2_reports_bytes_in_use) {
  struct mallinfo2 before = mallinfo2();
  void* p = malloc(100000);
  sink = p;
  struct mallinfo2 after = mallinfo2();
  EXPECT_GE(after.uordblks, before.uordblks + 100000);
  free(p);
}

}  // namespace
