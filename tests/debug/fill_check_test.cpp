// The free-fill check (first_not_filled): whatever the alignment of the range and
// wherever a changed byte lies, in a line-at-a-time compare or in the byte tails, it
// names exactly the first byte that differs.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "debug/block.hpp"

namespace {

using dbgalloc::debug::first_not_filled;

constexpr std::uint8_t kFill = 0xfd;

TEST(FillCheck, an_intact_fill_of_any_length_and_alignment_passes) {
  alignas(64) static std::uint8_t buffer[512];
  std::memset(buffer, kFill, sizeof buffer);
  auto base = reinterpret_cast<std::uintptr_t>(buffer);
  for (std::size_t start = 0; start < 16; ++start)
    for (std::size_t length = 0; length + start <= 300; ++length)
      ASSERT_EQ(first_not_filled(base + start, base + start + length, kFill), 0u) << start << "+" << length;
}

TEST(FillCheck, names_the_first_changed_byte_exactly) {
  alignas(64) static std::uint8_t buffer[512];
  auto base = reinterpret_cast<std::uintptr_t>(buffer);
  for (std::size_t start : {0, 1, 7, 8, 13, 63}) {
    for (std::size_t length : {1, 9, 64, 65, 130, 300}) {
      for (std::size_t at = 0; at < length; ++at) {
        std::memset(buffer, kFill, sizeof buffer);
        buffer[start + at] = 0x00;
        // A second change further on must not be named instead of the first.
        if (at + 3 < length) buffer[start + at + 3] = 0x11;
        ASSERT_EQ(first_not_filled(base + start, base + start + length, kFill), base + start + at)
            << "start " << start << " length " << length << " at " << at;
      }
      // A change just past the range is not the range's business.
      std::memset(buffer, kFill, sizeof buffer);
      buffer[start + length] = 0;
      ASSERT_EQ(first_not_filled(base + start, base + start + length, kFill), 0u);
    }
  }
}

TEST(FillCheck, a_one_bit_change_in_a_whole_page_is_found) {
  std::vector<std::uint8_t> page(4096, kFill);
  auto base = reinterpret_cast<std::uintptr_t>(page.data());
  for (std::size_t at = 0; at < page.size(); at += 97) {
    page[at] ^= 0x04;
    ASSERT_EQ(first_not_filled(base, base + page.size(), kFill), base + at);
    page[at] = kFill;
  }
}

}  // namespace
