// Requests the allocator refuses: `bad_request_cases NAME` makes one under the preload
// and prints what it got back, so the test can check both the report
// (allocator_may_return_null=0) and the NULL/errno a program sees (the default).
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cstring>
#include <new>
#include <string>

#define NOINLINE __attribute__((noinline))

namespace {

// volatile: the compiler must not see the sizes and fold or warn the calls away.
volatile std::size_t huge_count = std::size_t{1} << 60;
volatile std::size_t too_big = std::size_t{1} << 41;
volatile std::size_t bad_alignment = 24;

void print_pointer(const char* call, void* p, int error) {
  std::printf("%s returned %s errno=%d\n", call, p == nullptr ? "NULL" : "a block", error);
  std::fflush(stdout);
}

NOINLINE void ask_calloc_overflow() {
  errno = 0;
  void* p = calloc(huge_count, 16);
  print_pointer("calloc", p, errno);
}

NOINLINE void ask_reallocarray_overflow() {
  errno = 0;
  void* p = reallocarray(nullptr, huge_count, 32);
  print_pointer("reallocarray", p, errno);
}

NOINLINE void ask_malloc_too_big() {
  errno = 0;
  void* p = malloc(too_big);
  print_pointer("malloc", p, errno);
}

NOINLINE void ask_new_too_big() {
  try {
    char* p = new char[too_big];
    print_pointer("new", p, 0);
  } catch (const std::bad_alloc&) {
    std::printf("new threw std::bad_alloc\n");
    std::fflush(stdout);
  }
}

NOINLINE void ask_posix_memalign_bad_alignment() {
  errno = 0;
  void* p = nullptr;
  int result = posix_memalign(&p, bad_alignment, 100);
  std::printf("posix_memalign returned %d errno=%d\n", result, errno);
  std::fflush(stdout);
}

NOINLINE void ask_aligned_alloc_bad_alignment() {
  errno = 0;
  void* p = aligned_alloc(bad_alignment, 96);
  print_pointer("aligned_alloc", p, errno);
}

NOINLINE void ask_memalign_bad_alignment() {
  errno = 0;
  void* p = memalign(bad_alignment, 100);
  print_pointer("memalign", p, errno);
  free(p);
}

NOINLINE void ask_pvalloc_overflow() {
  errno = 0;
  void* p = pvalloc(SIZE_MAX - 10);
  print_pointer("pvalloc", p, errno);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::string c = argv[1];
  if (c == "calloc_overflow") ask_calloc_overflow();
  else if (c == "reallocarray_overflow") ask_reallocarray_overflow();
  else if (c == "malloc_too_big") ask_malloc_too_big();
  else if (c == "new_too_big") ask_new_too_big();
  else if (c == "posix_memalign_alignment") ask_posix_memalign_bad_alignment();
  else if (c == "aligned_alloc_alignment") ask_aligned_alloc_bad_alignment();
  else if (c == "memalign_alignment") ask_memalign_bad_alignment();
  else if (c == "pvalloc_overflow") ask_pvalloc_overflow();
  else return 2;
  std::printf("still running\n");
  std::fflush(stdout);
  return 0;
}
