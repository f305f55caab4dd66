// Options: parsed once at start-up from DBGALLOC_OPTIONS ("key=value" pairs separated
// by ':' or white space, as ASAN_OPTIONS). Parsing never allocates; a bad name or value
// yields a message naming the option and what it accepts, and the program does not
// start on a guess.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "platform/format.hpp"

namespace dbgalloc::options {

using boolean = bool;
using integer = long long;
struct text {
  char value[256] = {};
  constexpr text() = default;
  constexpr text(const char* initial) {
    for (std::size_t i = 0; i + 1 < sizeof value && initial[i] != '\0'; ++i) value[i] = initial[i];
  }
  const char* c_str() const { return value; }
};

// One enum per choice option, its enumerators the table's values in order:
// options::guard_choice::sample, options::unwinder_choice::cfi_cached, ...
#define DBGALLOC_UNPARENTHESIZE(...) __VA_ARGS__
#define DBGALLOC_CHOICE_ENUM_boolean(name, values)
#define DBGALLOC_CHOICE_ENUM_integer(name, values)
#define DBGALLOC_CHOICE_ENUM_text(name, values)
#define DBGALLOC_CHOICE_ENUM_choice(name, values) \
  enum class name##_choice : std::uint8_t { DBGALLOC_UNPARENTHESIZE values };
#define DBGALLOC_OPTION(type, name, default_value, values, minimum, maximum, secure, help) \
  DBGALLOC_CHOICE_ENUM_##type(name, values)
#include "options/options.inc"
#undef DBGALLOC_OPTION

// A choice option's field holds its enum; one whose last value takes :N also has
// NAME_argument (guard=sample:100: guard_choice::sample, guard_argument 100).
#define DBGALLOC_FIELD_boolean(name, default_value) boolean name = default_value;
#define DBGALLOC_FIELD_integer(name, default_value) integer name = default_value;
#define DBGALLOC_FIELD_text(name, default_value) text name = default_value;
#define DBGALLOC_FIELD_choice(name, default_value) \
  name##_choice name = name##_choice::default_value; \
  integer name##_argument = 0;

struct Options {
#define DBGALLOC_OPTION(type, name, default_value, values, minimum, maximum, secure, help) \
  DBGALLOC_FIELD_##type(name, default_value)
#include "options/options.inc"
#undef DBGALLOC_OPTION
};

struct OptionInfo {
  const char* name;
  const char* type;           // "boolean", "integer", "choice" or "text"
  const char* default_text;   // the default as written in a flag
  const char* values;         // a choice's values, ", "-separated; "" for the others
  long long minimum;          // integer: its range; choice: the range of N in VALUE:N
  long long maximum;          //   (maximum 0: no value takes N)
  bool ignored_in_secure_execution;
  const char* help;
};

// Every option, in table order.
const OptionInfo* table(std::size_t* count);

// The index-th value of a choice option ("" past the last, or for another type).
std::string_view choice_value(const OptionInfo& info, std::size_t index);

// What an option accepts, as its bad-value message and docs/options.md say it:
// "0 or 1", "an integer from 0 to 255", "none, all or sample:N with N >= 1", ...
void describe_accepted(const OptionInfo& info, platform::TextBuffer& out);

// Applies `text` to `out`. On error returns false and describes the problem in `error`.
// In secure execution (`secure_ignored` not null) the options the table marks ignored
// keep their defaults, whatever their value, and their names are appended to
// `secure_ignored` (space-separated, each once).
bool parse(const char* text, Options* out, platform::TextBuffer& error,
           platform::TextBuffer* secure_ignored = nullptr);

// The options in force (set once at start-up).
const Options& current();
void set_current(const Options& options);

}  // namespace dbgalloc::options
