// Frame descriptions for JSON/SARIF reports, and module names for allocation sites.
// See frame_info.hpp. Modules are found with dl_iterate_phdr, which does not allocate;
// symbols and lines come from libbacktrace (symbolizer.hpp), whose demangling
// allocates, so describe_frame runs inside an InternalScope.
#include "stacks/frame_info.hpp"

#include <link.h>

#include <cstring>
#include <string_view>

#include "platform/loader.hpp"
#include "platform/reentry.hpp"
#include "stacks/symbolizer.hpp"

namespace dbgalloc::stacks {

namespace {

void copy_text(char* out, std::size_t size, std::string_view text) {
  std::size_t n = text.size() < size - 1 ? text.size() : size - 1;
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

std::string_view base_name(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The name a module goes by: its file's base name; the main program (which the loader
// lists with an empty name) by the base name of the path it was executed as.
std::string_view module_name(const dl_phdr_info* info) {
  if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') return base_name(info->dlpi_name);
  const char* exec = platform::executed_path();
  return exec != nullptr ? base_name(exec) : std::string_view("<main>");
}

struct PcSearch {
  std::uintptr_t pc;
  char* name;
  std::size_t name_size;
  std::uintptr_t bias;
  bool found;
};

int find_pc(dl_phdr_info* info, std::size_t, void* context) {
  auto* search = static_cast<PcSearch*>(context);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = info->dlpi_phdr[i];
    if (phdr.p_type != PT_LOAD) continue;
    std::uintptr_t begin = info->dlpi_addr + phdr.p_vaddr;
    if (search->pc >= begin && search->pc < begin + phdr.p_memsz) {
      copy_text(search->name, search->name_size, module_name(info));
      search->bias = info->dlpi_addr;
      search->found = true;
      return 1;
    }
  }
  return 0;
}

struct NameSearch {
  std::string_view name;
  std::uintptr_t bias;
  bool found;
};

int find_name(dl_phdr_info* info, std::size_t, void* context) {
  auto* search = static_cast<NameSearch*>(context);
  if (module_name(info) != search->name) return 0;
  search->bias = info->dlpi_addr;
  search->found = true;
  return 1;
}

}  // namespace

bool module_of(std::uintptr_t pc, char* name, std::size_t name_size, std::uintptr_t* offset) {
  PcSearch search{pc, name, name_size, 0, false};
  if (name_size > 0) name[0] = '\0';
  platform::for_each_module(find_pc, &search);
  if (search.found) *offset = pc - search.bias;
  return search.found;
}

bool module_base(const char* name, std::uintptr_t* base) {
  NameSearch search{name, 0, false};
  platform::for_each_module(find_name, &search);
  if (search.found) *base = search.bias;
  return search.found;
}

bool describe_frame(std::uintptr_t pc, bool exact_pc, FrameInfo* out) {
  platform::InternalScope internal;
  out->function[0] = out->file[0] = '\0';
  out->line = 0;
  out->offset = 0;
  bool known = module_of(pc, out->module, sizeof out->module, &out->offset);
  Symbol symbol;
  symbolize(exact_pc ? pc : pc - 1, &symbol);
  copy_text(out->function, sizeof out->function, symbol.function);
  copy_text(out->file, sizeof out->file, symbol.file);
  out->line = symbol.line;
  out->inlined = false;
  return known || symbol.function[0] != '\0';
}

namespace {
struct LevelDescriber {
  FrameInfo* frame;  // module and offset filled once, names per level
  FrameVisitor visit;
  void* context;
};

void describe_level(const Symbol& symbol, bool inlined, void* context) {
  auto* describer = static_cast<LevelDescriber*>(context);
  FrameInfo& frame = *describer->frame;
  copy_text(frame.function, sizeof frame.function, symbol.function);
  copy_text(frame.file, sizeof frame.file, symbol.file);
  frame.line = symbol.line;
  frame.inlined = inlined;
  describer->visit(frame, describer->context);
}
}  // namespace

std::size_t describe_levels(std::uintptr_t pc, bool exact_pc, FrameVisitor visit, void* context) {
  platform::InternalScope internal;
  FrameInfo frame;
  frame.offset = 0;
  module_of(pc, frame.module, sizeof frame.module, &frame.offset);
  LevelDescriber describer{&frame, visit, context};
  return symbolize_levels(exact_pc ? pc : pc - 1, describe_level, &describer);
}

}  // namespace dbgalloc::stacks
