// One deadly signal per case, run under the preload by deadly_signal_test. Function
// names are distinctive so the tests can find them in the reported stacks.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

namespace {

char* volatile sink;
volatile int zero = 0;

__attribute__((noinline)) int read_through(const int* p) { return *p; }
__attribute__((noinline)) void write_through(long* p) { *p = 42; }
__attribute__((noinline)) int divide_by(int divisor) { return 100 / divisor; }
__attribute__((noinline)) void execute_trap() { __builtin_trap(); }
__attribute__((noinline)) char* allocate_large(std::size_t bytes) {
  char* p = static_cast<char*>(malloc(bytes));
  sink = p;
  return p;
}
__attribute__((noinline)) char read_byte_at(const char* p) { return *static_cast<const volatile char*>(p); }
__attribute__((noinline)) int recurse_forever(int depth) {
  volatile char frame[256];
  frame[0] = static_cast<char>(depth);
  return recurse_forever(depth + 1) + frame[0];
}

void program_handler(int) {
  const char text[] = "program handler ran\n";
  write(2, text, sizeof text - 1);
  _exit(42);
}

void install_program_handler() {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = program_handler;
  sigaction(SIGSEGV, &action, nullptr);
}

// An address nothing is mapped at: a page mapped, then unmapped.
long* unmapped_address() {
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(page, 4096);
  return static_cast<long*>(page);
}

// A large block (its own mapping) with an inaccessible page just below that mapping;
// returns how many bytes below the block's start the page's last byte is.
char* block_with_hole_below(std::size_t* distance) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    char* block = allocate_large(1 << 20);
    auto first_page = reinterpret_cast<std::uintptr_t>(block) & ~std::uintptr_t{4095};
    void* below = reinterpret_cast<void*>(first_page - 4096);
    void* got = mmap(below, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (got == below) {
      *distance = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(block) - (first_page - 1));
      return block;
    }
    if (got != MAP_FAILED) munmap(got, 4096);
  }
  return nullptr;
}

int run(const std::string& name) {
  if (name == "null_read") return read_through(nullptr);
  if (name == "wild_write") {
    write_through(unmapped_address());
  } else if (name == "inside_block") {
    // A page inside a live 64 KiB block made inaccessible by the program.
    char* block = allocate_large(64 << 10);
    auto page = (reinterpret_cast<std::uintptr_t>(block) + 8192) & ~std::uintptr_t{4095};
    mprotect(reinterpret_cast<void*>(page), 4096, PROT_NONE);
    printf("offset %zu\n", static_cast<std::size_t>(page - reinterpret_cast<std::uintptr_t>(block)));
    fflush(stdout);
    return read_byte_at(reinterpret_cast<char*>(page));
  } else if (name == "below_block") {
    std::size_t distance = 0;
    char* block = block_with_hole_below(&distance);
    if (block == nullptr) return 3;
    printf("distance %zu\n", distance);
    fflush(stdout);
    return read_byte_at(block - distance);
  } else if (name == "divide_by_zero") {
    return divide_by(zero);
  } else if (name == "illegal_instruction") {
    execute_trap();
  } else if (name == "stack_overflow") {
    return recurse_forever(0);
  } else if (name == "stack_overflow_in_thread") {
    pthread_t thread;
    pthread_create(
        &thread, nullptr,
        [](void*) -> void* {
          sink = static_cast<char*>(malloc(16));  // a thread that allocates gets the alternate stack
          free(sink);
          return reinterpret_cast<void*>(static_cast<std::intptr_t>(recurse_forever(0)));
        },
        nullptr);
    pthread_join(thread, nullptr);
  } else if (name == "own_handler_first" || name == "own_handler_after") {
    // "first" installed it before dbgalloc started (preinit_array, below).
    if (name == "own_handler_after") install_program_handler();
    return read_through(nullptr);
  } else if (name == "raise_segv") {
    raise(SIGSEGV);
    printf("survived raise(SIGSEGV)\n");
  } else {
    fprintf(stderr, "unknown case %s\n", name.c_str());
    return 2;
  }
  return 0;
}

// Runs before any shared library's constructor, dbgalloc's included.
void before_everything(int argc, char** argv, char**) {
  if (argc == 2 && strcmp(argv[1], "own_handler_first") == 0) install_program_handler();
}
__attribute__((section(".preinit_array"), used)) void (*preinit)(int, char**, char**) = before_everything;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE\n", argv[0]);
    return 2;
  }
  return run(argv[1]);
}
