#include "options/options.hpp"

#include <string_view>

namespace dbgalloc::options {

namespace {
// The table's secure column: a misspelt value does not compile.
constexpr bool is_kept = false;
constexpr bool is_ignored = true;
#define DBGALLOC_STRINGIFY_VALUE(value) #value
constexpr OptionInfo kTable[] = {
#define DBGALLOC_OPTION(type, name, default_value, minimum, maximum, secure, help) \
  {#name, #type, DBGALLOC_STRINGIFY_VALUE(default_value), minimum, maximum, is_##secure, help},
#include "options/options.inc"
#undef DBGALLOC_OPTION
};

constinit Options current_options{};

bool is_separator(char c) { return c == ':' || c == ' ' || c == '\t' || c == '\n'; }

bool parse_integer(std::string_view text, long long* out) {
  if (text.empty() || text.size() > 18) return false;
  bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return false;
  long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *out = negative ? -value : value;
  return true;
}

bool parse_boolean(std::string_view text, long long* out) {
  if (text == "1" || text == "true" || text == "yes") *out = 1;
  else if (text == "0" || text == "false" || text == "no") *out = 0;
  else return false;
  return true;
}

void store(bool* field, long long value, std::string_view) { *field = value != 0; }
void store(long long* field, long long value, std::string_view) { *field = value; }
void store(text* field, long long, std::string_view value) {
  std::size_t n = value.size() < sizeof field->value - 1 ? value.size() : sizeof field->value - 1;
  for (std::size_t i = 0; i < n; ++i) field->value[i] = value[i];
  field->value[n] = '\0';
}

void assign(Options* out, std::string_view name, long long number, std::string_view value) {
#define DBGALLOC_OPTION(type, option_name, default_value, minimum, maximum, secure, help) \
  if (name == #option_name) store(&out->option_name, number, value);
#include "options/options.inc"
#undef DBGALLOC_OPTION
}

void bad_value(platform::TextBuffer& error, std::string_view name, std::string_view value, const char* expected) {
  error.text("dbgalloc: bad value '").text(value).text("' for option '").text(name).text("': expected ")
      .text(expected).character('\n');
}

// guard_sites: "" or MODULE+0xHEX[,MODULE+0xHEX...], at most 16 (debug/guard_sites.cpp).
bool valid_guard_sites(std::string_view sites) {
  std::size_t count = 0;
  while (!sites.empty()) {
    std::size_t comma = sites.find(',');
    std::string_view item = sites.substr(0, comma);
    sites = comma == std::string_view::npos ? std::string_view() : sites.substr(comma + 1);
    if (item.empty()) continue;
    std::size_t plus = item.rfind('+');
    if (plus == std::string_view::npos || plus == 0 || plus >= 128 || ++count > 16) return false;
    std::string_view hex = item.substr(plus + 1);
    if (hex.substr(0, 2) == "0x" || hex.substr(0, 2) == "0X") hex.remove_prefix(2);
    if (hex.empty() || hex.size() > 16) return false;
    for (char c : hex) {
      bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!digit) return false;
    }
  }
  return true;
}

// The text options whose values have a fixed grammar.
bool interpret(Options* out, platform::TextBuffer& error) {
  std::string_view guard(out->guard.c_str());
  if (guard == "none") {
    out->guard_mode = GuardMode::none;
  } else if (guard == "all") {
    out->guard_mode = GuardMode::all;
  } else if (guard.substr(0, 7) == "sample:" && parse_integer(guard.substr(7), &out->guard_sample_rate) &&
             out->guard_sample_rate >= 1) {
    out->guard_mode = out->guard_sample_rate == 1 ? GuardMode::all : GuardMode::sample;
  } else {
    bad_value(error, "guard", guard, "none, all or sample:N with N >= 1");
    return false;
  }
  std::string_view side(out->guard_side.c_str());
  if (side != "right" && side != "left" && side != "random") {
    bad_value(error, "guard_side", side, "right, left or random");
    return false;
  }
  out->guard_left = side == "left";
  out->guard_random = side == "random";
  std::string_view format(out->report_format.c_str());
  if (format != "text" && format != "json") {
    bad_value(error, "report_format", format, "text or json (for SARIF: dbgalloc-run --sarif=FILE, or tools/dbgalloc-sarif on json reports)");
    return false;
  }
  out->report_json = format == "json";
  std::string_view style(out->report_style.c_str());
  if (style != "dbgalloc" && style != "asan") {
    bad_value(error, "report_style", style, "dbgalloc or asan");
    return false;
  }
  out->report_asan_style = style == "asan";
  std::string_view unwinder(out->unwinder.c_str());
  if (unwinder == "frame_pointer") out->unwinder_kind = 0;
  else if (unwinder == "cfi") out->unwinder_kind = 1;
  else if (unwinder == "cfi_cached") out->unwinder_kind = 2;
  else {
    bad_value(error, "unwinder", unwinder, "frame_pointer, cfi or cfi_cached");
    return false;
  }
  if (!valid_guard_sites(out->guard_sites.c_str())) {
    bad_value(error, "guard_sites", out->guard_sites.c_str(),
              "a comma-separated list of MODULE+0xOFFSET (at most 16), e.g. guard_sites=a.out+0x11d6");
    return false;
  }
  long long alignment = out->guard_alignment;
  if ((alignment & (alignment - 1)) != 0) {
    bad_value(error, "guard_alignment", "not a power of two", "0 (flush) or a power of two from 1 to 4096");
    return false;
  }
  return true;
}
}  // namespace

const OptionInfo* table(std::size_t* count) {
  *count = sizeof kTable / sizeof kTable[0];
  return kTable;
}

namespace {
void note_ignored(platform::TextBuffer& names, std::string_view name) {
  std::string_view listed = names.view();
  for (std::size_t at = listed.find(name); at != std::string_view::npos; at = listed.find(name, at + 1)) {
    bool starts = at == 0 || listed[at - 1] == ' ';
    bool ends = at + name.size() == listed.size() || listed[at + name.size()] == ' ';
    if (starts && ends) return;
  }
  if (names.size() > 0) names.character(' ');
  names.text(name);
}
}  // namespace

bool parse(const char* input, Options* out, platform::TextBuffer& error, platform::TextBuffer* secure_ignored) {
  std::string_view rest(input == nullptr ? "" : input);
  while (!rest.empty()) {
    while (!rest.empty() && is_separator(rest.front())) rest.remove_prefix(1);
    if (rest.empty()) break;
    std::size_t end = 0;
    while (end < rest.size() && !is_separator(rest[end])) ++end;
    // guard=sample:N keeps its colon: a separator followed by digits continues it.
    if (rest.substr(0, end) == "guard=sample" && end < rest.size() && rest[end] == ':') {
      ++end;
      while (end < rest.size() && rest[end] >= '0' && rest[end] <= '9') ++end;
    }
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
    std::string_view value = pair.substr(equals + 1);
    if (secure_ignored != nullptr && info->ignored_in_secure_execution) {
      note_ignored(*secure_ignored, name);
      continue;
    }
    std::string_view type(info->type);
    long long number = 0;
    if (type == "boolean") {
      if (!parse_boolean(value, &number)) {
        bad_value(error, name, value, "0 or 1");
        return false;
      }
    } else if (type == "integer") {
      if (!parse_integer(value, &number) || number < info->minimum || number > info->maximum) {
        error.text("dbgalloc: bad value '").text(value).text("' for option '").text(name)
            .text("': expected an integer from ").sdec(info->minimum).text(" to ").sdec(info->maximum)
            .character('\n');
        return false;
      }
    } else if (value.size() >= sizeof(text::value)) {
      bad_value(error, name, "(too long)", "at most 255 characters");
      return false;
    }
    assign(out, name, number, value);
  }
  return interpret(out, error);
}

const Options& current() { return current_options; }
void set_current(const Options& options) { current_options = options; }

}  // namespace dbgalloc::options
