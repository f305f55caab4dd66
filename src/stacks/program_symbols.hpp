// Finding a function the program defines by name, whether or not it exports it: the
// LeakSanitizer hooks (__lsan_is_turned_off, __lsan_default_suppressions) are plain
// functions in the program, which LSan's runtime, linked into the program, reaches
// through a weak reference. A preloaded library sees only exported symbols with dlsym,
// and programs are rarely linked with -rdynamic: the symbol table (.symtab) of the
// program's file is read as well, then that of each loaded library.
#pragma once

namespace dbgalloc::stacks {

// The address of the function named `name`: dlsym(RTLD_DEFAULT) first, then the .symtab
// of the main program's file (/proc/self/exe), then of each loaded library. nullptr
// when none defines it, or when the files were stripped of .symtab. Takes the loader's
// lock; maps files, never allocates.
void* find_program_function(const char* name);

}  // namespace dbgalloc::stacks
