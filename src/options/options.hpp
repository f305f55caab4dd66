// Options: parsed once at start-up from DBGALLOC_OPTIONS ("key=value" pairs separated
// by ':' or white space, as ASAN_OPTIONS). Parsing never allocates; a bad name or value
// yields a message naming the option and what it accepts, and the program does not
// start on a guess.
#pragma once

#include <cstddef>
#include <cstdint>

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

enum class GuardMode : std::uint8_t { none, all, sample };

struct Options {
#define DBGALLOC_OPTION(type, name, default_value, minimum, maximum, secure, help) type name = default_value;
#include "options/options.inc"
#undef DBGALLOC_OPTION

  // Interpreted from the text options by parse().
  GuardMode guard_mode = GuardMode::none;
  long long guard_sample_rate = 0;
  bool guard_left = false;
  bool guard_random = false;  // guard_side=random: each guard block's side at random
  bool report_json = false;
  bool report_asan_style = false;  // report_style=asan
  int unwinder_kind = 2;  // stacks::Unwinder
};

struct OptionInfo {
  const char* name;
  const char* type;           // "boolean", "integer" or "text"
  const char* default_text;   // the default as written in a flag
  long long minimum;
  long long maximum;
  bool ignored_in_secure_execution;
  const char* help;
};

// Every option, in table order.
const OptionInfo* table(std::size_t* count);

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
