// Fixed-capacity text buffer for reports: formats numbers and strings without
// allocating, so it can be used inside malloc and in signal handlers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dbgalloc::platform {

class TextBuffer {
 public:
  TextBuffer(char* storage, std::size_t capacity) : data_(storage), capacity_(capacity) {}

  TextBuffer& text(std::string_view s);
  TextBuffer& character(char c);
  TextBuffer& dec(std::uint64_t value);
  TextBuffer& sdec(std::int64_t value);
  TextBuffer& hex(std::uint64_t value, bool prefix = true);
  // 1536 -> "1.5 KiB"; exact bytes under 1 KiB.
  TextBuffer& bytes(std::uint64_t value);

  const char* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool truncated() const { return truncated_; }
  std::string_view view() const { return {data_, size_}; }
  void clear() { size_ = 0; truncated_ = false; }
  // Writes the buffer to the report descriptor and clears it.
  void flush();

 private:
  char* data_;
  std::size_t capacity_;
  std::size_t size_ = 0;
  bool truncated_ = false;
};

// A TextBuffer with its own stack storage.
template <std::size_t N>
class StackText : public TextBuffer {
 public:
  StackText() : TextBuffer(storage_, N) {}

 private:
  char storage_[N];
};

}  // namespace dbgalloc::platform
