// A libFuzzer input read as a stream of choices: its bytes in order, then zeros once it
// is used up, so any input, however short, makes a complete run. Shared by the
// harnesses that read an input as a sequence of operations.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return offset_ >= size_; }
  std::uint8_t byte() { return offset_ < size_ ? data_[offset_++] : 0; }
  // Two bytes, the first the low one.
  std::size_t two_bytes() {
    std::size_t low = byte();
    return low | static_cast<std::size_t>(byte()) << 8;
  }
  // n bytes (at most 8), the first the most significant.
  std::uint64_t bytes(int n) {
    std::uint64_t value = 0;
    for (int i = 0; i < n; ++i) value = value << 8 | byte();
    return value;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
};

}  // namespace dbgalloc::fuzz
