// Reports: one function per error class, one wording each, in the sanitizer layout.
// Everything here formats into stack buffers and writes with write(2).
#pragma once

#include <cstdint>

namespace dbgalloc::report {

// A pointer passed to free/realloc that is not a live block: never allocated by
// dbgalloc, already freed, or pointing inside a block.
void bad_free(const void* address, const char* function);

// Number of reports made so far (drives the exit code).
std::uint64_t error_count();

}  // namespace dbgalloc::report
