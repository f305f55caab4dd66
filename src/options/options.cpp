#include "options/options.hpp"

#include <cstring>
#include <string_view>

namespace dbgalloc::options {

namespace {
constexpr OptionInfo kTable[] = {
#define DBGALLOC_OPTION(type, name, default_value, minimum, maximum, help) \
  {#name, #type, static_cast<long>(default_value), minimum, maximum, help},
#include "options/options.inc"
#undef DBGALLOC_OPTION
};

constinit Options current_options{};

bool is_separator(char c) { return c == ':' || c == ' ' || c == '\t' || c == '\n' || c == ','; }

bool parse_long(std::string_view text, long* out) {
  if (text.empty() || text.size() > 18) return false;
  bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return false;
  long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *out = negative ? -value : value;
  return true;
}

bool parse_bool(std::string_view text, long* out) {
  if (text == "1" || text == "true" || text == "yes") *out = 1;
  else if (text == "0" || text == "false" || text == "no") *out = 0;
  else return false;
  return true;
}

bool assign(Options* out, std::string_view name, long value) {
#define DBGALLOC_OPTION(type, option_name, default_value, minimum, maximum, help) \
  if (name == #option_name) {                                                     \
    out->option_name = static_cast<type>(value);                                  \
    return true;                                                                  \
  }
#include "options/options.inc"
#undef DBGALLOC_OPTION
  return false;
}
}  // namespace

const OptionInfo* table(std::size_t* count) {
  *count = sizeof kTable / sizeof kTable[0];
  return kTable;
}

bool parse(const char* text, Options* out, platform::TextBuffer& error) {
  if (text == nullptr) return true;
  std::string_view rest(text);
  while (!rest.empty()) {
    while (!rest.empty() && is_separator(rest.front())) rest.remove_prefix(1);
    if (rest.empty()) break;
    std::size_t end = 0;
    while (end < rest.size() && !is_separator(rest[end])) ++end;
    std::string_view pair = rest.substr(0, end);
    rest.remove_prefix(end);

    std::size_t equals = pair.find('=');
    std::string_view name = pair.substr(0, equals);
    const OptionInfo* info = nullptr;
    for (const OptionInfo& candidate : kTable) {
      if (name == candidate.name) info = &candidate;
    }
    if (info == nullptr) {
      error.text("dbgalloc: unknown option '").text(name).text("' in DBGALLOC_OPTIONS; known options:");
      for (const OptionInfo& candidate : kTable) error.character(' ').text(candidate.name);
      error.character('\n');
      return false;
    }
    if (equals == std::string_view::npos) {
      error.text("dbgalloc: option '").text(name).text("' needs a value (").text(name).text("=...)\n");
      return false;
    }
    std::string_view value_text = pair.substr(equals + 1);
    long value = 0;
    bool is_bool = std::strcmp(info->type, "bool") == 0;
    bool ok = is_bool ? parse_bool(value_text, &value) : parse_long(value_text, &value);
    if (!ok || value < info->minimum || value > info->maximum) {
      error.text("dbgalloc: bad value '").text(value_text).text("' for option '").text(name).text("': expected ");
      if (is_bool) {
        error.text("0 or 1");
      } else {
        error.text("an integer from ").sdec(info->minimum).text(" to ").sdec(info->maximum);
      }
      error.character('\n');
      return false;
    }
    assign(out, name, value);
  }
  return true;
}

const Options& current() { return current_options; }
void set_current(const Options& options) { current_options = options; }

}  // namespace dbgalloc::options
