// Programs linked with libdbgalloc.a whose output the report-output tests check:
// `output_cases CASE [ARG]` runs one case. The tests run them setuid, with stderr
// closed or replaced, with full stdout buffering, and look at where the reports went.
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#define NOINLINE __attribute__((noinline))

namespace {

NOINLINE void scrub_stack() {
  volatile char buffer[64 * 1024];
  for (std::size_t i = 0; i < sizeof buffer; ++i) buffer[i] = 0;
  asm volatile("" : : "r"(buffer) : "memory");
}

// Keeps a pointer out of every register and stack slot the compiler might reuse.
NOINLINE void drop(void* p) { asm volatile("" : : "r"(p) : "memory"); }

// Writes the compiler cannot see past (no out-of-bounds reasoning, no malloc/free pair
// elision).
NOINLINE void scribble(void* p, int c, std::size_t n) {
  drop(p);
  auto* bytes = static_cast<volatile char*>(p);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(c);
}

NOINLINE void leak_40_bytes() { drop(malloc(40)); }

NOINLINE void overflow_and_free() {
  char* p = static_cast<char*>(malloc(24));
  drop(p);
  static_cast<volatile char*>(p)[24] = 'x';  // the canary after the block
  free(p);
}

// Leaks 40 bytes: the exit report is the output.
int leak() {
  std::printf("secure=%lu euid=%d\n", getauxval(AT_SECURE), static_cast<int>(geteuid()));
  std::fflush(stdout);
  leak_40_bytes();
  scrub_stack();
  return 0;
}

// stdout fully buffered, never flushed by the program, then a leak: the exit report
// sets the exit status.
int unflushed_output() {
  static char buffer[8192];
  std::setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
  std::printf("output the program wrote without a newline");
  leak_40_bytes();
  scrub_stack();
  return 0;
}

// A file the program fopen'd and wrote, never flushed nor closed, then a leak: the
// exit report sets the exit status.
int unflushed_file(const char* path) {
  FILE* file = std::fopen(path, "w");
  if (file == nullptr) return 3;
  std::fprintf(file, "data the program wrote to its own file");
  leak_40_bytes();
  scrub_stack();
  return 0;
}

// Prints the descriptors the process has open (its own listing descriptor left out).
int list_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 2;
  int own = dirfd(dir);
  std::string listed;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.' || std::atoi(entry->d_name) == own) continue;
    listed += ' ';
    listed += entry->d_name;
  }
  closedir(dir);
  std::printf("fds:%s\n", listed.c_str());
  return 0;
}

// Closes stderr, opens a data file read-write (it gets number 2, as in a daemon that
// closed its descriptors), then makes a report.
int stderr_replaced(const char* data_path) {
  close(2);
  int fd = open(data_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd != 2) return 3;
  const char data[] = "the program's own data\n";
  if (write(fd, data, sizeof data - 1) != static_cast<ssize_t>(sizeof data - 1)) return 4;
  overflow_and_free();
  return 0;
}

// Closes stderr as coreutils' close_stdout does at exit, with a leak to report.
int stderr_closed_at_exit() {
  leak_40_bytes();
  scrub_stack();
  std::atexit([] { close(2); });
  return 0;
}

// A report while carrying on (halt_on_error=0) or halting.
int overflow() {
  overflow_and_free();
  return 0;
}

long status_kib(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long value = -1;
  std::size_t length = std::strlen(field);
  while (std::fgets(line, sizeof line, f) != nullptr)
    if (std::strncmp(line, field, length) == 0) value = std::atol(line + length);
  std::fclose(f);
  return value;
}

// 200 threads, one after the other, each making one report (halt_on_error=0); then
// the resident size.
int reports_from_200_threads() {
  for (int i = 0; i < 200; ++i) {
    pthread_t thread;
    if (pthread_create(&thread, nullptr, [](void*) -> void* { overflow_and_free(); return nullptr; }, nullptr) != 0) return 3;
    pthread_join(thread, nullptr);
  }
  std::printf("VmRSS after 200 reporting threads: %ld kB\n", status_kib("VmRSS:"));
  return 0;
}

// Eight threads, released together, each making 25 reports (halt_on_error=0) about
// blocks of its own size, 100 + its index.
int threads_reporting_at_once() {
  static pthread_barrier_t start;
  pthread_barrier_init(&start, nullptr, 8);
  pthread_t threads[8];
  for (long i = 0; i < 8; ++i) {
    auto body = [](void* index) -> void* {
      pthread_barrier_wait(&start);
      std::size_t size = 100 + reinterpret_cast<std::size_t>(index);
      for (int n = 0; n < 25; ++n) {
        char* p = static_cast<char*>(malloc(size));
        scribble(p + size, 'x', 1);
        free(p);
      }
      return nullptr;
    };
    if (pthread_create(&threads[i], nullptr, body, reinterpret_cast<void*>(i)) != 0) return 3;
  }
  for (pthread_t thread : threads) pthread_join(thread, nullptr);
  return 0;
}

NOINLINE void free_twice(void* p) {
  free(p);
  free(p);
}

// Address space exhausted (RLIMIT_AS just above what is mapped, then allocations until
// one fails), then a double free: its report must still come out.
int double_free_out_of_memory() {
  void* victim = malloc(64);
  long mapped_kib = status_kib("VmSize:");
  rlimit limit{static_cast<rlim_t>(mapped_kib + 32 * 1024) * 1024, RLIM_INFINITY};
  if (mapped_kib <= 0 || setrlimit(RLIMIT_AS, &limit) != 0) return 3;
  std::size_t blocks = 0;
  for (std::size_t size = 1 << 20; size >= 64; size /= 2)
    while (void* p = malloc(size)) {
      drop(p);
      ++blocks;
    }
  const char note[] = "memory exhausted\n";
  if (write(1, note, sizeof note - 1) < 0) return 4;
  free_twice(victim);
  return 0;
}

// A 100-byte block among freed and live neighbours, overflowed by `bytes`, which
// smashes their headers and the free lists' links; then freed.
NOINLINE int smashing_overflow(std::size_t bytes) {
  void* before[64];
  for (void*& p : before) p = malloc(100);
  for (int i = 0; i < 64; i += 2) free(before[i]);
  char* block = static_cast<char*>(malloc(100));
  void* after[64];
  for (void*& p : after) p = malloc(100);
  for (int i = 0; i < 64; i += 2) free(after[i]);
  scribble(block, 'A', 100 + bytes);
  drop(before);
  drop(after);
  free(block);
  return 0;
}

// A 1 MiB overflow that stays inside one heap segment (a longer run leaves it and
// faults on the guard page after it): 100-byte blocks are allocated, sorted by
// address, and a run of neighbouring blocks longer than the overflow is found; every
// other block of it is freed (with quarantine_mb=0 they go straight to the heap's
// free lists), then one near the run's start is overflowed by 1 MiB over live blocks
// and free-list links.
int by_address(const void* a, const void* b) {
  auto x = *static_cast<char* const*>(a), y = *static_cast<char* const*>(b);
  return x < y ? -1 : x > y;
}
NOINLINE int overflow_1m_inside_segment() {
  constexpr std::size_t kBlocks = 60000, kOverflow = 1 << 20, kMaxGap = 512;
  static char* blocks[kBlocks];
  for (char*& p : blocks) p = static_cast<char*>(malloc(100));
  std::qsort(blocks, kBlocks, sizeof blocks[0], by_address);
  std::size_t run_start = 0;
  for (std::size_t i = 1; i < kBlocks; ++i) {
    if (static_cast<std::size_t>(blocks[i] - blocks[i - 1]) > kMaxGap) run_start = i;
    if (static_cast<std::size_t>(blocks[i] - blocks[run_start]) > kOverflow + 4096) {
      for (std::size_t j = run_start; j < i; j += 2) free(blocks[j]);
      char* victim = blocks[run_start + 5];
      scribble(victim, 'A', 100 + kOverflow);
      std::printf("overflowing one of a run of %zu neighbouring blocks\n", i - run_start);
      std::fflush(stdout);
      free(victim);
      return 0;
    }
  }
  std::printf("no run of neighbouring blocks long enough\n");
  return 3;
}

// The word before a block (its header) and a freed neighbour's links scribbled.
NOINLINE int header_scribble() {
  char* neighbour = static_cast<char*>(malloc(100));
  char* block = static_cast<char*>(malloc(100));
  free(neighbour);
  scribble(block - 16, 0x41, 16);
  scribble(neighbour, 0x42, 32);
  free(block);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = argc > 1 ? argv[1] : "";
  if (name == "leak") return leak();
  if (name == "unflushed_output") return unflushed_output();
  if (name == "unflushed_file" && argc > 2) return unflushed_file(argv[2]);
  if (name == "list_fds") return list_fds();
  if (name == "stderr_replaced" && argc > 2) return stderr_replaced(argv[2]);
  if (name == "stderr_closed_at_exit") return stderr_closed_at_exit();
  if (name == "overflow") return overflow();
  if (name == "overflow_10k") return smashing_overflow(10 * 1024);
  if (name == "overflow_1m") return smashing_overflow(1024 * 1024);
  if (name == "overflow_1m_inside_segment") return overflow_1m_inside_segment();
  if (name == "header_scribble") return header_scribble();
  if (name == "reports_from_200_threads") return reports_from_200_threads();
  if (name == "threads_reporting_at_once") return threads_reporting_at_once();
  if (name == "double_free_out_of_memory") return double_free_out_of_memory();
  std::fprintf(stderr, "usage: output_cases leak|unflushed_output|list_fds|stderr_replaced FILE|stderr_closed_at_exit|overflow\n");
  return 2;
}
