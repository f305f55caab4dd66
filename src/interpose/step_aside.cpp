#include "interpose/step_aside.hpp"

#include <errno.h>

#include <cstdint>
#include <cstring>
#include <string_view>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define DBGALLOC_HAVE_VALGRIND_H 1
#endif

#include "debug/allocator.hpp"
#include "pages/pages.hpp"
#include "platform/format.hpp"
#include "platform/loader.hpp"
#include "platform/platform.hpp"

// Defined by the sanitizer runtimes (statically linked into the program by clang,
// libasan.so & co. with gcc); null when absent.
extern "C" {
void __asan_init() __attribute__((weak));
void __hwasan_init() __attribute__((weak));
void __msan_init() __attribute__((weak));
void __tsan_init() __attribute__((weak));
void* __interceptor_malloc(std::size_t) __attribute__((weak));
void __interceptor_free(void*) __attribute__((weak));
void* __interceptor_calloc(std::size_t, std::size_t) __attribute__((weak));
void* __interceptor_realloc(void*, std::size_t) __attribute__((weak));
int __interceptor_posix_memalign(void**, std::size_t, std::size_t) __attribute__((weak));
std::size_t __interceptor_malloc_usable_size(void*) __attribute__((weak));
}

namespace dbgalloc::interpose {

namespace {

struct NextAllocator {
  void* (*malloc)(std::size_t) = nullptr;
  void (*free)(void*) = nullptr;
  void* (*calloc)(std::size_t, std::size_t) = nullptr;
  void* (*realloc)(void*, std::size_t) = nullptr;
  int (*posix_memalign)(void**, std::size_t, std::size_t) = nullptr;
  std::size_t (*malloc_usable_size)(void*) = nullptr;
  bool complete() const { return malloc && free && calloc && realloc && posix_memalign; }
};
constinit NextAllocator next;

const char* sanitizer_present() {
  if (&__asan_init != nullptr) return "AddressSanitizer";
  if (&__hwasan_init != nullptr) return "HWAddressSanitizer";
  if (&__msan_init != nullptr) return "MemorySanitizer";
  if (&__tsan_init != nullptr) return "ThreadSanitizer";
  return nullptr;
}

bool valgrind_present() {
#ifdef DBGALLOC_HAVE_VALGRIND_H
  if (RUNNING_ON_VALGRIND) return true;
#endif
  const char* preload = platform::get_env("LD_PRELOAD");
  return preload != nullptr && std::string_view(preload).find("vgpreload") != std::string_view::npos;
}

template <typename Function>
void resolve_next(Function* out, const char* name) {
  *out = reinterpret_cast<Function>(platform::next_definition(name));
}

void set_state(Aside state) { __atomic_store_n(&aside_state, state, __ATOMIC_RELEASE); }

}  // namespace

bool decide_early() {
  if (sanitizer_present() != nullptr) {
    next = NextAllocator{__interceptor_malloc, __interceptor_free, __interceptor_calloc,
                         __interceptor_realloc, __interceptor_posix_memalign, __interceptor_malloc_usable_size};
    if (next.complete()) {
      set_state(Aside::aside);
      return true;
    }
  }
  // valgrind is decided in the constructor (dlsym cannot run inside malloc).
  set_state(Aside::active);
  return false;
}

bool step_aside_if_tool_present() {
  const char* tool = nullptr;
  if (stepped_aside()) {
    tool = sanitizer_present();
  } else if (valgrind_present()) {
    tool = "valgrind";
    NextAllocator found;
    resolve_next(&found.malloc, "malloc");
    resolve_next(&found.free, "free");
    resolve_next(&found.calloc, "calloc");
    resolve_next(&found.realloc, "realloc");
    resolve_next(&found.posix_memalign, "posix_memalign");
    resolve_next(&found.malloc_usable_size, "malloc_usable_size");
    if (found.complete()) {
      next = found;
      set_state(Aside::aside);
    }
  } else if (const char* sanitizer = sanitizer_present()) {
    tool = sanitizer;  // present, but without the interceptors to hand over to
  }
  if (tool == nullptr) return false;
  platform::StackText<256> out;
  out.text("dbgalloc: ").text(tool);
  if (stepped_aside()) {
    out.text(" detected; dbgalloc is disabled for this process\n");
  } else {
    out.text(" detected, but its allocator cannot be found; dbgalloc stays active\n");
  }
  out.flush();
  return stepped_aside();
}

bool owned_by_dbgalloc(const void* p) {
  return pages::page_allocator().span_of(reinterpret_cast<std::uintptr_t>(p)) != nullptr;
}

void* forward_allocate(std::size_t bytes, std::size_t alignment, bool zero) {
  if (zero) return next.calloc(1, bytes);
  if (alignment == 0) return next.malloc(bytes);
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  void* p = nullptr;
  int error = next.posix_memalign(&p, alignment, bytes);
  if (error != 0) {
    errno = error;
    return nullptr;
  }
  return p;
}

bool free_if_foreign(void* p) {
  if (owned_by_dbgalloc(p)) return false;
  next.free(p);
  return true;
}

void* forward_reallocate(void* p, std::size_t bytes) {
  if (p == nullptr || !owned_by_dbgalloc(p)) return next.realloc(p, bytes);
  // One of ours from before stepping aside: move it to the tool's allocator.
  std::size_t old_size = debug::usable_size(p);
  void* moved = next.malloc(bytes == 0 ? 1 : bytes);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, p, old_size < bytes ? old_size : bytes);
  debug::deallocate(p, debug::Kind::malloc, 0, false, 0);
  return moved;
}

std::size_t forward_usable_size(void* p) {
  if (p == nullptr) return 0;
  if (owned_by_dbgalloc(p)) return debug::usable_size(p);
  return next.malloc_usable_size != nullptr ? next.malloc_usable_size(p) : 0;
}

}  // namespace dbgalloc::interpose
