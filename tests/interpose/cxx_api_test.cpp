#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "dbgalloc/dbgalloc.h"

namespace {

std::uint64_t allocations() {
  dbgalloc_stats stats{};
  dbgalloc_get_stats(&stats);
  return stats.allocations;
}

struct alignas(256) Wide {
  char bytes[256];
};

// Stops the compiler from eliding new/delete pairs, which C++14 allows.
template <typename T>
T* kept(T* p) {
  static void* volatile sink;
  sink = p;
  return static_cast<T*>(sink);
}

TEST(CxxApi, every_new_form_allocates_through_dbgalloc) {
  std::uint64_t before = allocations();
  auto* a = kept(new int(5));
  auto* b = kept(new int[10]);
  auto* c = kept(new (std::nothrow) int(6));
  auto* d = kept(new (std::nothrow) int[10]);
  auto* e = kept(new Wide);
  auto* f = kept(new Wide[3]);
  auto* g = kept(new (std::nothrow) Wide);
  EXPECT_EQ(allocations(), before + 7);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(e) % 256, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(f) % 256, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(g) % 256, 0u);
  delete a;
  delete[] b;
  delete c;
  delete[] d;
  delete e;
  delete[] f;
  delete g;
  ::operator delete(::operator new(10), std::size_t{10});
  ::operator delete[](::operator new[](10), std::size_t{10});
  ::operator delete(::operator new(64, std::align_val_t{4096}), std::size_t{64}, std::align_val_t{4096});
  ::operator delete(::operator new(64, std::align_val_t{64}, std::nothrow), std::align_val_t{64}, std::nothrow);
  EXPECT_EQ(dbgalloc_check_heap(), 0);
}

TEST(CxxApi, impossible_new_throws_bad_alloc_and_nothrow_returns_null) {
  std::size_t huge = SIZE_MAX / 2;
  EXPECT_THROW(::operator delete(::operator new(huge)), std::bad_alloc);
  EXPECT_THROW(::operator delete[](::operator new[](huge)), std::bad_alloc);
  EXPECT_EQ(::operator new(huge, std::nothrow), nullptr);
  EXPECT_EQ(::operator new(huge, std::align_val_t{64}, std::nothrow), nullptr);
}

int handler_calls = 0;
void counting_handler() {
  if (++handler_calls >= 3) std::set_new_handler(nullptr);
}

TEST(CxxApi, new_calls_the_new_handler_until_it_gives_up) {
  handler_calls = 0;
  std::set_new_handler(counting_handler);
  EXPECT_THROW(::operator delete(::operator new(SIZE_MAX / 2)), std::bad_alloc);
  EXPECT_EQ(handler_calls, 3);
}

TEST(CxxApi, new_of_zero_bytes_returns_distinct_pointers) {
  void* a = ::operator new(0);
  void* b = ::operator new(0);
  EXPECT_NE(a, b);
  ::operator delete(a);
  ::operator delete(b);
}

TEST(CxxApi, containers_work) {
  std::vector<std::string> words;
  for (int i = 0; i < 10000; ++i) words.push_back(std::string(static_cast<std::size_t>(i % 100), 'x') + std::to_string(i));
  std::size_t total = 0;
  for (const auto& w : words) total += w.size();
  EXPECT_GT(total, 10000u * 49);
  auto shared = std::make_shared<std::vector<int>>(1000, 7);
  EXPECT_EQ((*shared)[999], 7);
  EXPECT_EQ(dbgalloc_check_heap(), 0);
}

}  // namespace
