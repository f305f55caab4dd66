// The malloc and free hooks of the sanitizer interface
// (__sanitizer_install_malloc_and_free_hooks): libFuzzer counts allocations through
// them for -malloc_limit_mb, -trace_malloc and -detect_leaks.
//
// Contract (the one ASan keeps): the malloc hook runs after every successful
// allocation of any kind, the free hook before every non-null deallocation; realloc is
// a free plus a malloc, both reported after it succeeded (the old block is then
// already in the quarantine) and neither when it failed (the old block stays live). They run from the interpose layer, never under an allocator
// lock (libFuzzer prints and allocates inside them), and never for dbgalloc's own
// allocations (symbolization, reports) nor re-entrantly from inside a hook.
#pragma once

#include <atomic>
#include <cstddef>

namespace dbgalloc::interpose {

using MallocHook = void (*)(const volatile void* p, std::size_t size);
using FreeHook = void (*)(const volatile void* p);

// Null until a tool installs them (defined in sanitizer_api.cpp).
extern std::atomic<MallocHook> malloc_hook;
extern std::atomic<FreeHook> free_hook;

void call_malloc_hook(MallocHook hook, const void* p, std::size_t size);
void call_free_hook(FreeHook hook, const void* p);

// One relaxed load on the hot path; the rest only when a hook is installed.
inline void after_allocation(const void* p, std::size_t size) {
  if (MallocHook hook = malloc_hook.load(std::memory_order_relaxed); __builtin_expect(hook != nullptr, 0))
    if (p != nullptr) call_malloc_hook(hook, p, size);
}

inline void before_deallocation(const void* p) {
  if (FreeHook hook = free_hook.load(std::memory_order_relaxed); __builtin_expect(hook != nullptr, 0))
    if (p != nullptr) call_free_hook(hook, p);
}

}  // namespace dbgalloc::interpose
