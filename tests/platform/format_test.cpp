// platform::TextBuffer, the allocation-free formatter every report is written with:
// numbers at their limits, byte sizes, and a full buffer (truncated, never overrun).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <cstring>
#include <string>

#include "platform/format.hpp"

namespace {

using dbgalloc::platform::StackText;
using dbgalloc::platform::TextBuffer;

TEST(TextBuffer, formats_decimal_numbers_at_their_limits) {
  StackText<128> out;
  out.dec(0).character(' ').dec(std::numeric_limits<std::uint64_t>::max()).character(' ');
  out.sdec(-1).character(' ').sdec(std::numeric_limits<std::int64_t>::min()).character(' ');
  out.sdec(std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(out.view(), "0 18446744073709551615 -1 -9223372036854775808 9223372036854775807");
  EXPECT_FALSE(out.truncated());
}

TEST(TextBuffer, formats_hex_with_or_without_prefix) {
  StackText<64> out;
  out.hex(0).character(' ').hex(0xdeadbeef, false).character(' ').hex(~std::uint64_t{0});
  EXPECT_EQ(out.view(), "0x0 deadbeef 0xffffffffffffffff");
}

TEST(TextBuffer, formats_sizes_in_binary_units_with_one_decimal) {
  auto bytes = [](std::uint64_t value) {
    StackText<32> out;
    out.bytes(value);
    return std::string(out.view());
  };
  EXPECT_EQ(bytes(0), "0 B");
  EXPECT_EQ(bytes(1023), "1023 B");
  EXPECT_EQ(bytes(1024), "1.0 KiB");
  EXPECT_EQ(bytes(1536), "1.5 KiB");
  EXPECT_EQ(bytes(64 << 20), "64.0 MiB");
  EXPECT_EQ(bytes(std::uint64_t{3} << 40), "3.0 TiB");
  EXPECT_EQ(bytes(std::uint64_t{5000} << 40), "5000.0 TiB") << "TiB is the largest unit";
}

TEST(TextBuffer, a_full_buffer_truncates_and_says_so_without_writing_past_its_end) {
  char storage[8 + 4];
  std::memset(storage, '#', sizeof storage);
  TextBuffer out(storage, 8);
  out.text("abcdef").dec(12345);
  EXPECT_EQ(out.view(), "abcdef12");
  EXPECT_TRUE(out.truncated());
  EXPECT_EQ(std::string(storage + 8, 4), "####");
  out.clear();
  EXPECT_EQ(out.size(), 0u);
  EXPECT_FALSE(out.truncated());
  out.text("ok");
  EXPECT_EQ(out.view(), "ok");
}

}  // namespace
