// The dynamic loader: the loaded modules, the symbol at an address, a definition by
// name. for_each_module and symbol_at allocate nothing; the lookups by name may (a
// failed dlsym allocates its error message), so callers run them in an InternalScope.
#pragma once

#include <link.h>

#include <cstddef>
#include <cstdint>

namespace dbgalloc::platform {

// dl_iterate_phdr: visit is called with each loaded module (the main program first,
// named ""), under the loader's lock, until it returns non-zero; that value is returned.
using ModuleVisitor = int (*)(dl_phdr_info* info, std::size_t size, void* context);
int for_each_module(ModuleVisitor visit, void* context);

// _dl_find_object, where glibc has it (2.35 and later): lock-free, async-signal-safe, no
// allocation. Whether address is in a loaded module, and that module's .eh_frame_hdr
// (nullptr when it has none).
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define DBGALLOC_HAVE_DL_FIND_OBJECT 1
bool find_module_unwind_table(std::uintptr_t address, const void** eh_frame_hdr);
#endif

// dladdr: the module holding address and the nearest exported symbol at or below it.
struct SymbolAt {
  const char* module_path = nullptr;  // as the loader names it ("" or argv[0] for the program)
  std::uintptr_t module_base = 0;
  const char* symbol = nullptr;  // nullptr when no exported symbol covers it
};
bool symbol_at(std::uintptr_t address, SymbolAt* out);

// dlsym(RTLD_NEXT): the definition of name after dbgalloc's own in the search order.
void* next_definition(const char* name);
// dlsym(RTLD_DEFAULT): the first definition of name in the global scope.
void* global_definition(const char* name);

// The path the program was executed as (AT_EXECFN); nullptr when unknown.
const char* executed_path();

}  // namespace dbgalloc::platform
