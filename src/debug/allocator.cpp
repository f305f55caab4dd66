#include "debug/allocator.hpp"

#include <errno.h>

#include "heap/arenas.hpp"
#include "report/report.hpp"

namespace dbgalloc::debug {

void* allocate(std::size_t bytes, std::size_t alignment, Kind) {
  heap::Arenas& arenas = heap::arenas();
  return alignment > heap::Heap::kAlignment ? arenas.allocate_aligned(alignment, bytes) : arenas.allocate(bytes);
}

void deallocate(void* p, Kind, std::size_t) {
  if (p == nullptr) return;
  int saved = errno;
  if (!heap::arenas().deallocate(p)) report::bad_free(p, "free");
  errno = saved;
}

void* reallocate(void* p, std::size_t bytes) {
  if (p == nullptr) return heap::arenas().allocate(bytes);
  bool invalid = false;
  void* moved = heap::arenas().reallocate(p, bytes, &invalid);
  if (invalid) {
    report::bad_free(p, "realloc");
    errno = ENOMEM;
  }
  return moved;
}

std::size_t usable_size(const void* p) { return p == nullptr ? 0 : heap::arenas().usable_size(p); }

}  // namespace dbgalloc::debug
