// Every operator new and delete libstdc++ exports. Thin: the standard's rules (new
// handler loop, bad_alloc, nothrow) and the allocation kind, then the debug layer.
#include <cstddef>
#include <new>

#include "debug/allocator.hpp"
#include "interpose/runtime.hpp"

#define DBGALLOC_CXX_EXPORT __attribute__((visibility("default")))

using dbgalloc::debug::Kind;

namespace {
void* allocate_or_throw(std::size_t bytes, std::size_t alignment, Kind kind) {
  dbgalloc::interpose::ensure_started();
  for (;;) {
    void* p = dbgalloc::debug::allocate(bytes == 0 ? 1 : bytes, alignment, kind);
    if (p != nullptr) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* allocate_nothrow(std::size_t bytes, std::size_t alignment, Kind kind) noexcept {
  try {
    return allocate_or_throw(bytes, alignment, kind);
  } catch (...) {
    return nullptr;
  }
}

void release(void* p, Kind kind, std::size_t sized = 0) noexcept {
  if (p == nullptr) return;
  dbgalloc::interpose::ensure_started();
  dbgalloc::debug::deallocate(p, kind, sized);
}

std::size_t align_of(std::align_val_t alignment) { return static_cast<std::size_t>(alignment); }
}  // namespace

DBGALLOC_CXX_EXPORT void* operator new(std::size_t n) { return allocate_or_throw(n, 0, Kind::new_scalar); }
DBGALLOC_CXX_EXPORT void* operator new[](std::size_t n) { return allocate_or_throw(n, 0, Kind::new_array); }
DBGALLOC_CXX_EXPORT void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, 0, Kind::new_scalar);
}
DBGALLOC_CXX_EXPORT void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, 0, Kind::new_array);
}
DBGALLOC_CXX_EXPORT void* operator new(std::size_t n, std::align_val_t a) {
  return allocate_or_throw(n, align_of(a), Kind::new_scalar);
}
DBGALLOC_CXX_EXPORT void* operator new[](std::size_t n, std::align_val_t a) {
  return allocate_or_throw(n, align_of(a), Kind::new_array);
}
DBGALLOC_CXX_EXPORT void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, align_of(a), Kind::new_scalar);
}
DBGALLOC_CXX_EXPORT void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, align_of(a), Kind::new_array);
}

DBGALLOC_CXX_EXPORT void operator delete(void* p) noexcept { release(p, Kind::new_scalar); }
DBGALLOC_CXX_EXPORT void operator delete[](void* p) noexcept { release(p, Kind::new_array); }
DBGALLOC_CXX_EXPORT void operator delete(void* p, const std::nothrow_t&) noexcept { release(p, Kind::new_scalar); }
DBGALLOC_CXX_EXPORT void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p, Kind::new_array); }
DBGALLOC_CXX_EXPORT void operator delete(void* p, std::size_t n) noexcept { release(p, Kind::new_scalar, n); }
DBGALLOC_CXX_EXPORT void operator delete[](void* p, std::size_t n) noexcept { release(p, Kind::new_array, n); }
DBGALLOC_CXX_EXPORT void operator delete(void* p, std::align_val_t) noexcept { release(p, Kind::new_scalar); }
DBGALLOC_CXX_EXPORT void operator delete[](void* p, std::align_val_t) noexcept { release(p, Kind::new_array); }
DBGALLOC_CXX_EXPORT void operator delete(void* p, std::size_t n, std::align_val_t) noexcept {
  release(p, Kind::new_scalar, n);
}
DBGALLOC_CXX_EXPORT void operator delete[](void* p, std::size_t n, std::align_val_t) noexcept {
  release(p, Kind::new_array, n);
}
DBGALLOC_CXX_EXPORT void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  release(p, Kind::new_scalar);
}
DBGALLOC_CXX_EXPORT void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  release(p, Kind::new_array);
}
