// libFuzzer harness for the JSON report writer (its UTF-8 reader, json_check.hpp, is
// written apart from the writer on purpose: a shared one could not catch its bugs):
// whatever bytes a report carries (a
// note, a file or function name from a module's tables, a Latin-1 path), the line it
// writes must be valid JSON, checked by a strict reader (json_check.hpp: RFC 8259,
// well-formed UTF-8 only), and a reader must get back what was written: well-formed
// UTF-8 unchanged, any other byte B as U+00BB.
//   - append_json_escaped on the raw input (NUL bytes included), inside a string;
//   - a whole report line (render_json) whose note is the input, read back from a
//     memfd: one JSON object, its "note" member the expected text.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "json_check.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"
#include "report/report.hpp"
#include "report/report_json.hpp"

namespace {

// What a JSON reader must read back for `text`.
std::string expected_text(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = json_check::utf8_sequence(text, i);
    if (n == 0) {
      json_check::Reader::append_utf8(&out, static_cast<unsigned char>(text[i]));
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

[[noreturn]] void fail(const char* what, std::string_view json) {
  std::fprintf(stderr, "json_writer: %s\n%.*s\n", what, static_cast<int>(json.size()), json.data());
  std::abort();
}

void check_escaped(std::string_view input) {
  static char storage[1 << 16];
  dbgalloc::platform::TextBuffer out(storage, sizeof storage);
  out.text("{\"s\":\"");
  dbgalloc::report::append_json_escaped(out, input);
  out.text("\"}");
  if (out.truncated()) return;  // inputs are capped below the buffer's worst case
  json_check::Reader reader(out.view());
  if (!reader.document()) fail("append_json_escaped wrote invalid JSON", out.view());
  auto member = reader.members().find("s");
  if (member == reader.members().end() || member->second != expected_text(input))
    fail("append_json_escaped: the text read back differs", out.view());
}

void check_report_line(std::string_view input) {
  std::string note(input);
  for (char& c : note)
    if (c == '\0') c = ' ';  // a note is a C string
  int fd = memfd_create("json-writer", 0);
  if (fd < 0) return;
  int saved = dbgalloc::platform::report_fd();
  dbgalloc::platform::set_report_fd(fd);
  dbgalloc::report::Finding finding;
  finding.error = dbgalloc::report::ErrorClass::bad_free;
  finding.address = 0x1000;
  finding.operation = "free";
  finding.note = note.c_str();
  dbgalloc::report::render_json(finding);
  dbgalloc::platform::set_report_fd(saved);
  std::string line;
  char chunk[4096];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;) line.append(chunk, static_cast<std::size_t>(n));
  close(fd);
  if (line.empty() || line.back() != '\n') fail("the report is not one line", line);
  line.pop_back();
  if (line.find('\n') != std::string::npos) fail("the report spans several lines", line);
  json_check::Reader reader(line);
  if (!reader.document()) fail("render_json wrote invalid JSON", line);
  auto member = reader.members().find("note");
  if (member == reader.members().end() || member->second != expected_text(note))
    fail("render_json: the note read back differs", line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;  // escaped, at most 6 bytes each: fits the 64 KiB buffer
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_escaped(input);
  // A note is printed into a 4 KiB line buffer that flushes as it goes; keep it shorter
  // than that buffer so a cut never lands inside an escape.
  if (size <= 512) check_report_line(input);
  return 0;
}
