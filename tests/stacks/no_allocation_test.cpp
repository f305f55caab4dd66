// Capture and record never allocate through tracking, not even on first use in a new
// thread (rule cache mapping, .eh_frame parsing, libgcc's first unwind). The one
// allocation source, glibc's pthread_getattr_np behind the first stack-bounds lookup of
// a thread (3 allocations on glibc 2.36), runs inside platform::InternalScope, where
// the allocator serves without tracking; after it, nothing allocates at all.
// This binary replaces malloc with a counting wrapper around glibc's.
#include <gtest/gtest.h>

#include <pthread.h>

#include <atomic>
#include <cstdlib>

#include "stack_test_support.hpp"
#include "stacks/cached_cfi_unwinder.hpp"
#include "stacks/cfi_unwinder.hpp"
#include "stacks/frame_pointer_unwinder.hpp"
#include "platform/reentry.hpp"
#include "stacks/stacks.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
}

namespace {
thread_local bool counting = false;
std::atomic<int> allocations{0};           // would have been tracked
std::atomic<int> internal_allocations{0};  // routed past tracking by InternalScope
// A breakpoint here shows who allocated.
__attribute__((noinline)) void allocation_while_counting() {
  (dbgalloc::platform::in_internal_code() ? internal_allocations : allocations).fetch_add(1);
}
void count() {
  if (counting) allocation_while_counting();
}
}  // namespace

extern "C" void* malloc(std::size_t n) {
  count();
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) {
  count();
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) {
  count();
  return __libc_realloc(p, n);
}
extern "C" int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  count();
  *out = __libc_memalign(alignment, n);
  return *out != nullptr ? 0 : 12;
}

namespace {

using namespace dbgalloc::stacks;

struct Counted {
  int allocations;
  int internal_allocations;
  std::size_t frames;
};

// Everything runs in a fresh thread, where nothing is cached yet for that thread.
template <typename Body>
Counted in_new_thread(Body body) {
  struct Context {
    Body body;
    Counted run;
  } context{body, {}};
  pthread_t thread;
  pthread_create(
      &thread, nullptr,
      [](void* arg) -> void* {
        auto* c = static_cast<Context*>(arg);
        int before = allocations.load();
        int internal_before = internal_allocations.load();
        counting = true;
        c->run.frames = c->body();
        counting = false;
        c->run.allocations = allocations.load() - before;
        c->run.internal_allocations = internal_allocations.load() - internal_before;
        return nullptr;
      },
      &context);
  pthread_join(thread, nullptr);
  return context.run;
}

TEST(NoAllocation, counting_malloc_works) {
  Counted run = in_new_thread([] {
    // Stored through a volatile pointer so the compiler cannot elide the pair.
    void* volatile p = std::malloc(10);
    std::free(p);
    return std::size_t{1};
  });
  EXPECT_EQ(run.allocations, 1);
}

std::uintptr_t chain_frames[64];
std::size_t chain_count;
__attribute__((noinline)) std::size_t capture_in_chain(void*) {
  chain_count = cached_cfi_unwinder::capture(chain_frames, 64, 0);
  asm volatile("" ::: "memory");
  return chain_count;
}

TEST(NoAllocation, cached_cfi_capture_through_code_without_frame_pointers) {
  Counted run = in_new_thread([] {
    // A shape never walked before in this process: every rule is a cache miss.
    chain_without_fp::outer(12, 0x6c6c6c6c, capture_in_chain, nullptr);
    return chain_count;
  });
  EXPECT_EQ(run.allocations, 0);
  EXPECT_GE(run.frames, 14u);
}

TEST(NoAllocation, only_the_first_bounds_lookup_of_a_thread_allocates_and_only_internally) {
  Counted run = in_new_thread([] {
    std::uintptr_t frames[16];
    frame_pointer_unwinder::capture(frames, 16, 0);
    int after_first = internal_allocations.load();
    for (int i = 0; i < 10; ++i) {
      frame_pointer_unwinder::capture(frames, 16, 0);
      cached_cfi_unwinder::capture(frames, 16, 0);
      cfi_unwinder::capture(frames, 16, 0);
    }
    return static_cast<std::size_t>(internal_allocations.load() - after_first);
  });
  EXPECT_EQ(run.allocations, 0);
  EXPECT_EQ(run.frames, 0u) << "later captures in the thread must not allocate at all";
}

TEST(NoAllocation, capture_and_record_with_every_unwinder) {
  for (Unwinder unwinder : {Unwinder::frame_pointer, Unwinder::cfi, Unwinder::cfi_cached}) {
    configure(unwinder, 32);
    Counted run = in_new_thread([] {
      std::uintptr_t frames[32];
      std::size_t n = capture(frames, 32, 0);
      StackId id = record(0);
      std::uintptr_t back[32];
      return n + (lookup(id, back, 32) > 0 ? 0 : 1000);
    });
    EXPECT_EQ(run.allocations, 0) << "unwinder " << static_cast<int>(unwinder);
    EXPECT_GE(run.frames, 2u);
    EXPECT_LT(run.frames, 1000u) << "recorded stack did not read back";
  }
  configure(Unwinder::cfi_cached, kDefaultDepth);
}

}  // namespace
