// Leak suppressions (format in suppressions.hpp).
#include "leaks/suppressions.hpp"

#include <errno.h>

#include <cstring>

#include "platform/files.hpp"
#include "platform/loader.hpp"
#include "platform/platform.hpp"
#include "stacks/program_symbols.hpp"

namespace dbgalloc::leaks::suppressions {

namespace {
bool loaded = false;
bool load_ok = true;
// Private mappings (never the program's heap), kept for the life of the process: the
// table grows to fit every template; the file's text, which templates point into.
Suppression* table = nullptr;
std::size_t table_size = 0;
std::size_t table_capacity = 0;

std::size_t round_to_pages(std::size_t bytes) {
  std::size_t page = platform::page_size();
  return (bytes + page - 1) / page * page;
}

// Room for one more entry: a mapping twice as large, the old one copied and unmapped.
bool grow_table() {
  if (table_size < table_capacity) return true;
  std::size_t bytes = round_to_pages(table_capacity == 0 ? 4096 : 2 * table_capacity * sizeof(Suppression));
  auto* bigger = static_cast<Suppression*>(platform::map(bytes));
  if (bigger == nullptr) return false;
  if (table != nullptr) {
    std::memcpy(static_cast<void*>(bigger), table, table_size * sizeof(Suppression));
    platform::unmap(table, round_to_pages(table_capacity * sizeof(Suppression)));
  }
  table = bigger;
  table_capacity = bytes / sizeof(Suppression);
  return true;
}

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
    if (templ.empty()) continue;
    if (!grow_table()) {
      error.text("dbgalloc: ").text(origin).text(" line ").dec(line_number)
          .text(": no memory for more suppressions: this line and the rest are not used\n");
      load_ok = false;
      return;
    }
    table[table_size++].templ = templ;
  }
}

const char* open_failure(int error) {
  switch (error) {
    case ENOENT: return "no such file";
    case EACCES: return "permission denied";
    case ELOOP: return "too many symbolic links";
    default: return "cannot open it";
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
  // O_NONBLOCK: opening a FIFO must not wait for a writer; only a regular file is read.
  int fd = platform::open_for_reading(path, /*nonblocking=*/true);
  if (fd < 0) {
    error.text("dbgalloc: cannot open suppressions file '").text(path).text("': ").text(open_failure(errno)).text("\n");
    load_ok = false;
    return false;
  }
  std::size_t size = 0;
  if (!platform::regular_file_size(fd, &size)) {
    platform::close_file(fd);
    error.text("dbgalloc: suppressions file '").text(path).text("' is not a regular file: not read\n");
    load_ok = false;
    return false;
  }
  // The whole file, in a mapping its size.
  char* file_text = size == 0 ? nullptr : static_cast<char*>(platform::map(round_to_pages(size)));
  std::size_t got = 0;
  while (file_text != nullptr && got < size) {
    long n = platform::read_some(fd, file_text + got, size - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  platform::close_file(fd);
  if (size > 0 && (file_text == nullptr || got != size)) {
    error.text("dbgalloc: suppressions file '").text(path).text("': ")
        .text(file_text == nullptr ? "no memory to read it" : "could not read all of it").text(": not used\n");
    if (file_text != nullptr) platform::unmap(file_text, round_to_pages(size));
    load_ok = false;
    return false;
  }
  platform::StackText<300> origin;
  origin.text("suppressions file '").text(path).character('\'');
  origin.character('\0');
  parse(std::string_view(file_text, got), origin.data(), error);
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
    platform::SymbolAt at;
    std::string_view module;
    if (platform::symbol_at(frames[f] - 1, &at) && at.module_path != nullptr) module = at.module_path;
    for (std::size_t s = 0; s < table_size; ++s) {
      std::string_view templ = table[s].templ;
      if (template_match(templ, function) || template_match(templ, location) || template_match(templ, module)) {
        return static_cast<long>(s);
      }
    }
  }
  return -1;
}

}  // namespace dbgalloc::leaks::suppressions
