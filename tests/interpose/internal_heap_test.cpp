// dbgalloc's own allocations (inside platform::InternalScope) come from the internal
// heap, never from the program's: malloc, calloc, realloc and operator new made there
// are recognised by address wherever they are freed, read as zero, and leave the
// program's heap untouched. Linked with the static library, so dbgalloc is this
// process's malloc.
#include <gtest/gtest.h>

#include <malloc.h>
#include <stdlib.h>

#include <cstring>
#include <new>

#include "interpose/internal_heap.hpp"
#include "interpose/signal_heap.hpp"
#include "platform/reentry.hpp"

namespace internal_heap = dbgalloc::interpose::internal_heap;
namespace signal_heap = dbgalloc::interpose::signal_heap;
using dbgalloc::platform::InternalScope;

namespace {

__attribute__((noinline)) void* opaque(void* p) {
  asm volatile("" : "+r"(p) : : "memory");
  return p;
}

bool all_zero(const void* p, std::size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

TEST(InternalHeap, allocations_inside_internal_code_come_from_the_internal_heap) {
  void* program = opaque(malloc(100));
  void* c = nullptr;
  void* cxx = nullptr;
  void* small = nullptr;
  {
    InternalScope internal;
    small = opaque(malloc(100));
    c = opaque(calloc(10, 30));
    cxx = opaque(operator new(200));
  }
  EXPECT_FALSE(internal_heap::owns(program));
  EXPECT_TRUE(internal_heap::owns(small));
  EXPECT_TRUE(internal_heap::owns(c));
  EXPECT_TRUE(internal_heap::owns(cxx));
  EXPECT_EQ(malloc_usable_size(small), 100u);
  EXPECT_EQ(malloc_usable_size(c), 300u);
  EXPECT_TRUE(all_zero(c, 300));
  // Freed outside the scope, as glibc frees what it allocated inside it.
  free(small);
  free(c);
  operator delete(cxx);
  free(program);
}

TEST(InternalHeap, freed_blocks_are_reused_and_read_as_zero) {
  InternalScope internal;
  std::size_t before = internal_heap::stats().blocks_live;
  auto* first = static_cast<char*>(opaque(malloc(48)));
  ASSERT_TRUE(internal_heap::owns(first));
  EXPECT_EQ(internal_heap::stats().blocks_live, before + 1);
  std::memset(first, 0x5a, 48);
  free(first);
  EXPECT_EQ(internal_heap::stats().blocks_live, before);
  auto* second = static_cast<char*>(opaque(malloc(40)));
  EXPECT_EQ(second, first) << "a freed block of the same size is taken again";
  EXPECT_TRUE(all_zero(second, 40)) << "no stale pointers or data survive a free";
  free(second);
}

TEST(InternalHeap, realloc_keeps_the_data_and_stays_internal) {
  InternalScope internal;
  auto* p = static_cast<char*>(opaque(malloc(20)));
  std::memcpy(p, "internal bytes", 15);
  auto* q = static_cast<char*>(opaque(realloc(p, 5000)));
  ASSERT_NE(q, nullptr);
  EXPECT_TRUE(internal_heap::owns(q));
  EXPECT_STREQ(q, "internal bytes");
  EXPECT_EQ(malloc_usable_size(q), 5000u);
  auto* r = static_cast<char*>(opaque(realloc(nullptr, 16)));
  EXPECT_TRUE(internal_heap::owns(r));
  free(q);
  free(r);
}

TEST(InternalHeap, big_and_over_aligned_requests_get_a_private_mapping) {
  void* big = nullptr;
  void* aligned = nullptr;
  {
    InternalScope internal;
    big = opaque(malloc(1 << 20));
    aligned = opaque(aligned_alloc(4096, 64));
  }
  ASSERT_NE(big, nullptr);
  ASSERT_NE(aligned, nullptr);
  EXPECT_TRUE(signal_heap::owns(big));
  EXPECT_TRUE(signal_heap::owns(aligned));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % 4096, 0u);
  EXPECT_TRUE(all_zero(big, 1 << 20));
  free(big);
  free(aligned);
  EXPECT_FALSE(signal_heap::owns(big));
}

}  // namespace
