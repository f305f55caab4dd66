// Options: parsed once at start-up from DBGALLOC_OPTIONS ("key=value" pairs separated
// by ':' or white space, as ASAN_OPTIONS). Parsing never allocates; a bad name or value
// yields a message naming the option and what it accepts.
#pragma once

#include <cstddef>

#include "platform/format.hpp"

namespace dbgalloc::options {

struct Options {
#define DBGALLOC_OPTION(type, name, default_value, minimum, maximum, help) type name = default_value;
#include "options/options.inc"
#undef DBGALLOC_OPTION
};

struct OptionInfo {
  const char* name;
  const char* type;           // "bool" or "int"
  long default_value;
  long minimum;
  long maximum;
  const char* help;
};

// Every option, in table order.
const OptionInfo* table(std::size_t* count);

// Applies `text` to `out`. On error returns false and describes the problem in `error`;
// options before the bad one stay applied.
bool parse(const char* text, Options* out, platform::TextBuffer& error);

// The options in force (set once at start-up).
const Options& current();
void set_current(const Options& options);

}  // namespace dbgalloc::options
