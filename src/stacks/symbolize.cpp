// Symbolization at report time with libbacktrace (symbolizer.hpp): DWARF line tables
// and symbol tables of every loaded module give "func(args) file:line". Where
// libbacktrace knows nothing (stripped code, JIT), dladdr gives "(module+0xOFFSET)".
//
// One libbacktrace state serves the process (about 100 ms to build on first use);
// names go into fixed buffers, so a report needs no memory of the program's heap but
// __cxa_demangle's, inside platform::InternalScope. Return addresses are looked up at
// pc - 1, the call instruction, so the line is the call's and not the next statement's.
#include <dlfcn.h>

#include "platform/reentry.hpp"
#include "stacks/stacks.hpp"
#include "stacks/symbolizer.hpp"

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
  Symbol symbol;
  symbolize(exact ? pc : pc - 1, &symbol);
  if (symbol.function[0] != '\0') out.text(" in ").text(symbol.function);
  if (symbol.file[0] != '\0' && symbol.line != 0) {
    out.character(' ').text(symbol.file).character(':').dec(symbol.line);
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
