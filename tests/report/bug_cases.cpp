// One heap bug per case, run under the preload by report_classes_test. Function names
// are distinctive so the tests can find them in the reported stacks.
#include <dlfcn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>
#include <string>

namespace {

// Keeps the compiler from seeing through the bugs.
char* volatile sink;
int global_object;

__attribute__((noinline)) char* allocate_thirteen() { char* kept = static_cast<char*>(malloc(13)); sink = kept; return kept; }
__attribute__((noinline)) char* allocate_hundred() { char* kept = static_cast<char*>(malloc(100)); sink = kept; return kept; }
__attribute__((noinline)) void release_block(void* p) { free(p); }
__attribute__((noinline)) void write_one_past(char* p, std::size_t size) { p[size] = 'x'; }
__attribute__((noinline)) void write_one_before(char* p) { p[-1] = 'x'; }
__attribute__((noinline)) char read_one_past(const char* p, std::size_t size) { return p[size]; }
__attribute__((noinline)) char read_one_before(const char* p) { return p[-1]; }
__attribute__((noinline)) void write_after_free(char* p) { p[10] = 'x'; }
__attribute__((noinline)) char read_after_free(const char* p) { return p[10]; }
__attribute__((noinline)) void store_eight_past(char* p, std::size_t size) {
  unsigned long long value = 7;
  memcpy(p + size, &value, sizeof value);  // one 8-byte store at -O1
}
__attribute__((noinline)) std::size_t length_of(const char* p) { return strlen(p); }
const char* volatile long_tail = "world, again";  // volatile: strcat stays a call into libc
__attribute__((noinline)) void append_tail(char* p) { strcat(p, long_tail); }

int check_heap() {
  auto check = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "dbgalloc_check_heap"));
  return check != nullptr ? check() : -1;
}

void churn(std::size_t bytes) {
  for (std::size_t done = 0; done < bytes; done += 4096) { sink = static_cast<char*>(malloc(4096)); release_block(sink); }
}

__attribute__((noinline)) void leak_forty_bytes() {
  sink = static_cast<char*>(malloc(40));
  sink = nullptr;
}
// Clobbers stale stack copies of the leaked pointer (the leak scan is conservative).
__attribute__((noinline)) void scrub_stack() {
  volatile char scratch[16384];
  for (char& c : const_cast<char (&)[16384]>(scratch)) c = 0;
}

int run(const std::string& name) {
  if (name == "overflow_at_free") {
    char* p = allocate_thirteen();
    write_one_past(p, 13);
    release_block(p);
  } else if (name == "strcat_overflow_at_free") {
    char* p = allocate_thirteen();
    strcpy(p, "hello");
    append_tail(p);  // 5 + 12 + 1 bytes into 13, by libc's strcat
    release_block(p);
  } else if (name == "underflow_at_free") {
    char* p = allocate_thirteen();
    write_one_before(p);
    release_block(p);
  } else if (name == "overflow_at_realloc") {
    char* p = allocate_thirteen();
    write_one_past(p, 13);
    sink = static_cast<char*>(realloc(p, 100));
  } else if (name == "overflow_at_check") {
    char* p = allocate_thirteen();
    write_one_past(p, 20);
    return check_heap() == 0 ? 0 : 3;
  } else if (name == "overflow_at_exit") {
    write_one_past(allocate_thirteen(), 13);
  } else if (name == "guard_overflow_write") {
    write_one_past(allocate_thirteen(), 13);
  } else if (name == "guard_overflow_read") {
    char* p = static_cast<char*>(malloc(16));
    sink = p;
    return read_one_past(p, 16);
  } else if (name == "guard_underflow_read") {
    return read_one_before(allocate_thirteen());
  } else if (name == "guard_use_after_free_read") {
    char* p = allocate_hundred();
    release_block(p);
    return read_after_free(p);
  } else if (name == "guard_overflow_store_eight") {
    char* p = static_cast<char*>(malloc(32));
    sink = p;
    store_eight_past(p, 32);
  } else if (name == "guard_strlen_overread") {
    char* p = allocate_thirteen();
    memset(p, 'a', 13);  // no terminating NUL
    return length_of(p) == 0 ? 4 : 0;
  } else if (name == "read_both_ends") {
    char* p = allocate_thirteen();
    int sum = read_one_before(p) + read_one_past(p, 13);
    release_block(p);
    return sum == 0 ? 4 : 0;
  } else if (name == "page_multiple_underread") {
    char* p = static_cast<char*>(malloc(8192));
    sink = p;
    return read_one_before(p);
  } else if (name == "guard_random_sides") {
    // Blocks read one byte before their start, then one byte past their end, each in a
    // child of its own: whichever side a block's guard page is on faults.
    constexpr int kBlocks = 16;
    char* blocks[kBlocks];
    for (char*& b : blocks) b = allocate_thirteen();
    int faulted = 0;
    for (char* b : blocks) {
      fflush(stdout);
      pid_t child = fork();
      if (child == 0) {
        sink = b;
        int sum = read_one_before(b) + read_one_past(b, 13);
        _exit(sum == 0 ? 5 : 6);
      }
      int status = 0;
      waitpid(child, &status, 0);
      if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) ++faulted;
    }
    for (char* b : blocks) release_block(b);
    printf("children faulted %d\n", faulted);
  } else if (name == "use_after_free_write") {
    char* p = allocate_hundred();
    release_block(p);
    write_after_free(p);
    churn(4u << 20);  // pushes p out of a 1 MiB quarantine
  } else if (name == "use_after_free_write_at_check") {
    char* p = allocate_hundred();
    release_block(p);
    write_after_free(p);
    return check_heap() == 0 ? 0 : 3;
  } else if (name == "double_free") {
    char* p = allocate_hundred();
    release_block(p);
    release_block(p);
  } else if (name == "free_stack_address") {
    char local[16];
    sink = local;
    release_block(local);
  } else if (name == "free_global") {
    release_block(&global_object);
  } else if (name == "free_wild") {
    release_block(reinterpret_cast<void*>(0x123450));
  } else if (name == "free_interior") {
    release_block(allocate_hundred() + 32);
  } else if (name == "free_misaligned") {
    release_block(allocate_hundred() + 1);
  } else if (name == "malloc_then_delete") {
    ::operator delete(static_cast<void*>(allocate_hundred()));
  } else if (name == "new_then_free") {
    int* p = new int(7);
    release_block(p);
  } else if (name == "new_array_then_delete") {
    int* p = new int[10];
    ::operator delete(p);
  } else if (name == "new_then_delete_array") {
    int* p = new int(1);
    ::operator delete[](p);
  } else if (name == "aligned_new_then_plain_delete") {
    void* p = ::operator new(64, std::align_val_t{64});
    ::operator delete(p);
  } else if (name == "sized_delete_mismatch") {
    void* p = ::operator new(24);
    ::operator delete(p, std::size_t{16});
  } else if (name == "realloc_freed") {
    char* p = allocate_hundred();
    release_block(p);
    sink = static_cast<char*>(realloc(p, 200));
  } else if (name == "header_corruption") {
    char* p = allocate_hundred();
    memset(p - 48, 0, 48);  // an underflow that ran over the canary into the header
    release_block(p);
  } else if (name == "smash_neighbours") {
    char* p = allocate_hundred();
    sink = allocate_hundred();
    sink = allocate_hundred();
    memset(p, 0x41, 400);  // runs over the next blocks' heap and debug headers
  } else if (name == "two_bugs") {
    char* p = allocate_thirteen();
    write_one_past(p, 13);
    release_block(p);
    release_block(p);
  } else if (name == "malloc_fill") {
    auto* p = static_cast<unsigned char*>(malloc(64));
    auto* z = static_cast<unsigned char*>(calloc(1, 64));
    printf("%02x %02x %02x\n", p[0], p[63], z[10]);
    free(p);
    free(z);
  } else if (name == "leak") {
    leak_forty_bytes();
    scrub_stack();
  } else if (name == "leaky_child") {
    // This program again, as a child that leaks; its exit status is printed.
    pid_t child = fork();
    if (child == 0) {
      execl("/proc/self/exe", "bug_cases", "leak", static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  } else if (name == "clean") {
    // Every API used correctly, including malloc_usable_size to its full size.
    char* p = static_cast<char*>(malloc(10));
    std::size_t usable = malloc_usable_size(p);
    memset(p, 1, usable);
    p = static_cast<char*>(realloc(p, 1000));
    for (int i = 0; i < 100; ++i) p = static_cast<char*>(realloc(p, 1000 + static_cast<std::size_t>(i) * 37));
    free(p);
    void* a = aligned_alloc(256, 1000);
    free(a);
    void* m = nullptr;
    if (posix_memalign(&m, 4096, 10) == 0) free(m);
    delete new int(3);
    delete[] new int[3];
    ::operator delete(::operator new(64, std::align_val_t{128}), std::align_val_t{128});
    std::string s(1000, 'x');
    printf("clean %zu %d\n", s.size(), check_heap());
  } else {
    fprintf(stderr, "unknown case %s\n", name.c_str());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE\n", argv[0]);
    return 2;
  }
  return run(argv[1]);
}
