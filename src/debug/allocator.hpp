// The debug layer's entry points, called by the interpose layer for every allocation
// function. Today it forwards to the heap arenas and classifies bad frees; block
// headers, canaries, guard blocks and the quarantine build on these same entries.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::debug {

// Which family allocated a block, so the matching deallocator can be checked.
enum class Kind : std::uint8_t { malloc, new_scalar, new_array };

// nullptr with errno = ENOMEM when memory is exhausted.
void* allocate(std::size_t bytes, std::size_t alignment, Kind kind);
// `sized` is the size passed to a sized delete, 0 when none was.
void deallocate(void* p, Kind kind, std::size_t sized = 0);
// glibc semantics: p == nullptr allocates; on failure nullptr, errno = ENOMEM, p kept.
void* reallocate(void* p, std::size_t bytes);
// 0 for a pointer dbgalloc does not own.
std::size_t usable_size(const void* p);

}  // namespace dbgalloc::debug
