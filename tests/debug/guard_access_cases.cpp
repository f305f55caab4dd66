// Guard-block access cases, run under the preload by guard_access_test: a one-byte read
// or write past the end, and a read or write after free, of a block from each
// allocation function; plus default-mode large blocks, a forked child, and a million
// live guard blocks. Function names are distinctive so the tests find them in stacks.
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <new>
#include <string>
#include <vector>

namespace {

struct Thirteen {
  char bytes[13];
};
struct alignas(32) Aligned96 {
  char bytes[96];
};

char* volatile sink;

__attribute__((noinline)) char read_byte(const char* p, std::size_t i) { return *static_cast<const volatile char*>(p + i); }
__attribute__((noinline)) void write_byte(char* p, std::size_t i) { *static_cast<volatile char*>(p + i) = 'x'; }

__attribute__((noinline)) char* allocate_with_malloc() { char* kept = static_cast<char*>(malloc(24)); sink = kept; return kept; }
__attribute__((noinline)) char* allocate_odd_with_malloc() { char* kept = static_cast<char*>(malloc(13)); sink = kept; return kept; }
__attribute__((noinline)) char* allocate_with_calloc() { char* kept = static_cast<char*>(calloc(3, 8)); sink = kept; return kept; }
__attribute__((noinline)) char* allocate_with_realloc() {
  char* kept = static_cast<char*>(realloc(malloc(5), 24)); sink = kept; return kept;
}
__attribute__((noinline)) char* allocate_with_memalign() { char* kept = static_cast<char*>(memalign(32, 96)); sink = kept; return kept; }
__attribute__((noinline)) char* allocate_with_aligned_alloc() { char* kept = static_cast<char*>(aligned_alloc(32, 96)); sink = kept; return kept; }
__attribute__((noinline)) char* allocate_with_posix_memalign() {
  void* p = nullptr;
  if (posix_memalign(&p, 64, 192) != 0) abort();
  char* kept = static_cast<char*>(p); sink = kept; return kept;
}
__attribute__((noinline)) char* allocate_with_new() { char* kept = (new Thirteen)->bytes; sink = kept; return kept; }
__attribute__((noinline)) char* allocate_with_new_array() { char* kept = new char[13]; sink = kept; return kept; }
__attribute__((noinline)) char* allocate_with_aligned_new() { char* kept = (new Aligned96)->bytes; sink = kept; return kept; }
__attribute__((noinline)) char* allocate_large() { char* kept = static_cast<char*>(malloc(300008)); sink = kept; return kept; }

__attribute__((noinline)) void release_with_free(char* p) { free(p); }
__attribute__((noinline)) void release_with_delete(char* p) { delete reinterpret_cast<Thirteen*>(p); }
__attribute__((noinline)) void release_with_delete_array(char* p) { delete[] p; }
__attribute__((noinline)) void release_with_aligned_delete(char* p) { delete reinterpret_cast<Aligned96*>(p); }

struct Family {
  const char* name;
  char* (*allocate)();
  void (*release)(char*);
  std::size_t size;
};
const Family kFamilies[] = {
    {"malloc", allocate_with_malloc, release_with_free, 24},
    {"odd_malloc", allocate_odd_with_malloc, release_with_free, 13},
    {"calloc", allocate_with_calloc, release_with_free, 24},
    {"realloc", allocate_with_realloc, release_with_free, 24},
    {"memalign", allocate_with_memalign, release_with_free, 96},
    {"aligned_alloc", allocate_with_aligned_alloc, release_with_free, 96},
    {"posix_memalign", allocate_with_posix_memalign, release_with_free, 192},
    {"new", allocate_with_new, release_with_delete, 13},
    {"new_array", allocate_with_new_array, release_with_delete_array, 13},
    {"aligned_new", allocate_with_aligned_new, release_with_aligned_delete, 96},
    {"large", allocate_large, release_with_free, 300008},
};

// FAMILY_ACCESS, ACCESS one of overread, overwrite, read_after_free, write_after_free.
int access_case(const std::string& name) {
  for (const Family& family : kFamilies) {
    std::string prefix = std::string(family.name) + "_";
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    std::string access = name.substr(prefix.size());
    char* p = family.allocate();
    for (std::size_t i = 0; i < family.size; ++i) write_byte(p, i);  // every byte is the block's
    if (access == "overread") return read_byte(p, family.size);
    if (access == "overwrite") {
      write_byte(p, family.size);
      return 0;
    }
    family.release(p);
    if (access == "read_after_free") return read_byte(p, 5);
    if (access == "write_after_free") {
      write_byte(p, 5);
      return 0;
    }
  }
  fprintf(stderr, "unknown case %s\n", name.c_str());
  return 2;
}

int run(const std::string& name) {
  if (name == "read_after_free_in_child") {
    // The child inherits the freed block's guard pages.
    char* p = allocate_with_malloc();
    release_with_free(p);
    pid_t child = fork();
    if (child == 0) _exit(read_byte(p, 5));
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status)) printf("child killed by signal %d\n", WTERMSIG(status));
    else printf("child exited %d\n", WEXITSTATUS(status));
    return 0;
  }
  if (name == "million_live_blocks") {
    constexpr std::size_t kBlocks = 1000000;
    std::vector<char*> blocks;
    blocks.reserve(kBlocks);
    for (std::size_t i = 0; i < kBlocks; ++i) {
      char* p = static_cast<char*>(malloc(1 + i % 64));
      if (p == nullptr) return 3;
      p[i % 64] = 1;
      blocks.push_back(p);
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    printf("live %zu peak rss %ld MiB\n", blocks.size(), usage.ru_maxrss / 1024);
    fflush(stdout);
    return 0;  // exits with the blocks live: detect_leaks=0
  }
  return access_case(name);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE\n", argv[0]);
    return 2;
  }
  return run(argv[1]);
}
