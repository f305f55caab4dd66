// Symbolization at report time with Boost.Stacktrace's libbacktrace backend: DWARF line
// tables and symbol tables of every loaded module give "func(args) file:line". Where
// libbacktrace knows nothing (stripped code, JIT), dladdr gives "(module+0xOFFSET)".
//
// Boost allocates (std::string, demangling) and libbacktrace keeps one state per
// thread (about 100 ms to build on first use): all of it runs inside
// platform::InternalScope, so the allocator serves it untracked and it never shows up
// in a report. Return addresses are looked up at pc - 1, the call instruction, so the
// line is the call's and not the next statement's.
#define BOOST_STACKTRACE_USE_BACKTRACE 1
#include <boost/stacktrace/frame.hpp>

#include <dlfcn.h>

#include <string>

#include "platform/reentry.hpp"
#include "stacks/stacks.hpp"

namespace dbgalloc::stacks {

namespace {

// One frame's line; a longer one (huge template names) is cut, never overflowed.
constexpr std::size_t kLineBytes = 1024;

std::string_view base_name(const char* path) {
  std::string_view view(path);
  std::size_t slash = view.rfind('/');
  return slash == std::string_view::npos ? view : view.substr(slash + 1);
}

void print_module_offset(std::uintptr_t pc, platform::TextBuffer& out) {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(pc), &info) != 0 && info.dli_fname != nullptr) {
    const char* name = info.dli_fname[0] != 0 ? info.dli_fname : "<main>";
    out.text("(").text(base_name(name)).text("+");
    out.hex(pc - reinterpret_cast<std::uintptr_t>(info.dli_fbase)).text(")");
  } else {
    out.text("(<unknown module>)");
  }
}

void print_frame(std::size_t index, std::uintptr_t pc, bool exact, platform::TextBuffer& out) {
  out.text("    #").dec(index).character(' ').hex(pc);
  boost::stacktrace::frame frame(reinterpret_cast<const void*>(exact ? pc : pc - 1));
  std::string name = frame.name();
  std::string file = frame.source_file();
  std::size_t line = frame.source_line();
  if (!name.empty()) out.text(" in ").text(name);
  if (!file.empty() && line != 0) {
    out.character(' ').text(file).character(':').dec(line);
  } else {
    out.character(' ');
    print_module_offset(pc, out);
  }
  out.character('\n');
}

}  // namespace

void print_frames(const std::uintptr_t* frames, std::size_t count, platform::TextBuffer& out, bool first_is_pc) {
  platform::InternalScope internal;
  for (std::size_t i = 0; i < count; ++i) {
    platform::StackText<kLineBytes> line;
    print_frame(i, frames[i], first_is_pc && i == 0, line);
    // TextBuffer does not tell its free room, so whatever the caller formatted so far
    // goes out before each frame; the last line stays for the caller to flush.
    if (out.size() > 0) out.flush();
    out.text(line.view());
    if (line.truncated()) out.text("...\n");
  }
}

void print(StackId id, platform::TextBuffer& out) {
  if (id == kNoStack) {
    out.text("    <no stack recorded>\n");
    return;
  }
  if (id == kDepotFull) {
    out.text("    <stack dropped: stack depot full>\n");
    return;
  }
  std::uintptr_t frames[kMaxFrames];
  std::size_t count = lookup(id, frames, kMaxFrames);
  if (count == 0) {
    out.text("    <unknown stack id ").dec(id).text(">\n");
    return;
  }
  print_frames(frames, count, out);
}

}  // namespace dbgalloc::stacks
