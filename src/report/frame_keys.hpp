// Which frames a report is keyed on: the SUMMARY line, DEDUP_TOKEN (JSON "dedup_key")
// and the frame --pinpoint and SARIF name. Crash triage groups reports by these, so
// they must name the program's code, the same way on every machine and in every
// format:
//  - each inline level is a frame of its own, as in the printed stacks;
//  - dbgalloc's own frames (its library, the dbgalloc:: helpers such as the GoogleTest
//    listener compiled into the program) and libc's (whose string functions run as
//    CPU-specific variants such as __strcat_evex) are skipped;
//  - a stack that is dbgalloc's own at the top (a heap check run by the listener) is
//    not the program's: the block's free stack (freed) or allocation stack is used, the
//    same fallback as for a report found with no stack at all (quarantine eviction).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "report/report.hpp"
#include "stacks/frame_info.hpp"

namespace dbgalloc::report {

// True for frames keys skip: dbgalloc's own and libc's (see above).
bool is_system_frame(const stacks::FrameInfo& frame);

// libc's public name for a CPU-specific variant: "__strcat_evex" -> "strcat",
// "__memmove_avx_unaligned_erms" -> "memmove"; any other name is returned as is.
std::string_view public_function_name(std::string_view name);

// The stack a report is about (where it was found: a fault's frames or the current
// stack), copied into `frames` (kMaxFrames); *exact_first when frames[0] is a faulting
// PC rather than a return address.
std::size_t current_frames(const Finding& finding, std::uintptr_t* frames, bool* exact_first);

// Visits up to `max` key frames of `finding`, in order (see above). When every frame is
// skipped, the first one is visited with its public name. Returns how many were visited.
using KeyVisitor = void (*)(const stacks::FrameInfo& frame, void* context);
std::size_t key_frames(const Finding& finding, std::size_t max, KeyVisitor visit, void* context);

}  // namespace dbgalloc::report
