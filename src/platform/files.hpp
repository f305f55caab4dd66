// Files, for the few that dbgalloc reads or writes itself: /proc, suppressions, log
// files, ELF files. Thin wrappers of the system calls, safe inside malloc and signal
// handlers (no allocation, no stdio); errno is set as the call left it.
#pragma once

#include <cstddef>

namespace dbgalloc::platform {

// open(2) for reading, close-on-exec; -1 on failure. `nonblocking`: a FIFO does not wait
// for a writer, and a terminal does not become the controlling one.
int open_for_reading(const char* path, bool nonblocking = false);
// A new file, created afresh for appending: O_EXCL refuses anything already at the name
// (a symbolic link too, even a dangling one), mode 0600. -1 on failure.
int create_new_file(const char* path);
// An existing file for appending, not through a symbolic link. -1 on failure.
int open_for_appending(const char* path);
// read(2) once, retrying EINTR: the bytes read, 0 at the end, -1 on error.
long read_some(int fd, void* to, std::size_t bytes);
void close_file(int fd);
// The size of the regular file open at fd; false for anything else (a FIFO, a device).
bool regular_file_size(int fd, std::size_t* size);

// Reads a small file into buffer, NUL-terminated; its length, or -1 when it cannot be
// opened.
long read_small_file(const char* path, char* buffer, std::size_t capacity);

// The regular file at path mapped read-only and private; nullptr when it cannot be.
// Empty files are not mapped either.
const void* map_file(const char* path, std::size_t* size);
void unmap_file(const void* mapping, std::size_t size);

// The path of the running executable (/proc/self/exe), not NUL-terminated; its length,
// 0 when unknown.
std::size_t executable_path(char* buffer, std::size_t capacity);

}  // namespace dbgalloc::platform
