// Every operator new and delete libstdc++ exports. Thin: the standard's rules (new
// handler loop, bad_alloc, nothrow) and the allocation kind, then the debug layer.
#include <cstddef>
#include <cstdint>
#include <new>

#include "debug/allocator.hpp"
#include "interpose/cancel.hpp"
#include "interpose/hooks.hpp"
#include "interpose/internal_heap.hpp"
#include "interpose/runtime.hpp"
#include "interpose/signal_heap.hpp"
#include "interpose/step_aside.hpp"
#include "platform/reentry.hpp"
#include "stacks/entry_frame.hpp"

#define DBGALLOC_CXX_EXPORT __attribute__((visibility("default")))

namespace internal_heap = dbgalloc::interpose::internal_heap;
namespace signal_heap = dbgalloc::interpose::signal_heap;
using dbgalloc::debug::Kind;

// Never inlined and noexcept, as malloc's bodies (c_api.cpp): they run with
// asynchronous cancellation deferred (cancel.hpp), and the frames a cancellation
// unwinds through (the exported operators, allocate_or_throw) hold no lock and catch
// nothing.
#define DBGALLOC_BODY __attribute__((noinline))

namespace {
// One attempt: the block, or nullptr.
DBGALLOC_BODY void* try_allocate(std::size_t bytes, std::size_t alignment, Kind kind, std::uintptr_t caller) noexcept {
  dbgalloc::interpose::ensure_started();
  void* p = nullptr;
  if (dbgalloc::interpose::stepped_aside()) {
    p = dbgalloc::interpose::forward_allocate(bytes, alignment, false);
  } else if (dbgalloc::platform::in_internal_code() && (p = internal_heap::allocate(bytes, alignment)) != nullptr) {
    return p;  // dbgalloc's own code: never the program's heap
  } else if (signal_heap::nested()) {
    p = signal_heap::allocate(bytes, alignment, false);
  } else {
    dbgalloc::debug::Request request;
    request.bytes = bytes;
    request.alignment = alignment;
    request.kind = kind;
    request.aligned_new = alignment != 0;
    request.caller = caller;
    signal_heap::Scope inside;
    p = dbgalloc::debug::allocate(request);
  }
  if (p != nullptr) dbgalloc::interpose::after_allocation(p, bytes);
  return p;
}

// One attempt with cancellation deferred (cancel.hpp).
void* attempt(std::size_t bytes, std::size_t alignment, Kind kind, std::uintptr_t caller) noexcept {
  int previous = dbgalloc::interpose::cancel::defer();
  void* p = try_allocate(bytes, alignment, kind, caller);
  dbgalloc::interpose::cancel::restore(previous);
  return p;
}

// The standard's loop after a failed attempt: the new handler between attempts,
// bad_alloc without one.
void* retry_or_throw(std::size_t bytes, std::size_t alignment, Kind kind, std::uintptr_t caller) {
  for (;;) {
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
    if (void* p = attempt(bytes, alignment, kind, caller)) return p;
  }
}

void* allocate_or_throw(std::size_t bytes, std::size_t alignment, Kind kind, std::uintptr_t caller) {
  if (void* p = attempt(bytes, alignment, kind, caller)) return p;
  return retry_or_throw(bytes, alignment, kind, caller);
}

DBGALLOC_BODY void* nothrow_body(std::size_t bytes, std::size_t alignment, Kind kind, std::uintptr_t caller) noexcept {
  try {
    return allocate_or_throw(bytes, alignment, kind, caller);
  } catch (...) {
    return nullptr;
  }
}

// Its catch must never meet a cancellation's unwind: the whole call runs deferred.
inline void* allocate_nothrow(std::size_t bytes, std::size_t alignment, Kind kind, std::uintptr_t caller) noexcept {
  int previous = dbgalloc::interpose::cancel::defer();
  void* p = nothrow_body(bytes, alignment, kind, caller);
  dbgalloc::interpose::cancel::restore(previous);
  return p;
}

DBGALLOC_BODY void release_body(void* p, Kind kind, std::size_t sized, bool aligned, std::uintptr_t caller) noexcept {
  if (dbgalloc::interpose::stepped_aside() && dbgalloc::interpose::free_if_foreign(p)) return;
  dbgalloc::interpose::ensure_started();
  if (internal_heap::owns(p)) return internal_heap::release(p);
  if (signal_heap::owns(p)) return signal_heap::release(p);
  dbgalloc::interpose::before_deallocation(p);
  if (signal_heap::nested()) {
    signal_heap::defer_free(p, kind, sized, aligned);
    return;
  }
  signal_heap::Scope inside;
  dbgalloc::debug::deallocate(p, kind, sized, aligned, caller);
}

inline void release(void* p, Kind kind, std::size_t sized, bool aligned, std::uintptr_t caller) noexcept {
  if (p == nullptr) return;
  int previous = dbgalloc::interpose::cancel::defer();
  release_body(p, kind, sized, aligned, caller);
  dbgalloc::interpose::cancel::restore(previous);
}

std::size_t align_of(std::align_val_t alignment) { return static_cast<std::size_t>(alignment); }
}  // namespace

// Each passes DBGALLOC_ENTRY_CALLER() (stacks/entry_frame.hpp), the one macro for the
// caller's address: the return address into the program, this frame marked for the call.
// The throwing operators make their first attempt in a full expression that cannot
// throw: the mark (a temporary that restores the previous one) then needs no cleanup in
// their frames, which therefore carry no exception table; with one, an asynchronous
// cancellation landing between its call sites would call std::terminate. A retry after
// a failed attempt captures without the mark.
#define DBGALLOC_NEW_OR_THROW(n, alignment, kind)                                          \
  std::uintptr_t caller = 0;                                                                \
  void* p = attempt(n, alignment, kind, caller = DBGALLOC_ENTRY_CALLER());                  \
  if (p != nullptr) return p;                                                               \
  return retry_or_throw(n, alignment, kind, caller)
DBGALLOC_CXX_EXPORT void* operator new(std::size_t n) {
  DBGALLOC_NEW_OR_THROW(n, 0, Kind::new_scalar);
}
DBGALLOC_CXX_EXPORT void* operator new[](std::size_t n) {
  DBGALLOC_NEW_OR_THROW(n, 0, Kind::new_array);
}
DBGALLOC_CXX_EXPORT void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, 0, Kind::new_scalar, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, 0, Kind::new_array, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void* operator new(std::size_t n, std::align_val_t a) {
  DBGALLOC_NEW_OR_THROW(n, align_of(a), Kind::new_scalar);
}
DBGALLOC_CXX_EXPORT void* operator new[](std::size_t n, std::align_val_t a) {
  DBGALLOC_NEW_OR_THROW(n, align_of(a), Kind::new_array);
}
DBGALLOC_CXX_EXPORT void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, align_of(a), Kind::new_scalar, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, align_of(a), Kind::new_array, DBGALLOC_ENTRY_CALLER());
}

DBGALLOC_CXX_EXPORT void operator delete(void* p) noexcept {
  release(p, Kind::new_scalar, 0, false, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete[](void* p) noexcept {
  release(p, Kind::new_array, 0, false, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete(void* p, const std::nothrow_t&) noexcept {
  release(p, Kind::new_scalar, 0, false, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete[](void* p, const std::nothrow_t&) noexcept {
  release(p, Kind::new_array, 0, false, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete(void* p, std::size_t n) noexcept {
  release(p, Kind::new_scalar, n, false, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete[](void* p, std::size_t n) noexcept {
  release(p, Kind::new_array, n, false, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete(void* p, std::align_val_t) noexcept {
  release(p, Kind::new_scalar, 0, true, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete[](void* p, std::align_val_t) noexcept {
  release(p, Kind::new_array, 0, true, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete(void* p, std::size_t n, std::align_val_t) noexcept {
  release(p, Kind::new_scalar, n, true, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete[](void* p, std::size_t n, std::align_val_t) noexcept {
  release(p, Kind::new_array, n, true, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  release(p, Kind::new_scalar, 0, true, DBGALLOC_ENTRY_CALLER());
}
DBGALLOC_CXX_EXPORT void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  release(p, Kind::new_array, 0, true, DBGALLOC_ENTRY_CALLER());
}
