// Programs linked with libdbgalloc.a whose output the report-output tests check:
// `output_cases CASE [ARG]` runs one case. The tests run them setuid, with stderr
// closed or replaced, with full stdout buffering, and look at where the reports went.
#include <dirent.h>
#include <fcntl.h>
#include <sys/auxv.h>
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

}  // namespace

int main(int argc, char** argv) {
  std::string name = argc > 1 ? argv[1] : "";
  if (name == "leak") return leak();
  if (name == "unflushed_output") return unflushed_output();
  if (name == "list_fds") return list_fds();
  if (name == "stderr_replaced" && argc > 2) return stderr_replaced(argv[2]);
  if (name == "stderr_closed_at_exit") return stderr_closed_at_exit();
  if (name == "overflow") return overflow();
  std::fprintf(stderr, "usage: output_cases leak|unflushed_output|list_fds|stderr_replaced FILE|stderr_closed_at_exit|overflow\n");
  return 2;
}
