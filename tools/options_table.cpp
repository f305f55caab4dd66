// Writes the options table as tab-separated lines, one per option, for the tools that
// are not C++ (dbgalloc-run's flags and --help, tools/gen_options_md.py): the build
// runs it into options.tsv, so they read what the library was compiled with.
// Columns: name, type, default (as a flag gives it), flag argument, accepted values,
// minimum, maximum, secure execution (kept or ignored), help.
#include <cstdio>
#include <string>
#include <string_view>

#include "options/options.hpp"
#include "platform/format.hpp"

namespace {

std::string flag_default(const dbgalloc::options::OptionInfo& info) {
  std::string value = info.default_text;
  if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
  if (value == "true") return "1";
  if (value == "false") return "0";
  return value;
}

std::string flag_argument(const dbgalloc::options::OptionInfo& info) {
  std::string_view type(info.type);
  if (type == "boolean") return "0/1";
  if (type == "integer") return "N";
  if (type != "choice") return "TEXT";
  std::string argument;
  for (std::size_t i = 0; !dbgalloc::options::choice_value(info, i).empty(); ++i) {
    if (i > 0) argument += '|';
    argument += dbgalloc::options::choice_value(info, i);
  }
  if (info.maximum > 0) argument += ":N";
  return argument;
}

}  // namespace

int main() {
  std::size_t count = 0;
  const dbgalloc::options::OptionInfo* table = dbgalloc::options::table(&count);
  for (std::size_t i = 0; i < count; ++i) {
    const dbgalloc::options::OptionInfo& info = table[i];
    dbgalloc::platform::StackText<512> accepted;
    dbgalloc::options::describe_accepted(info, accepted);
    std::printf("%s\t%s\t%s\t%s\t%.*s\t%lld\t%lld\t%s\t%s\n", info.name, info.type, flag_default(info).c_str(),
                flag_argument(info).c_str(), static_cast<int>(accepted.size()), accepted.data(), info.minimum,
                info.maximum, info.ignored_in_secure_execution ? "ignored" : "kept", info.help);
  }
  return 0;
}
