#include "stacks/program_symbols.hpp"

#include <elf.h>
#include <link.h>

#include <cstdint>
#include <cstring>

#include "platform/files.hpp"
#include "platform/loader.hpp"
#include "platform/reentry.hpp"

namespace dbgalloc::stacks {

namespace {

// Looks `name` up among the defined functions of the ELF file at `path`; its offset
// from the load bias, or 0. Every offset read from the file is bounds-checked.
std::uintptr_t symtab_lookup(const char* path, const char* name) {
  std::size_t size = 0;
  const void* mapped = platform::map_file(path, &size);
  if (mapped == nullptr) return 0;
  if (size < sizeof(ElfW(Ehdr))) {
    platform::unmap_file(mapped, size);
    return 0;
  }
  const auto* base = static_cast<const unsigned char*>(mapped);
  auto inside = [&](std::uint64_t offset, std::uint64_t bytes) { return offset <= size && bytes <= size - offset; };
  std::uintptr_t found = 0;
  const auto* ehdr = reinterpret_cast<const ElfW(Ehdr)*>(base);
  if (std::memcmp(ehdr->e_ident, ELFMAG, SELFMAG) == 0 && ehdr->e_ident[EI_CLASS] == (sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32) &&
      ehdr->e_shentsize == sizeof(ElfW(Shdr)) && inside(ehdr->e_shoff, std::uint64_t{ehdr->e_shnum} * sizeof(ElfW(Shdr)))) {
    const auto* sections = reinterpret_cast<const ElfW(Shdr)*>(base + ehdr->e_shoff);
    const std::size_t name_length = std::strlen(name);
    for (unsigned i = 0; i < ehdr->e_shnum && found == 0; ++i) {
      const ElfW(Shdr)& symtab = sections[i];
      if (symtab.sh_type != SHT_SYMTAB || symtab.sh_entsize != sizeof(ElfW(Sym)) || symtab.sh_link >= ehdr->e_shnum) continue;
      const ElfW(Shdr)& strtab = sections[symtab.sh_link];
      if (!inside(symtab.sh_offset, symtab.sh_size) || !inside(strtab.sh_offset, strtab.sh_size)) continue;
      const auto* symbols = reinterpret_cast<const ElfW(Sym)*>(base + symtab.sh_offset);
      const char* strings = reinterpret_cast<const char*>(base + strtab.sh_offset);
      for (std::size_t s = 0; s < symtab.sh_size / sizeof(ElfW(Sym)); ++s) {
        const ElfW(Sym)& sym = symbols[s];
        if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
        if (sym.st_name >= strtab.sh_size || strtab.sh_size - sym.st_name <= name_length) continue;
        if (std::memcmp(strings + sym.st_name, name, name_length + 1) == 0) {
          found = sym.st_value;
          break;
        }
      }
    }
  }
  platform::unmap_file(mapped, size);
  return found;
}

struct Search {
  const char* name;
  void* found;
  bool main_program;
};

int visit_module(dl_phdr_info* info, std::size_t, void* context) {
  auto* search = static_cast<Search*>(context);
  bool main_program = search->main_program;
  search->main_program = false;
  const char* path = main_program ? "/proc/self/exe" : info->dlpi_name;
  if (path == nullptr || path[0] != '/') return 0;  // the vDSO, or no file
  std::uintptr_t offset = symtab_lookup(path, search->name);
  if (offset == 0) return 0;
  search->found = reinterpret_cast<void*>(info->dlpi_addr + offset);
  return 1;
}

}  // namespace

void* find_program_function(const char* name) {
  {
    // A failed dlsym allocates its error message (and dlerror's state): dbgalloc's own
    // doing, so not a block of the program's (no stack, never in a leak report).
    platform::InternalScope internal;
    if (void* exported = platform::global_definition(name)) return exported;
  }
  Search search{name, nullptr, true};
  platform::for_each_module(visit_module, &search);
  return search.found;
}

}  // namespace dbgalloc::stacks
