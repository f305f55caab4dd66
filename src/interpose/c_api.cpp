// The C allocation API. Thin: argument rules glibc documents, then the debug layer.
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "debug/allocator.hpp"
#include "heap/arenas.hpp"
#include "interpose/cancel.hpp"
#include "interpose/hooks.hpp"
#include "interpose/internal_heap.hpp"
#include "interpose/runtime.hpp"
#include "interpose/signal_heap.hpp"
#include "interpose/statistics.hpp"
#include "interpose/step_aside.hpp"
#include "options/options.hpp"
#include "platform/platform.hpp"
#include "platform/reentry.hpp"
#include "stacks/entry_frame.hpp"

namespace internal_heap = dbgalloc::interpose::internal_heap;
namespace signal_heap = dbgalloc::interpose::signal_heap;
using dbgalloc::debug::BadRequest;
using dbgalloc::debug::Kind;
using dbgalloc::interpose::ensure_started;

namespace {
bool is_power_of_two(std::size_t value) { return value != 0 && (value & (value - 1)) == 0; }

// A signal handler's call that interrupted one of ours on this thread.
void* allocate_nested(std::size_t bytes, std::size_t alignment, bool zero) {
  void* p = signal_heap::allocate(bytes, alignment, zero);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

void* allocate_malloc(std::size_t bytes, std::size_t alignment, std::uintptr_t caller, bool zero = false) {
  if (dbgalloc::interpose::stepped_aside()) return dbgalloc::interpose::forward_allocate(bytes, alignment, zero);
  ensure_started();
  // dbgalloc's own code never takes from the program's heap (it may be smashed); the
  // heap's internal blocks remain the last resort.
  if (dbgalloc::platform::in_internal_code()) {
    if (void* p = internal_heap::allocate(bytes, alignment)) return p;
  }
  if (signal_heap::nested()) return allocate_nested(bytes, alignment, zero);
  dbgalloc::debug::Request request;
  request.bytes = bytes;
  request.alignment = alignment;
  request.zero = zero;
  request.caller = caller;
  void* p;
  {
    signal_heap::Scope inside;
    p = dbgalloc::debug::allocate(request);
  }
  dbgalloc::interpose::after_allocation(p, bytes);
  return p;
}
}  // namespace

namespace {
// Never inlined: their exception tables must stay out of the exported frames.
#define DBGALLOC_BODY __attribute__((noinline))
DBGALLOC_BODY void* malloc_body(std::size_t bytes, std::uintptr_t caller) noexcept {
  return allocate_malloc(bytes, 0, caller);
}
DBGALLOC_BODY void free_body(void* p, std::uintptr_t caller) noexcept;
DBGALLOC_BODY void* calloc_body(std::size_t count, std::size_t size, std::uintptr_t caller) noexcept;
DBGALLOC_BODY void* realloc_body(void* p, std::size_t bytes, std::uintptr_t caller) noexcept;
}  // namespace

// The four calls a loop under asynchronous cancellation makes (cancel.hpp): the body
// runs with cancellation deferred; these frames call only noexcept functions, so they
// carry no exception table and a cancellation unwinds through them.
DBGALLOC_EXPORT void* malloc(std::size_t bytes) {
  int previous = dbgalloc::interpose::cancel::defer();
  void* p = malloc_body(bytes, DBGALLOC_ENTRY_CALLER());
  dbgalloc::interpose::cancel::restore(previous);
  return p;
}

DBGALLOC_EXPORT void free(void* p) {
  int previous = dbgalloc::interpose::cancel::defer();
  free_body(p, DBGALLOC_ENTRY_CALLER());
  dbgalloc::interpose::cancel::restore(previous);
}

DBGALLOC_EXPORT void* calloc(std::size_t count, std::size_t size) {
  int previous = dbgalloc::interpose::cancel::defer();
  void* p = calloc_body(count, size, DBGALLOC_ENTRY_CALLER());
  dbgalloc::interpose::cancel::restore(previous);
  return p;
}

DBGALLOC_EXPORT void* realloc(void* p, std::size_t bytes) {
  int previous = dbgalloc::interpose::cancel::defer();
  void* moved = realloc_body(p, bytes, DBGALLOC_ENTRY_CALLER());
  dbgalloc::interpose::cancel::restore(previous);
  return moved;
}

namespace {
DBGALLOC_BODY void free_body(void* p, std::uintptr_t caller) noexcept {
  if (p == nullptr) return;
  if (dbgalloc::interpose::stepped_aside() && dbgalloc::interpose::free_if_foreign(p)) return;
  ensure_started();
  if (internal_heap::owns(p)) return internal_heap::release(p);
  if (signal_heap::owns(p)) return signal_heap::release(p);
  dbgalloc::interpose::before_deallocation(p);
  if (signal_heap::nested()) {
    signal_heap::defer_free(p, Kind::malloc, 0, false);
    return;
  }
  signal_heap::Scope inside;
  dbgalloc::debug::deallocate(p, Kind::malloc, 0, false, caller);
}

DBGALLOC_BODY void* calloc_body(std::size_t count, std::size_t size, std::uintptr_t caller) noexcept {
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    return dbgalloc::debug::refuse_request(BadRequest::calloc_overflow, count, size, caller);
  }
  return allocate_malloc(bytes, 0, caller, true);
}
}  // namespace

namespace {
// realloc of a signal-heap block (from anywhere), or a signal handler's realloc of an
// ordinary block while it interrupted one of our calls: the new block comes from where
// this call may allocate, the old one is released where it belongs.
void* reallocate_nested(void* p, std::size_t bytes, std::uintptr_t caller) {
  bool from_signal_heap = signal_heap::owns(p);
  std::size_t old_size = from_signal_heap ? signal_heap::usable_size(p) : dbgalloc::debug::usable_size(p);
  void* moved = nullptr;
  if (bytes != 0) {
    moved = signal_heap::nested() ? allocate_nested(bytes, 0, false) : allocate_malloc(bytes, 0, caller);
    if (moved == nullptr) return nullptr;
    std::memcpy(moved, p, old_size < bytes ? old_size : bytes);
  }
  if (from_signal_heap) {
    signal_heap::release(p);
  } else {
    signal_heap::defer_free(p, Kind::malloc, 0, false);
  }
  return moved;
}

// realloc of an internal block (from anywhere), or any realloc made by dbgalloc's own
// code: the new block comes from where this call allocates, the old one is released
// where it belongs.
void* reallocate_internal(void* p, std::size_t bytes, std::uintptr_t caller) {
  std::size_t old_size = internal_heap::owns(p)  ? internal_heap::usable_size(p)
                         : signal_heap::owns(p) ? signal_heap::usable_size(p)
                                                : dbgalloc::debug::usable_size(p);
  void* moved = nullptr;
  if (bytes != 0) {
    moved = allocate_malloc(bytes, 0, caller);
    if (moved == nullptr) return nullptr;
    std::memcpy(moved, p, old_size < bytes ? old_size : bytes);
  }
  free_body(p, caller);
  return moved;
}

// realloc and reallocarray: glibc's rules (NULL allocates, size 0 frees and returns
// NULL), then the debug layer.
void* reallocate_malloc(void* p, std::size_t bytes, std::uintptr_t caller) {
  if (dbgalloc::interpose::stepped_aside()) return dbgalloc::interpose::forward_reallocate(p, bytes);
  ensure_started();
  if (p == nullptr && dbgalloc::platform::in_internal_code()) return allocate_malloc(bytes, 0, caller);
  if (p != nullptr && (internal_heap::owns(p) || dbgalloc::platform::in_internal_code()))
    return reallocate_internal(p, bytes, caller);
  if (signal_heap::owns(p) || (p != nullptr && signal_heap::nested())) return reallocate_nested(p, bytes, caller);
  if (p == nullptr && signal_heap::nested()) return allocate_nested(bytes, 0, false);
  if (p != nullptr && bytes == 0) {
    dbgalloc::interpose::before_deallocation(p);
    signal_heap::Scope inside;
    dbgalloc::debug::deallocate(p, Kind::malloc, 0, false, caller);
    return nullptr;
  }
  void* moved = nullptr;
  {
    signal_heap::Scope inside;
    moved = dbgalloc::debug::reallocate(p, bytes, caller);
  }
  // A free plus a malloc, reported only once the move succeeded: a failed realloc
  // leaves p live, so its free hook must not fire (a tool would count it freed).
  if (moved != nullptr) {
    dbgalloc::interpose::before_deallocation(p);
    dbgalloc::interpose::after_allocation(moved, bytes);
  }
  return moved;
}
}  // namespace

namespace {
DBGALLOC_BODY void* realloc_body(void* p, std::size_t bytes, std::uintptr_t caller) noexcept {
  return reallocate_malloc(p, bytes, caller);
}
}  // namespace

namespace {
// The aligned functions and reallocarray: bodies as malloc's, for the same reason.
DBGALLOC_BODY void* reallocarray_body(void* p, std::size_t count, std::size_t size, std::uintptr_t caller) noexcept {
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    return dbgalloc::debug::refuse_request(BadRequest::reallocarray_overflow, count, size, caller);
  }
  return reallocate_malloc(p, bytes, caller);
}

DBGALLOC_BODY int posix_memalign_body(void** out, std::size_t alignment, std::size_t bytes, std::uintptr_t caller) noexcept {
  int saved = errno;
  if (!is_power_of_two(alignment) || alignment % sizeof(void*) != 0) {
    dbgalloc::debug::refuse_request(BadRequest::posix_memalign_alignment, alignment, bytes, caller);
    errno = saved;  // posix_memalign returns its error, errno untouched
    return EINVAL;
  }
  void* p = allocate_malloc(bytes, alignment, caller);
  if (p == nullptr) {
    errno = saved;
    return ENOMEM;
  }
  *out = p;
  return 0;
}

DBGALLOC_BODY void* aligned_alloc_body(std::size_t alignment, std::size_t bytes, std::uintptr_t caller) noexcept {
  if (!is_power_of_two(alignment)) {
    return dbgalloc::debug::refuse_request(BadRequest::aligned_alloc_alignment, alignment, bytes, caller);
  }
  return allocate_malloc(bytes, alignment, caller);
}

DBGALLOC_BODY void* memalign_body(std::size_t alignment, std::size_t bytes, std::uintptr_t caller) noexcept {
  // glibc rounds a non-power-of-two alignment up instead of failing; reported (and
  // refused) only when the program asked for reports.
  if (alignment > (std::size_t{1} << 40) ||
      (!is_power_of_two(alignment) && !dbgalloc::options::current().allocator_may_return_null)) {
    return dbgalloc::debug::refuse_request(BadRequest::memalign_alignment, alignment, bytes, caller);
  }
  std::size_t rounded = 1;
  while (rounded < alignment) rounded <<= 1;
  return allocate_malloc(bytes, rounded, caller);
}

DBGALLOC_BODY void* valloc_body(std::size_t bytes, std::uintptr_t caller) noexcept {
  return allocate_malloc(bytes, dbgalloc::platform::page_size(), caller);
}

DBGALLOC_BODY void* pvalloc_body(std::size_t bytes, std::uintptr_t caller) noexcept {
  std::size_t page = dbgalloc::platform::page_size();
  std::size_t rounded = 0;
  if (__builtin_add_overflow(bytes, page - 1, &rounded)) {
    return dbgalloc::debug::refuse_request(BadRequest::pvalloc_overflow, bytes, page, caller);
  }
  rounded &= ~(page - 1);
  return allocate_malloc(rounded == 0 ? page : rounded, page, caller);
}
}  // namespace

DBGALLOC_EXPORT void* reallocarray(void* p, std::size_t count, std::size_t size) {
  int previous = dbgalloc::interpose::cancel::defer();
  void* moved = reallocarray_body(p, count, size, DBGALLOC_ENTRY_CALLER());
  dbgalloc::interpose::cancel::restore(previous);
  return moved;
}

DBGALLOC_EXPORT int posix_memalign(void** out, std::size_t alignment, std::size_t bytes) {
  int previous = dbgalloc::interpose::cancel::defer();
  int result = posix_memalign_body(out, alignment, bytes, DBGALLOC_ENTRY_CALLER());
  dbgalloc::interpose::cancel::restore(previous);
  return result;
}

DBGALLOC_EXPORT void* aligned_alloc(std::size_t alignment, std::size_t bytes) {
  int previous = dbgalloc::interpose::cancel::defer();
  void* p = aligned_alloc_body(alignment, bytes, DBGALLOC_ENTRY_CALLER());
  dbgalloc::interpose::cancel::restore(previous);
  return p;
}

DBGALLOC_EXPORT void* memalign(std::size_t alignment, std::size_t bytes) {
  int previous = dbgalloc::interpose::cancel::defer();
  void* p = memalign_body(alignment, bytes, DBGALLOC_ENTRY_CALLER());
  dbgalloc::interpose::cancel::restore(previous);
  return p;
}

DBGALLOC_EXPORT void* valloc(std::size_t bytes) {
  int previous = dbgalloc::interpose::cancel::defer();
  void* p = valloc_body(bytes, DBGALLOC_ENTRY_CALLER());
  dbgalloc::interpose::cancel::restore(previous);
  return p;
}

DBGALLOC_EXPORT void* pvalloc(std::size_t bytes) {
  int previous = dbgalloc::interpose::cancel::defer();
  void* p = pvalloc_body(bytes, DBGALLOC_ENTRY_CALLER());
  dbgalloc::interpose::cancel::restore(previous);
  return p;
}

DBGALLOC_EXPORT std::size_t malloc_usable_size(void* p) {
  if (dbgalloc::interpose::stepped_aside()) return dbgalloc::interpose::forward_usable_size(p);
  ensure_started();
  if (internal_heap::owns(p)) return internal_heap::usable_size(p);
  if (signal_heap::owns(p)) return signal_heap::usable_size(p);
  return dbgalloc::debug::usable_size(p);
}

DBGALLOC_EXPORT int malloc_trim(std::size_t) {
  ensure_started();
  dbgalloc::debug::purge_quarantine();
  return dbgalloc::heap::arenas().trim() > 0 ? 1 : 0;
}

DBGALLOC_EXPORT int mallopt(int, int) { return 1; }

DBGALLOC_EXPORT struct mallinfo2 mallinfo2() {
  ensure_started();
  struct mallinfo2 info {};
  dbgalloc::interpose::statistics::fill(&info);
  return info;
}

DBGALLOC_EXPORT struct mallinfo mallinfo() {
  struct mallinfo2 wide = mallinfo2();
  struct mallinfo info {};
  info.arena = static_cast<int>(wide.arena);
  info.ordblks = static_cast<int>(wide.ordblks);
  info.hblks = static_cast<int>(wide.hblks);
  info.uordblks = static_cast<int>(wide.uordblks);
  info.fordblks = static_cast<int>(wide.fordblks);
  return info;
}

DBGALLOC_EXPORT void malloc_stats() {
  ensure_started();
  dbgalloc::interpose::statistics::print();
}

DBGALLOC_EXPORT int malloc_info(int options, FILE* stream) {
  if (options != 0 || stream == nullptr) {
    errno = EINVAL;
    return -1;
  }
  struct mallinfo2 info {};
  dbgalloc::interpose::statistics::fill(&info);
  fprintf(stream, "<malloc version=\"dbgalloc-1\">\n<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
                  "<system type=\"current\" size=\"%zu\"/>\n<inuse size=\"%zu\"/>\n</malloc>\n",
          info.hblks, info.arena, info.arena, info.uordblks);
  return 0;
}
