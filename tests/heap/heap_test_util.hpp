#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "heap/heap.hpp"

namespace dbgalloc::heap::testing {

inline void expect_sound(const Heap& heap) {
  CheckResult result = heap.check();
  EXPECT_TRUE(result.ok) << result.problem << " at 0x" << std::hex << result.address;
}

// Fills a block with bytes derived from its id so overlap between blocks is detected.
inline void fill(void* p, std::size_t n, std::uint32_t id) {
  auto* bytes = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<unsigned char>(id * 131 + i * 7);
}

inline bool filled(const void* p, std::size_t n, std::uint32_t id) {
  auto* bytes = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes[i] != static_cast<unsigned char>(id * 131 + i * 7)) return false;
  }
  return true;
}

// A heap that gives its memory back when the test ends.
struct ScopedHeap {
  Heap heap;
  ~ScopedHeap() { heap.release_all(); }
};

}  // namespace dbgalloc::heap::testing
