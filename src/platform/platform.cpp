#include "platform/platform.hpp"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "platform/files.hpp"
#include "platform/lock.hpp"

extern char** environ;

namespace dbgalloc::platform {

namespace {
std::atomic<std::size_t> cached_page_size{0};
std::atomic<int> report_descriptor{-1};

struct StackBounds {
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
  bool known = false;
};
thread_local StackBounds tls_stack_bounds __attribute__((tls_model("initial-exec")));
}  // namespace

std::size_t page_size() {
  std::size_t size = cached_page_size.load(std::memory_order_relaxed);
  if (size == 0) {
    long value = sysconf(_SC_PAGESIZE);
    size = value > 0 ? static_cast<std::size_t>(value) : 4096;
    cached_page_size.store(size, std::memory_order_relaxed);
  }
  return size;
}

void* map(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void* map_accounted(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void* map_inaccessible(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

bool unmap(void* addr, std::size_t bytes) { return munmap(addr, bytes) == 0; }
bool protect_none(void* addr, std::size_t bytes) { return mprotect(addr, bytes, PROT_NONE) == 0; }
bool protect_read_write(void* addr, std::size_t bytes) {
  return mprotect(addr, bytes, PROT_READ | PROT_WRITE) == 0;
}
bool discard(void* addr, std::size_t bytes) { return madvise(addr, bytes, MADV_DONTNEED) == 0; }
bool exclude_from_core_dump(void* addr, std::size_t bytes) { return madvise(addr, bytes, MADV_DONTDUMP) == 0; }

namespace {
// Not in glibc 2.36's headers.
constexpr int kMadvGuardInstall = 102;
constexpr int kMadvGuardRemove = 103;

bool guard_advice(void* addr, std::size_t bytes, int advice) {
  int saved = errno;
  // The kernel may ask for a retry (EAGAIN) when it races a page fault in the range.
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (madvise(addr, bytes, advice) == 0) {
      errno = saved;
      return true;
    }
    if (errno != EAGAIN && errno != EINTR) return false;
  }
  return false;
}

// 0: not asked yet, 1: yes, 2: no.
std::atomic<int> guard_regions_state{0};
}  // namespace

bool guard_install(void* addr, std::size_t bytes) { return guard_advice(addr, bytes, kMadvGuardInstall); }
bool guard_remove(void* addr, std::size_t bytes) { return guard_advice(addr, bytes, kMadvGuardRemove); }

bool guard_regions_supported() {
  int state = guard_regions_state.load(std::memory_order_relaxed);
  if (state == 0) {
    int saved = errno;
    std::size_t page = page_size();
    void* scratch = map(page);
    bool yes = scratch != nullptr && guard_install(scratch, page);
    if (scratch != nullptr) unmap(scratch, page);
    errno = saved;
    state = yes ? 1 : 2;
    guard_regions_state.store(state, std::memory_order_relaxed);
  }
  return state == 1;
}

namespace {
// gettid is a system call; every allocation and free records it, so it is cached.
thread_local int tls_thread_id __attribute__((tls_model("initial-exec"))) = 0;
}  // namespace

int thread_id() {
  int id = tls_thread_id;
  if (id == 0) id = tls_thread_id = static_cast<int>(syscall(SYS_gettid));
  return id;
}

void forget_thread_id() { tls_thread_id = 0; }
int process_id() { return static_cast<int>(syscall(SYS_getpid)); }

void write_all(int fd, const char* data, std::size_t size) {
  int saved = errno;
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  errno = saved;
}

namespace {
// What a descriptor referred to when we chose it: the object, not the number.
struct Identity {
  std::atomic<std::uint64_t> device{0};
  std::atomic<std::uint64_t> inode{0};
  std::atomic<bool> known{false};
};
Identity chosen_identity;   // report_descriptor's, when set
Identity stderr_identity;   // fd 2's at start-up
std::atomic<std::uint32_t> stderr_mode{0};
char stderr_path[256];      // fd 2's name at start-up, to reopen it if the program closes fd 2

void remember(Identity& identity, const struct stat& st) {
  identity.device.store(st.st_dev, std::memory_order_relaxed);
  identity.inode.store(st.st_ino, std::memory_order_relaxed);
  identity.known.store(true, std::memory_order_release);
}

bool same(const Identity& identity, const struct stat& st) {
  return identity.known.load(std::memory_order_acquire) && identity.device.load(std::memory_order_relaxed) == st.st_dev &&
         identity.inode.load(std::memory_order_relaxed) == st.st_ino;
}

// fd 2 is no longer what it was at start-up. A program that redirects its stderr
// (dup2, freopen, a test capturing it) gets a terminal, a write-only descriptor, or a
// read-write file it dup2'd there (GoogleTest captures a death test's stderr in a
// mkstemp file), which is inherited across exec as a stderr must be. A socket, or a
// read-write file the program opened close-on-exec (as files are opened today) that
// landed on number 2 after it closed stderr, is its data, never written into.
bool redirected_stderr(const struct stat& st) {
  if (S_ISCHR(st.st_mode)) return true;
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) return false;
  int flags = fcntl(2, F_GETFL);
  if (flags == -1 || (flags & O_ACCMODE) == O_RDONLY) return false;
  if ((flags & O_ACCMODE) == O_WRONLY) return true;
  int descriptor_flags = fcntl(2, F_GETFD);
  return descriptor_flags != -1 && (descriptor_flags & FD_CLOEXEC) == 0;
}

// The start-up stderr, when fd 2 is closed (coreutils close it at exit) or is now
// something else: a terminal or a file is opened again by name, written to when it is
// still the same object, and closed at once. A pipe or socket cannot be reopened.
bool write_to_original_stderr(const char* data, std::size_t size) {
  std::uint32_t mode = stderr_mode.load(std::memory_order_relaxed);
  if (stderr_path[0] != '/' || !(S_ISCHR(mode) || S_ISREG(mode))) return false;
  int fd = open(stderr_path, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st{};
  bool written = fstat(fd, &st) == 0 && same(stderr_identity, st);
  if (written) write_all(fd, data, size);
  close(fd);
  return written;
}

struct Message {
  const char* data;
  std::size_t size;
  bool written;
};

// Descriptor `fd` when it is open for writing on the start-up stderr.
void write_if_original_stderr(int fd, void* context) {
  auto* message = static_cast<Message*>(context);
  struct stat st{};
  if (message->written || fd == 2 || fstat(fd, &st) != 0 || !same(stderr_identity, st)) return;
  int flags = fcntl(fd, F_GETFL);
  if (flags == -1 || (flags & O_ACCMODE) == O_RDONLY) return;  // a pipe's read end has its inode too
  write_all(fd, message->data, message->size);
  message->written = true;
}

void write_to_stderr(const char* data, std::size_t size) {
  struct stat st{};
  if (fstat(2, &st) == 0 && (same(stderr_identity, st) || redirected_stderr(st))) {
    write_all(2, data, size);
    return;
  }
  if (write_to_original_stderr(data, size)) return;
  // A pipe or socket cannot be reopened, but is often still open on another
  // descriptor (stdout, when the program ran with 2>&1).
  Message message{data, size, false};
  for_each_number_in("/proc/self/fd", write_if_original_stderr, &message);
}
}  // namespace

int report_fd() {
  int chosen = report_descriptor.load(std::memory_order_relaxed);
  return chosen >= 0 ? chosen : 2;
}

int chosen_report_fd() { return report_descriptor.load(std::memory_order_relaxed); }

void set_report_fd(int fd) {
  int saved = errno;
  struct stat st{};
  chosen_identity.known.store(false, std::memory_order_relaxed);
  if (fd >= 0 && fstat(fd, &st) == 0) remember(chosen_identity, st);
  report_descriptor.store(fd, std::memory_order_release);
  errno = saved;
}

void write_report(const char* data, std::size_t size) {
  int saved = errno;
  int fd = report_descriptor.load(std::memory_order_acquire);
  struct stat st{};
  // The descriptor chosen (log file, __sanitizer_set_report_fd), while it is still the
  // object it was when chosen; else stderr.
  if (fd >= 0 && fstat(fd, &st) == 0 && same(chosen_identity, st)) {
    write_all(fd, data, size);
  } else {
    write_to_stderr(data, size);
  }
  errno = saved;
}

void remember_stderr() {
  int saved = errno;
  struct stat st{};
  if (fstat(2, &st) == 0) {
    remember(stderr_identity, st);
    stderr_mode.store(st.st_mode, std::memory_order_relaxed);
    ssize_t n = readlink("/proc/self/fd/2", stderr_path, sizeof stderr_path - 1);
    stderr_path[n > 0 ? n : 0] = '\0';
  }
  errno = saved;
}

bool for_each_number_in(const char* directory, void (*visit)(int number, void* context), void* context) {
  int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  alignas(8) char buffer[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    if (n <= 0) break;
    for (long offset = 0; offset < n;) {
      auto* entry = reinterpret_cast<dirent64*>(buffer + offset);
      offset += entry->d_reclen;
      const char* name = entry->d_name;
      if (name[0] < '0' || name[0] > '9') continue;
      int number = 0;
      for (; *name >= '0' && *name <= '9'; ++name) number = number * 10 + (*name - '0');
      if (number != fd) visit(number, context);
    }
  }
  close(fd);
  return true;
}

bool secure_execution() { return getauxval(AT_SECURE) != 0; }

const char* get_env(const char* name) {
  if (environ == nullptr) return nullptr;
  std::size_t length = std::strlen(name);
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, name, length) == 0 && (*entry)[length] == '=') return *entry + length + 1;
  }
  return nullptr;
}

std::uint64_t random_u64() {
  std::uint64_t value = 0;
  int saved = errno;
  if (getrandom(&value, sizeof value, GRND_NONBLOCK) != sizeof value) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    value = static_cast<std::uint64_t>(ts.tv_nsec) * 0x9E3779B97F4A7C15ull ^
            static_cast<std::uint64_t>(ts.tv_sec) ^ (static_cast<std::uint64_t>(thread_id()) << 32);
  }
  errno = saved;
  return value;
}

bool thread_stack_bounds(std::uintptr_t* low, std::uintptr_t* high) {
  StackBounds& bounds = tls_stack_bounds;
  if (!bounds.known) {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return false;
    void* addr = nullptr;
    std::size_t size = 0;
    int rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0) return false;
    bounds.low = reinterpret_cast<std::uintptr_t>(addr);
    bounds.high = bounds.low + size;
    bounds.known = true;
  }
  *low = bounds.low;
  *high = bounds.high;
  return true;
}

std::size_t copy_own_memory(void* to, std::uintptr_t from, std::size_t bytes) {
  int saved = errno;
  struct iovec local = {to, bytes};
  struct iovec remote = {reinterpret_cast<void*>(from), bytes};
  ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  if (n < 0 && errno != EFAULT) {
    // Refused (seccomp, no permission): the caller's page is mapped, the next may not be.
    std::size_t page = page_size();
    std::size_t in_page = page - (from & (page - 1));
    n = static_cast<ssize_t>(bytes < in_page ? bytes : in_page);
    std::memcpy(to, reinterpret_cast<const void*>(from), static_cast<std::size_t>(n));
  }
  errno = saved;
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

std::size_t max_map_count() {
  int saved = errno;
  std::size_t value = 0;
  char text[32];
  long n = read_small_file("/proc/sys/vm/max_map_count", text, sizeof text);
  for (long i = 0; i < n && text[i] >= '0' && text[i] <= '9'; ++i) value = value * 10 + static_cast<std::size_t>(text[i] - '0');
  errno = saved;
  return value > 0 ? value : 65530;
}

void die() {
  // abort() may be intercepted; fall back to a direct kill if it returns.
  abort();
}

void Lock::lock_slow() {
  for (int spin = 0; spin < 100; ++spin) {
    std::uint32_t expected = 0;
    if (state_.compare_exchange_weak(expected, 1, std::memory_order_acquire)) return;
    __builtin_ia32_pause();
  }
  while (state_.exchange(2, std::memory_order_acquire) != 0) {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
  }
}

void Lock::wake() {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace dbgalloc::platform
