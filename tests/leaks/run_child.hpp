// Leak-report parsing for the leak tests; running the case programs is shared with
// the other report tests (tests/support/child.hpp).
#pragma once

#include <string>

#include "../support/child.hpp"

namespace leak_tests {

using test_support::has;
using test_support::occurrences;
using test_support::Outcome;
using test_support::run;

// "<label> X byte(s) in N block(s)" (dbgalloc) or "<label> X bytes in N blocks"
// (valgrind, with thousands separators). Missing: {0, 0}.
struct Amount {
  unsigned long long bytes = 0;
  unsigned long long blocks = 0;
  bool operator==(const Amount&) const = default;
};

inline unsigned long long number_at(const std::string& text, std::size_t* at) {
  while (*at < text.size() && text[*at] == ' ') ++*at;
  unsigned long long value = 0;
  while (*at < text.size() && ((text[*at] >= '0' && text[*at] <= '9') || text[*at] == ',')) {
    if (text[*at] != ',') value = value * 10 + static_cast<unsigned long long>(text[*at] - '0');
    ++*at;
  }
  return value;
}

inline Amount amount_after(const std::string& text, const std::string& label) {
  Amount amount;
  std::size_t at = text.rfind(label);
  if (at == std::string::npos) return amount;
  at += label.size();
  amount.bytes = number_at(text, &at);
  std::size_t in = text.find(" in ", at);
  if (in == std::string::npos) return amount;
  at = in + 4;
  amount.blocks = number_at(text, &at);
  return amount;
}

}  // namespace leak_tests
