// libFuzzer harness for the options parser: arbitrary bytes as DBGALLOC_OPTIONS.
// The parser must never crash nor write outside its buffers (the input and the error
// buffer are heap blocks of exact size, so ASan sees any overrun); a rejection must
// come with a message; an accepted input must leave every integer and boolean inside
// the table's bounds, every text NUL-terminated, and must round-trip: printing the
// options back as key=value pairs and parsing that gives the same options.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "options/options.hpp"
#include "platform/format.hpp"

namespace {

using dbgalloc::options::OptionInfo;
using dbgalloc::options::Options;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "options_parser: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

const OptionInfo& info_of(const char* name) {
  std::size_t count = 0;
  const OptionInfo* table = dbgalloc::options::table(&count);
  for (std::size_t i = 0; i < count; ++i)
    if (std::strcmp(table[i].name, name) == 0) return table[i];
  fail("option missing from the table", name);
}

void check_value(const char* name, bool value) {
  const OptionInfo& info = info_of(name);
  if (std::strcmp(info.type, "boolean") != 0) fail("type mismatch", name);
  (void)value;
}
void check_value(const char* name, long long value) {
  const OptionInfo& info = info_of(name);
  if (value < info.minimum || value > info.maximum) fail("integer out of bounds", name);
}
void check_value(const char* name, const dbgalloc::options::text& value) {
  if (std::memchr(value.value, '\0', sizeof value.value) == nullptr) fail("text not terminated", name);
}
template <class Choice>
  requires std::is_enum_v<Choice>
void check_value(const char* name, Choice value) {
  if (dbgalloc::options::choice_value(info_of(name), static_cast<std::size_t>(value)).empty())
    fail("choice outside the table's values", name);
}

void print_value(std::string& out, bool value) { out += value ? "1" : "0"; }
void print_value(std::string& out, long long value) { out += std::to_string(value); }
void print_value(std::string& out, const dbgalloc::options::text& value) { out += value.c_str(); }
// A choice prints as its value, VALUE:N for the value that takes N.
template <class Choice>
  requires std::is_enum_v<Choice>
void print_choice(std::string& out, const char* name, Choice value, long long argument) {
  const OptionInfo& info = info_of(name);
  auto index = static_cast<std::size_t>(value);
  out += dbgalloc::options::choice_value(info, index);
  if (info.maximum > 0 && dbgalloc::options::choice_value(info, index + 1).empty())
    out += ":" + std::to_string(argument);
}
#define PRINT_boolean(name) print_value(printed, parsed.name);
#define PRINT_integer(name) print_value(printed, parsed.name);
#define PRINT_text(name) print_value(printed, parsed.name);
#define PRINT_choice(name) print_choice(printed, #name, parsed.name, parsed.name##_argument);
#define SAME_ARGUMENT_boolean(name) true
#define SAME_ARGUMENT_integer(name) true
#define SAME_ARGUMENT_text(name) true
#define SAME_ARGUMENT_choice(name) parsed.name##_argument == again.name##_argument

bool same(bool a, bool b) { return a == b; }
bool same(long long a, long long b) { return a == b; }
bool same(const dbgalloc::options::text& a, const dbgalloc::options::text& b) {
  return std::strcmp(a.c_str(), b.c_str()) == 0;
}
template <class Choice>
  requires std::is_enum_v<Choice>
bool same(Choice a, Choice b) {
  return a == b;
}

void check_accepted(const Options& parsed) {
#define DBGALLOC_OPTION(type, name, default_value, values, minimum, maximum, secure, help) check_value(#name, parsed.name);
#include "options/options.inc"
#undef DBGALLOC_OPTION
  // Round trip. A text value is printed as is: the parser split on separators, so an
  // accepted value holds none (a choice's VALUE:N, guard=sample:N, is the one value
  // with a colon, and the parser keeps it whole).
  std::string printed;
#define DBGALLOC_OPTION(type, name, default_value, values, minimum, maximum, secure, help) \
  printed += #name "=";                                                    \
  PRINT_##type(name)                                                       \
  printed += ' ';
#include "options/options.inc"
#undef DBGALLOC_OPTION
  Options again;
  dbgalloc::platform::StackText<4096> error;
  if (!dbgalloc::options::parse(printed.c_str(), &again, error)) fail("printed options rejected", error.view());
#define DBGALLOC_OPTION(type, name, default_value, values, minimum, maximum, secure, help) \
  if (!same(parsed.name, again.name) || !(SAME_ARGUMENT_##type(name))) fail("round trip changed", #name);
#include "options/options.inc"
#undef DBGALLOC_OPTION
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The environment string is NUL-terminated; an embedded NUL ends it early, as it
  // would in environ.
  char* input = new char[size + 1];
  std::memcpy(input, data, size);
  input[size] = '\0';
  constexpr std::size_t kErrorBytes = 2048;
  char* storage = new char[kErrorBytes];
  dbgalloc::platform::TextBuffer error(storage, kErrorBytes);
  Options parsed;
  if (dbgalloc::options::parse(input, &parsed, error)) {
    check_accepted(parsed);
  } else if (error.size() == 0 || error.view().substr(0, 10) != "dbgalloc: ") {
    fail("rejected without a message", std::string_view(input, std::strlen(input)));
  }
  // Secure execution: whatever the input, the options the table marks ignored keep
  // their defaults, and every one of them that was given is named.
  error.clear();
  dbgalloc::platform::StackText<1024> ignored;
  Options secure;
  if (dbgalloc::options::parse(input, &secure, error, &ignored)) {
    const Options defaults;
#define DBGALLOC_OPTION(type, name, default_value, values, minimum, maximum, secure_column, help)               \
  if (std::string_view(#secure_column) == "ignored") {                                                 \
    if (!same(secure.name, defaults.name)) fail("secure execution kept", #name);                       \
    if (!same(parsed.name, defaults.name) && ignored.view().find(#name) == std::string_view::npos)     \
      fail("secure execution ignored an option without naming it", #name);                            \
  }
#include "options/options.inc"
#undef DBGALLOC_OPTION
  }
  delete[] storage;
  delete[] input;
  return 0;
}
