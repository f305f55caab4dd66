// LeakSanitizer's interface as programs written for LSan use it: `lsan_hooks_cases
// NAME` runs one case under the preload. Linked WITHOUT -rdynamic (unlike
// leak_cases), so the program's __lsan_is_turned_off and __lsan_default_suppressions
// are not exported: dbgalloc must find them in the program's symbol table.
#include <dlfcn.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "case_support.hpp"

#pragma weak __lsan_register_root_region
#pragma weak __lsan_unregister_root_region
extern "C" void __lsan_register_root_region(const void* p, size_t size);
extern "C" void __lsan_unregister_root_region(const void* p, size_t size);


extern "C" int __lsan_is_turned_off() { return std::getenv("CASE_TURN_LEAK_CHECK_OFF") != nullptr ? 1 : 0; }

extern "C" const char* __lsan_default_suppressions() {
  return "# built into the program\n"
         "leak:leak_suppressed_by_default\n";
}

namespace {

using leak_cases::drop;
using leak_cases::scrub_stack;

NOINLINE void leak_direct() { drop(malloc(40)); }

struct Owner {
  void* child;
  long tag;
};

// Allocated from its own stack, which no suppression names.
NOINLINE void* make_child() { return malloc(100); }

NOINLINE void leak_suppressed_by_default() {
  auto* owner = static_cast<Owner*>(malloc(sizeof(Owner)));
  owner->child = make_child();
  owner->tag = 1;
  drop(owner);
}

// A shared mapping is no root of its own: a pointer kept only there is a leak unless
// the region is registered.
NOINLINE void* shared_page() {
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) std::abort();
  return page;
}

NOINLINE void keep_in_shared_page(bool register_it, bool unregister_it) {
  auto** page = static_cast<void**>(shared_page());
  page[7] = malloc(321);
  if (register_it) __lsan_register_root_region(page, 4096);
  if (unregister_it) __lsan_unregister_root_region(page, 4096);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: lsan_hooks_cases CASE\n");
    return 2;
  }
  std::string c = argv[1];
  std::printf("hooks exported: %s\n", dlsym(RTLD_DEFAULT, "__lsan_is_turned_off") != nullptr ? "yes" : "no");
  std::fflush(stdout);
  if (c == "direct") {
    leak_direct();
  } else if (c == "default_suppressions") {
    leak_suppressed_by_default();
    leak_direct();
  } else if (c == "shared_region_registered") {
    keep_in_shared_page(true, false);
  } else if (c == "shared_region_unregistered") {
    keep_in_shared_page(true, true);
  } else if (c == "shared_region_never_registered") {
    keep_in_shared_page(false, false);
  } else {
    std::fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
  }
  scrub_stack();
  return 0;
}
