// Coexistence with other heap tools. Under AddressSanitizer, MemorySanitizer,
// ThreadSanitizer or valgrind, the tool owns malloc; two debug allocators fighting over
// the same blocks help nobody, so dbgalloc steps aside: one notice on stderr, then every
// entry point forwards to the tool's allocator.
//
// - A sanitizer runtime is known from the first malloc on, without calling anything:
//   weak references to its __asan_init/__msan_init/... are bound when ld.so relocates
//   us. Calls forward to its exported __interceptor_malloc & co. This matters for a
//   gcc-built ASan program, whose libasan.so comes after the preload: its start-up
//   reaches our malloc before its own interceptors are ready to serve us anything.
// - valgrind is known from RUNNING_ON_VALGRIND (or vgpreload in LD_PRELOAD); the
//   constructor resolves the next malloc with dlsym(RTLD_NEXT), which valgrind
//   replaces. Blocks dbgalloc served before that stay valid: free and realloc of them
//   still work.
#pragma once

#include <cstddef>

namespace dbgalloc::interpose {

enum class Aside : int { undecided = 0, active = 1, aside = 2 };
inline Aside aside_state = Aside::undecided;

// Decides from the weak references (no calls, no allocation); true when stepping aside.
bool decide_early();

inline bool stepped_aside() {
  Aside state = __atomic_load_n(&aside_state, __ATOMIC_ACQUIRE);
  if (__builtin_expect(state == Aside::active, 1)) return false;
  return state == Aside::aside || decide_early();
}

// From the runtime's constructor: decides for valgrind too, prints the notice and
// returns true when dbgalloc stepped aside (the caller then installs nothing).
bool step_aside_if_tool_present();

// True when p lies in memory dbgalloc mapped (a block from before stepping aside).
bool owned_by_dbgalloc(const void* p);

// The tool's allocator.
void* forward_allocate(std::size_t bytes, std::size_t alignment, bool zero);
// Frees p with the tool's allocator unless dbgalloc owns it; false (nothing done) for
// dbgalloc's own blocks, which the caller releases the usual way.
bool free_if_foreign(void* p);
void* forward_reallocate(void* p, std::size_t bytes);
// Either allocator's block.
std::size_t forward_usable_size(void* p);

}  // namespace dbgalloc::interpose
