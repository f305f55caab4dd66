// Sanitizer annotations for the heap core. In fuzz builds (ASan) free chunks, headers
// and unused segment space are poisoned, so ASan flags any access the core's callers
// make outside a payload the heap handed out. Elsewhere these compile to nothing.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define DBGALLOC_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DBGALLOC_HAS_ASAN 1
#endif
#endif

#ifdef DBGALLOC_HAS_ASAN
#include <sanitizer/asan_interface.h>
// Chunk accessors: exempt from ASan (they read poisoned headers) and from coverage
// (a comparison traced in every accessor call cost the fuzzers a third of their time
// and guides nothing: the heap's own branches are still traced).
#define DBGALLOC_NO_ASAN __attribute__((no_sanitize("address", "coverage")))
#else
#define DBGALLOC_NO_ASAN
#endif

// Code fuzzers run all the time whose branches guide nothing (checks, tags, harness
// bookkeeping): out of coverage feedback and comparison tracing, and their cost.
#if defined(__clang__)
#define DBGALLOC_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define DBGALLOC_NO_COVERAGE
#endif

namespace dbgalloc::heap::poison {

inline void poison(const void* address, std::size_t size) {
#ifdef DBGALLOC_HAS_ASAN
  __asan_poison_memory_region(address, size);
#else
  (void)address;
  (void)size;
#endif
}

inline void unpoison(const void* address, std::size_t size) {
#ifdef DBGALLOC_HAS_ASAN
  __asan_unpoison_memory_region(address, size);
#else
  (void)address;
  (void)size;
#endif
}

}  // namespace dbgalloc::heap::poison
