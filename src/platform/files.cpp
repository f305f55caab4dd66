// Files: see files.hpp.
#include "platform/files.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dbgalloc::platform {

int open_for_reading(const char* path, bool nonblocking) {
  int flags = O_RDONLY | O_CLOEXEC;
  if (nonblocking) flags |= O_NONBLOCK | O_NOCTTY;
  return open(path, flags);
}

int create_new_file(const char* path) {
  return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_NOCTTY | O_CLOEXEC, 0600);
}

int open_for_appending(const char* path) { return open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC); }

long read_some(int fd, void* to, std::size_t bytes) {
  for (;;) {
    ssize_t n = read(fd, to, bytes);
    if (n < 0 && errno == EINTR) continue;
    return static_cast<long>(n);
  }
}

void close_file(int fd) { close(fd); }

bool regular_file_size(int fd, std::size_t* size) {
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  *size = static_cast<std::size_t>(st.st_size);
  return true;
}

long read_small_file(const char* path, char* buffer, std::size_t capacity) {
  int fd = open_for_reading(path);
  if (fd < 0) return -1;
  std::size_t used = 0;
  while (used + 1 < capacity) {
    long n = read_some(fd, buffer + used, capacity - 1 - used);
    if (n <= 0) break;
    used += static_cast<std::size_t>(n);
  }
  close(fd);
  buffer[used] = '\0';
  return static_cast<long>(used);
}

const void* map_file(const char* path, std::size_t* size) {
  int fd = open_for_reading(path);
  if (fd < 0) return nullptr;
  std::size_t bytes = 0;
  void* mapped = MAP_FAILED;
  if (regular_file_size(fd, &bytes) && bytes > 0) mapped = mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mapped == MAP_FAILED) return nullptr;
  *size = bytes;
  return mapped;
}

void unmap_file(const void* mapping, std::size_t size) { munmap(const_cast<void*>(mapping), size); }

std::size_t executable_path(char* buffer, std::size_t capacity) {
  ssize_t n = readlink("/proc/self/exe", buffer, capacity);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

}  // namespace dbgalloc::platform
