// The dynamic loader: see loader.hpp.
#include "platform/loader.hpp"

#include <dlfcn.h>
#include <sys/auxv.h>

namespace dbgalloc::platform {

int for_each_module(ModuleVisitor visit, void* context) { return dl_iterate_phdr(visit, context); }

#ifdef DBGALLOC_HAVE_DL_FIND_OBJECT
bool find_module_unwind_table(std::uintptr_t address, const void** eh_frame_hdr) {
  dl_find_object object{};
  if (_dl_find_object(reinterpret_cast<void*>(address), &object) != 0) return false;
  *eh_frame_hdr = object.dlfo_eh_frame;
  return true;
}
#endif

bool symbol_at(std::uintptr_t address, SymbolAt* out) {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(address), &info) == 0) return false;
  out->module_path = info.dli_fname;
  out->module_base = reinterpret_cast<std::uintptr_t>(info.dli_fbase);
  out->symbol = info.dli_sname;
  return true;
}

// This file is part of the object that defines dbgalloc's interposed functions (the
// shared library, or the program it is linked into), so RTLD_NEXT starts after it.
void* next_definition(const char* name) { return dlsym(RTLD_NEXT, name); }
void* global_definition(const char* name) { return dlsym(RTLD_DEFAULT, name); }

const char* executed_path() { return reinterpret_cast<const char*>(getauxval(AT_EXECFN)); }

}  // namespace dbgalloc::platform
