// Leak suppressions (format in suppressions.hpp).
#include "report/suppressions.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include "platform/platform.hpp"
#include "stacks/program_symbols.hpp"

namespace dbgalloc::report::suppressions {

namespace {
constexpr std::size_t kMaxSuppressions = 1024;
constexpr std::size_t kMaxFileBytes = 1 << 20;

bool loaded = false;
bool load_ok = true;
char* file_text = nullptr;  // mapped, kept for the life of the process
Suppression table[kMaxSuppressions];
std::size_t table_size = 0;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A frame line "    #0 0x... in func file:line" split into function and location.
void split_frame(std::string_view line, std::string_view* function, std::string_view* location) {
  *function = {};
  *location = {};
  line = trim(line);
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  // Drop "#N" and the address.
  for (int field = 0; field < 2; ++field) {
    std::size_t space = line.find(' ');
    if (space == std::string_view::npos) return;
    line.remove_prefix(space + 1);
  }
  if (line.substr(0, 3) == "in ") {
    line.remove_prefix(3);
    std::size_t split = std::string_view::npos;
    if (!line.empty() && line.back() == ')') {
      std::size_t open = line.rfind(" (");
      if (open != std::string_view::npos && line.find("+0x", open) != std::string_view::npos) split = open;
    }
    if (split == std::string_view::npos) split = line.rfind(' ');
    if (split == std::string_view::npos) {
      *function = line;
      return;
    }
    *function = line.substr(0, split);
    *location = trim(line.substr(split + 1));
  } else {
    *location = line;
  }
}
}  // namespace

bool template_match(std::string_view templ, std::string_view text) {
  if (text.empty()) return false;
  bool anchored = false;
  if (!templ.empty() && templ.front() == '^') {
    anchored = true;
    templ.remove_prefix(1);
  }
  bool asterisk = false;
  while (!templ.empty()) {
    if (templ.front() == '*') {
      templ.remove_prefix(1);
      anchored = false;
      asterisk = true;
      continue;
    }
    if (templ.front() == '$') return text.empty() || asterisk;
    if (text.empty()) return false;
    std::size_t stop = templ.find_first_of("*$");
    std::string_view piece = templ.substr(0, stop);
    std::size_t found = text.find(piece);
    if (found == std::string_view::npos) return false;
    if (anchored && found != 0) return false;
    // A '$' right after the piece: the piece must end the text (try its last occurrence).
    if (stop != std::string_view::npos && templ[stop] == '$') {
      std::size_t last = text.rfind(piece);
      if (anchored) return found == 0 && piece.size() == text.size();
      return last + piece.size() == text.size();
    }
    text.remove_prefix(found + piece.size());
    templ = stop == std::string_view::npos ? std::string_view{} : templ.substr(stop);
    anchored = false;
    asterisk = false;
  }
  return true;
}

namespace {
// Adds the leak: lines of `all` (kept: the templates point into it). `origin` names it
// in messages.
void parse(std::string_view all, const char* origin, platform::TextBuffer& error) {
  std::size_t line_number = 0;
  while (!all.empty()) {
    std::size_t newline = all.find('\n');
    std::string_view line = trim(all.substr(0, newline));
    all = newline == std::string_view::npos ? std::string_view{} : all.substr(newline + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error.text("dbgalloc: ").text(origin).text(" line ").dec(line_number)
          .text(": expected 'type:template', got '").text(line).text("'\n");
      load_ok = false;
      continue;
    }
    if (line.substr(0, colon) != "leak") continue;
    std::string_view templ = trim(line.substr(colon + 1));
    if (templ.empty() || table_size == kMaxSuppressions) continue;
    table[table_size++].templ = templ;
  }
}

// LeakSanitizer's built-in list hook: `const char* __lsan_default_suppressions()`,
// defined by the program (exported or not), read before the file.
void load_program_defaults(platform::TextBuffer& error) {
  using Defaults = const char* (*)();
  auto defaults = reinterpret_cast<Defaults>(stacks::find_program_function("__lsan_default_suppressions"));
  if (defaults == nullptr) return;
  const char* text = defaults();
  if (text != nullptr) parse(text, "__lsan_default_suppressions()", error);
}
}  // namespace

bool load(const char* path, platform::TextBuffer& error) {
  if (loaded) return load_ok;
  loaded = true;
  load_program_defaults(error);
  if (path == nullptr || path[0] == '\0') return load_ok;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error.text("dbgalloc: cannot open suppressions file '").text(path).text("'\n");
    load_ok = false;
    return false;
  }
  file_text = static_cast<char*>(platform::map(kMaxFileBytes));
  std::size_t size = 0;
  if (file_text != nullptr) {
    for (;;) {
      ssize_t n = ::read(fd, file_text + size, kMaxFileBytes - size);
      if (n <= 0) break;
      size += static_cast<std::size_t>(n);
    }
  }
  close(fd);
  platform::StackText<300> origin;
  origin.text("suppressions file '").text(path).character('\'');
  origin.character('\0');
  parse(std::string_view(file_text, size), origin.data(), error);
  return load_ok;
}

std::size_t count() { return table_size; }
Suppression& at(std::size_t index) { return table[index]; }

long match_stack(stacks::StackId id) {
  if (table_size == 0) return -1;
  std::uintptr_t frames[stacks::kMaxFrames];
  std::size_t n = stacks::lookup(id, frames, stacks::kMaxFrames);
  for (std::size_t f = 0; f < n; ++f) {
    platform::StackText<1100> line;
    stacks::print_frames(&frames[f], 1, line);
    std::string_view function, location;
    split_frame(line.view(), &function, &location);
    Dl_info info{};
    std::string_view module;
    if (dladdr(reinterpret_cast<void*>(frames[f] - 1), &info) != 0 && info.dli_fname != nullptr) module = info.dli_fname;
    for (std::size_t s = 0; s < table_size; ++s) {
      std::string_view templ = table[s].templ;
      if (template_match(templ, function) || template_match(templ, location) || template_match(templ, module)) {
        return static_cast<long>(s);
      }
    }
  }
  return -1;
}

}  // namespace dbgalloc::report::suppressions
