// A strict JSON reader for the JSON writer's harness (RFC 8259): objects, arrays,
// strings, numbers, true/false/null; raw string bytes must be well-formed UTF-8
// (RFC 3629) and no control byte may appear unescaped. Strings are decoded to UTF-8 so
// the harness can compare what a reader gets back with what was written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace json_check {

// Length of the well-formed UTF-8 sequence at text[i], or 0.
inline std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  auto b = [&](std::size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
  auto in = [&](std::size_t k, unsigned lo, unsigned hi) { return b(k) >= lo && b(k) <= hi; };
  unsigned c = b(0);
  if (i >= text.size()) return 0;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return in(1, 0x80, 0xbf) ? 2 : 0;
  if (c == 0xe0) return in(1, 0xa0, 0xbf) && in(2, 0x80, 0xbf) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return in(1, 0x80, 0xbf) && in(2, 0x80, 0xbf) ? 3 : 0;
  if (c == 0xed) return in(1, 0x80, 0x9f) && in(2, 0x80, 0xbf) ? 3 : 0;
  if (c == 0xf0) return in(1, 0x90, 0xbf) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return in(1, 0x80, 0xbf) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
  if (c == 0xf4) return in(1, 0x80, 0x8f) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
  return 0;
}

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  // True when the whole text is one JSON value (surrounding whitespace allowed). The
  // string members of a top-level object are kept in members().
  bool document() {
    space();
    if (!value(0)) return false;
    space();
    return at_ == text_.size();
  }
  const std::map<std::string, std::string>& members() const { return members_; }

 private:
  bool value(int depth) {
    if (depth > 64 || at_ >= text_.size()) return false;
    char c = text_[at_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      std::string ignored;
      return string(&ignored);
    }
    if (c == 't') return word("true");
    if (c == 'f') return word("false");
    if (c == 'n') return word("null");
    return number();
  }

  bool object(int depth) {
    ++at_;
    space();
    if (peek('}')) return ++at_, true;
    for (;;) {
      std::string key, text;
      space();
      if (!peek('"') || !string(&key)) return false;
      space();
      if (!peek(':')) return false;
      ++at_;
      space();
      if (depth == 0 && peek('"')) {
        if (!string(&text)) return false;
        members_[key] = text;
      } else if (!value(depth + 1)) {
        return false;
      }
      space();
      if (peek('}')) return ++at_, true;
      if (!peek(',')) return false;
      ++at_;
    }
  }

  bool array(int depth) {
    ++at_;
    space();
    if (peek(']')) return ++at_, true;
    for (;;) {
      space();
      if (!value(depth + 1)) return false;
      space();
      if (peek(']')) return ++at_, true;
      if (!peek(',')) return false;
      ++at_;
    }
  }

  bool string(std::string* out) {
    ++at_;
    while (at_ < text_.size()) {
      auto c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') return ++at_, true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (!escape(out)) return false;
        continue;
      }
      std::size_t n = utf8_length(at_);
      if (n == 0) return false;
      out->append(text_.substr(at_, n));
      at_ += n;
    }
    return false;
  }

  bool escape(std::string* out) {
    if (++at_ >= text_.size()) return false;
    char c = text_[at_++];
    switch (c) {
      case '"': out->push_back('"'); return true;
      case '\\': out->push_back('\\'); return true;
      case '/': out->push_back('/'); return true;
      case 'b': out->push_back('\b'); return true;
      case 'f': out->push_back('\f'); return true;
      case 'n': out->push_back('\n'); return true;
      case 'r': out->push_back('\r'); return true;
      case 't': out->push_back('\t'); return true;
      case 'u': break;
      default: return false;
    }
    std::uint32_t code = 0;
    if (!hex4(&code)) return false;
    if (code >= 0xd800 && code <= 0xdbff) {  // a high surrogate needs its low one
      std::uint32_t low = 0;
      if (text_.substr(at_, 2) != "\\u") return false;
      at_ += 2;
      if (!hex4(&low) || low < 0xdc00 || low > 0xdfff) return false;
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return false;
    }
    append_utf8(out, code);
    return true;
  }

  bool hex4(std::uint32_t* code) {
    if (at_ + 4 > text_.size()) return false;
    for (int i = 0; i < 4; ++i) {
      char c = text_[at_++];
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) return false;
      *code = *code * 16 + static_cast<std::uint32_t>(digit);
    }
    return true;
  }

  bool number() {
    std::size_t start = at_;
    if (peek('-')) ++at_;
    if (peek('0')) {
      ++at_;
    } else if (!digits()) {
      return false;
    }
    if (peek('.')) {
      ++at_;
      if (!digits()) return false;
    }
    if (peek('e') || peek('E')) {
      ++at_;
      if (peek('+') || peek('-')) ++at_;
      if (!digits()) return false;
    }
    return at_ > start;
  }

  bool digits() {
    std::size_t start = at_;
    while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
    return at_ > start;
  }

  bool word(std::string_view w) {
    if (text_.substr(at_, w.size()) != w) return false;
    at_ += w.size();
    return true;
  }

  std::size_t utf8_length(std::size_t i) const { return utf8_sequence(text_, i); }

  bool peek(char c) const { return at_ < text_.size() && text_[at_] == c; }
  void space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) ++at_;
  }

  std::string_view text_;
  std::size_t at_ = 0;
  std::map<std::string, std::string> members_;

 public:
  static void append_utf8(std::string* out, std::uint32_t code) {
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (code >> 6)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else if (code < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (code >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (code >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    }
  }
};

}  // namespace json_check
