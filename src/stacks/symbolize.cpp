// Symbolization at report time with libbacktrace (symbolizer.hpp): DWARF line tables
// and symbol tables of every loaded module give "func(args) file:line". Where
// libbacktrace knows nothing (stripped code, JIT), dladdr gives "(module+0xOFFSET)".
//
// One libbacktrace state serves the process (about 100 ms to build on first use);
// names go into fixed buffers, so a report needs no memory of the program's heap but
// __cxa_demangle's, inside platform::InternalScope. Return addresses are looked up at
// pc - 1, the call instruction, so the line is the call's and not the next statement's.
// An address in inlined code prints one frame per inline level, innermost first.

#include <string_view>

#include "platform/files.hpp"
#include "platform/loader.hpp"
#include "platform/reentry.hpp"
#include "stacks/stacks.hpp"
#include "stacks/symbolizer.hpp"

namespace dbgalloc::stacks {

namespace {

// One frame's line; a longer one (huge template names) is cut, never overflowed.
constexpr std::size_t kLineBytes = 1024;

// "(/full/path/module+0xOFFSET)", as ASan prints a frame it cannot symbolize, so that
// asan_symbolize and similar tools can find the file. The main program, which the loader
// names "", by /proc/self/exe.
std::string_view base_name(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

void print_module_offset(std::uintptr_t pc, platform::TextBuffer& out) {
  platform::SymbolAt at;
  if (platform::symbol_at(pc, &at) && at.module_path != nullptr) {
    char exe[512];
    std::string_view name = at.module_path;
    // The main program goes by the path it was started as (argv[0], maybe relative).
    if (name.empty() || name[0] != '/') {
      std::string_view self(exe, platform::executable_path(exe, sizeof exe));
      if (!self.empty() && (name.empty() || base_name(name) == base_name(self))) name = self;
      if (name.empty()) name = "<main>";
    }
    out.text("(").text(name).text("+");
    out.hex(pc - at.module_base).text(")");
  } else {
    out.text("(<unknown module>)");
  }
}

struct FramePrinter {
  std::size_t index;       // the next frame number
  std::uintptr_t pc;       // as captured (printed), not as looked up
  platform::TextBuffer* out;
};

// One line per source frame; inline levels share their address, as ASan prints them.
void print_level(const Symbol& symbol, bool, void* context) {
  auto* printer = static_cast<FramePrinter*>(context);
  platform::StackText<kLineBytes> line;
  line.text("    #").dec(printer->index++).character(' ').hex(printer->pc);
  if (symbol.function[0] != '\0') line.text(" in ").text(symbol.function);
  if (symbol.file[0] != '\0' && symbol.line != 0) {
    line.character(' ').text(symbol.file).character(':').dec(symbol.line);
  } else {
    line.character(' ');
    print_module_offset(printer->pc, line);
  }
  line.character('\n');
  // TextBuffer does not tell its free room, so whatever the caller formatted so far
  // goes out before each frame; the last line stays for the caller to flush.
  platform::TextBuffer& out = *printer->out;
  if (out.size() > 0) out.flush();
  out.text(line.view());
  if (line.truncated()) out.text("...\n");
}

}  // namespace

void print_frames(const std::uintptr_t* frames, std::size_t count, platform::TextBuffer& out, bool first_is_pc) {
  platform::InternalScope internal;
  FramePrinter printer{0, 0, &out};
  for (std::size_t i = 0; i < count; ++i) {
    printer.pc = frames[i];
    bool exact = first_is_pc && i == 0;
    symbolize_levels(exact ? frames[i] : frames[i] - 1, print_level, &printer);
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
