// Structured frame descriptions for machine-readable reports (JSON, SARIF) and the
// module-relative addresses that name an allocation site across runs.
//
// A module is named by the base name of its file (the main program by the base name
// of the path it was started with, AT_EXECFN), and an address inside it by its offset
// from the module's load bias: "bug_cases+0x12ec", "libfoo.so.1+0x1a2b". Such a name
// is stable under ASLR, so a second run of the same program can find the same PC.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::stacks {

struct FrameInfo {
  char function[512];   // demangled; "" when unknown
  char file[512];       // source file; "" when unknown
  std::size_t line;     // 0 when unknown
  char module[256];     // base name of the module; "" when no module holds pc
  std::uintptr_t offset;  // pc - the module's load bias
  bool inlined;         // an inline level inside the next frame (same pc)
};

// Describes the frame at `pc` (a return address, looked up at pc - 1, unless exact_pc).
// Runs libbacktrace inside platform::InternalScope: report time only. False when
// not even a module is known.
// An address in inlined code stands for several source frames; this describes the
// function that holds the code (the outermost level).
bool describe_frame(std::uintptr_t pc, bool exact_pc, FrameInfo* out);

// Every source frame at `pc`, innermost inline level first, as the text reports print
// them: visit(frame, context) once per level. Returns the number of levels.
using FrameVisitor = void (*)(const FrameInfo& frame, void* context);
std::size_t describe_levels(std::uintptr_t pc, bool exact_pc, FrameVisitor visit, void* context);

// The module holding `pc` and pc's offset in it (name as above). No allocation, no
// symbolization: dl_iterate_phdr only. False when no loaded module holds pc.
bool module_of(std::uintptr_t pc, char* name, std::size_t name_size, std::uintptr_t* offset);

// The load bias of the loaded module named `name` (as module_of names it); false when
// no such module is loaded. No allocation.
bool module_base(const char* name, std::uintptr_t* base);

}  // namespace dbgalloc::stacks
