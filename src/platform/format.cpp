#include "platform/format.hpp"

#include "platform/platform.hpp"

namespace dbgalloc::platform {

TextBuffer& TextBuffer::text(std::string_view s) {
  for (char c : s) character(c);
  return *this;
}

TextBuffer& TextBuffer::character(char c) {
  if (size_ < capacity_) {
    data_[size_++] = c;
  } else {
    truncated_ = true;
  }
  return *this;
}

TextBuffer& TextBuffer::dec(std::uint64_t value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) character(digits[--n]);
  return *this;
}

TextBuffer& TextBuffer::sdec(std::int64_t value) {
  if (value < 0) {
    character('-');
    return dec(static_cast<std::uint64_t>(-(value + 1)) + 1);
  }
  return dec(static_cast<std::uint64_t>(value));
}

TextBuffer& TextBuffer::hex(std::uint64_t value, bool prefix) {
  if (prefix) text("0x");
  char digits[16];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[value & 15];
    value >>= 4;
  } while (value != 0);
  while (n > 0) character(digits[--n]);
  return *this;
}

TextBuffer& TextBuffer::bytes(std::uint64_t value) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (value < 1024) return dec(value).text(" B");
  int unit = 0;
  std::uint64_t scaled = value * 10;
  while (scaled >= 10240 && unit < 4) {
    scaled /= 1024;
    ++unit;
  }
  dec(scaled / 10).character('.').dec(scaled % 10).character(' ').text(units[unit]);
  return *this;
}

void TextBuffer::flush() {
  write_report(data_, size_);
  clear();
}

}  // namespace dbgalloc::platform
