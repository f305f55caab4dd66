#include "options/options.hpp"

#include "options/guard_sites.hpp"

namespace dbgalloc::options {

namespace {
// The table's secure column: a misspelt value does not compile.
constexpr bool is_kept = false;
constexpr bool is_ignored = true;
#define DBGALLOC_STRINGIFY_VALUE(value) #value
#define DBGALLOC_STRINGIFY_VALUES(...) #__VA_ARGS__
constexpr OptionInfo kTable[] = {
#define DBGALLOC_OPTION(type, name, default_value, values, minimum, maximum, secure, help) \
  {#name, #type, DBGALLOC_STRINGIFY_VALUE(default_value), DBGALLOC_STRINGIFY_VALUES values,  \
   minimum, maximum, is_##secure, help},
#include "options/options.inc"
#undef DBGALLOC_OPTION
};
constexpr std::size_t kOptionCount = sizeof kTable / sizeof kTable[0];

// The largest number parse_integer reads (18 characters).
constexpr long long kLargestInteger = 999999999999999999;

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

std::size_t choice_count(const OptionInfo& info) {
  std::size_t count = 0;
  while (!choice_value(info, count).empty()) ++count;
  return count;
}

// A choice's value: its index among the table's values, and N for VALUE:N.
bool parse_choice(const OptionInfo& info, std::string_view value, long long* index, long long* argument) {
  std::size_t count = choice_count(info);
  for (std::size_t i = 0; i < count; ++i) {
    std::string_view name = choice_value(info, i);
    bool takes_argument = i + 1 == count && info.maximum > 0;
    if (!takes_argument && value == name) {
      *index = static_cast<long long>(i);
      return true;
    }
    if (takes_argument && value.size() > name.size() && value.substr(0, name.size()) == name &&
        value[name.size()] == ':' && parse_integer(value.substr(name.size() + 1), argument) &&
        *argument >= info.minimum && *argument <= info.maximum) {
      *index = static_cast<long long>(i);
      return true;
    }
  }
  return false;
}

void store(bool* field, long long value, std::string_view) { *field = value != 0; }
void store(long long* field, long long value, std::string_view) { *field = value; }
void store(text* field, long long, std::string_view value) {
  std::size_t n = value.size() < sizeof field->value - 1 ? value.size() : sizeof field->value - 1;
  for (std::size_t i = 0; i < n; ++i) field->value[i] = value[i];
  field->value[n] = '\0';
}

#define DBGALLOC_ASSIGN_boolean(name) store(&out->name, number, value);
#define DBGALLOC_ASSIGN_integer(name) store(&out->name, number, value);
#define DBGALLOC_ASSIGN_text(name) store(&out->name, number, value);
#define DBGALLOC_ASSIGN_choice(name)                                       \
  out->name = static_cast<decltype(out->name)>(number);                    \
  out->name##_argument = argument;

// number: a boolean's or integer's value, or a choice's index; value: the text.
void assign(Options* out, std::string_view name, long long number, long long argument, std::string_view value) {
  (void)argument;
#define DBGALLOC_OPTION(type, option_name, default_value, values, minimum, maximum, secure, help) \
  if (name == #option_name) { DBGALLOC_ASSIGN_##type(option_name) }
#include "options/options.inc"
#undef DBGALLOC_OPTION
}

void bad_value(platform::TextBuffer& error, std::string_view name, std::string_view value, const char* expected) {
  error.text("dbgalloc: bad value '").text(value).text("' for option '").text(name).text("': expected ")
      .text(expected).character('\n');
}

void bad_value(platform::TextBuffer& error, const OptionInfo& info, std::string_view value) {
  error.text("dbgalloc: bad value '").text(value).text("' for option '").text(info.name).text("': expected ");
  describe_accepted(info, error);
  error.character('\n');
}

// The rules the table's columns do not say: guard_sites' grammar, guard_alignment's powers of two.
bool check_grammars(const Options& out, platform::TextBuffer& error) {
  GuardSite sites[kMaxGuardSites];
  std::size_t count = 0;
  if (!parse_guard_sites(out.guard_sites.c_str(), sites, &count)) {
    bad_value(error, "guard_sites", out.guard_sites.c_str(),
              "a comma-separated list of MODULE+0xOFFSET (at most 16), e.g. guard_sites=a.out+0x11d6");
    return false;
  }
  long long alignment = out.guard_alignment;
  if ((alignment & (alignment - 1)) != 0) {
    bad_value(error, "guard_alignment", "not a power of two", "0 (flush) or a power of two from 1 to 4096");
    return false;
  }
  return true;
}

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

const OptionInfo* find(std::string_view name) {
  for (const OptionInfo& candidate : kTable) {
    if (name == candidate.name) return &candidate;
  }
  return nullptr;
}

// The length of the next "name=value" pair of `rest`. VALUE:N keeps its colon: a
// choice's argument-taking value followed by ':' continues with the digits after it.
std::size_t pair_length(std::string_view rest) {
  std::size_t end = 0;
  while (end < rest.size() && !is_separator(rest[end])) ++end;
  if (end == rest.size() || rest[end] != ':') return end;
  std::string_view pair = rest.substr(0, end);
  std::size_t equals = pair.find('=');
  const OptionInfo* info = find(pair.substr(0, equals));
  if (info == nullptr || equals == std::string_view::npos || info->maximum <= 0 ||
      std::string_view(info->type) != "choice" ||
      pair.substr(equals + 1) != choice_value(*info, choice_count(*info) - 1)) {
    return end;
  }
  ++end;
  while (end < rest.size() && rest[end] >= '0' && rest[end] <= '9') ++end;
  return end;
}

// One pair's value, checked against the table; choices are only noted in `pending`
// (the last value given wins, and is checked once every pair is read).
bool apply(const OptionInfo& info, std::string_view value, Options* out, std::string_view* pending,
           platform::TextBuffer& error) {
  std::string_view type(info.type);
  long long number = 0;
  if (type == "boolean") {
    if (!parse_boolean(value, &number)) {
      bad_value(error, info, value);
      return false;
    }
  } else if (type == "integer") {
    if (!parse_integer(value, &number) || number < info.minimum || number > info.maximum) {
      bad_value(error, info, value);
      return false;
    }
  } else if (value.size() >= sizeof(text::value)) {
    bad_value(error, info.name, "(too long)", "at most 255 characters");
    return false;
  } else if (type == "choice") {
    pending[&info - kTable] = value;
    return true;
  }
  assign(out, info.name, number, 0, value);
  return true;
}
}  // namespace

const OptionInfo* table(std::size_t* count) {
  *count = kOptionCount;
  return kTable;
}

std::string_view choice_value(const OptionInfo& info, std::size_t index) {
  std::string_view values(info.values);
  for (std::size_t i = 0; !values.empty(); ++i) {
    std::size_t comma = values.find(',');
    std::string_view value = values.substr(0, comma);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (i == index) return value;
    values = comma == std::string_view::npos ? std::string_view() : values.substr(comma + 1);
  }
  return {};
}

void describe_accepted(const OptionInfo& info, platform::TextBuffer& out) {
  std::string_view type(info.type);
  if (type == "boolean") {
    out.text("0 or 1");
  } else if (type == "integer") {
    out.text("an integer from ").sdec(info.minimum).text(" to ").sdec(info.maximum);
  } else if (type == "choice") {
    std::size_t count = choice_count(info);
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) out.text(i + 1 == count ? " or " : ", ");
      out.text(choice_value(info, i));
    }
    if (info.maximum > 0) {
      out.text(":N with N ");
      if (info.maximum == kLargestInteger) out.text(">= ").sdec(info.minimum);
      else out.text("from ").sdec(info.minimum).text(" to ").sdec(info.maximum);
    }
  } else if (std::string_view(info.name) == "guard_sites") {
    out.text("a comma-separated list of MODULE+0xOFFSET (at most 16)");
  } else {
    out.text("text");
  }
}

bool parse(const char* input, Options* out, platform::TextBuffer& error, platform::TextBuffer* secure_ignored) {
  std::string_view pending[kOptionCount] = {};
  std::string_view rest(input == nullptr ? "" : input);
  while (!rest.empty()) {
    while (!rest.empty() && is_separator(rest.front())) rest.remove_prefix(1);
    if (rest.empty()) break;
    std::string_view pair = rest.substr(0, pair_length(rest));
    rest.remove_prefix(pair.size());

    std::size_t equals = pair.find('=');
    std::string_view name = pair.substr(0, equals);
    const OptionInfo* info = find(name);
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
    if (secure_ignored != nullptr && info->ignored_in_secure_execution) {
      note_ignored(*secure_ignored, name);
      continue;
    }
    if (!apply(*info, pair.substr(equals + 1), out, pending, error)) return false;
  }
  for (std::size_t i = 0; i < kOptionCount; ++i) {
    if (pending[i].data() == nullptr) continue;
    long long index = 0;
    long long argument = 0;
    if (!parse_choice(kTable[i], pending[i], &index, &argument)) {
      bad_value(error, kTable[i], pending[i]);
      return false;
    }
    assign(out, kTable[i].name, index, argument, pending[i]);
  }
  return check_grammars(*out, error);
}

const Options& current() { return current_options; }
void set_current(const Options& options) { current_options = options; }

}  // namespace dbgalloc::options
