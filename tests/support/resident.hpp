// The process's resident memory, from /proc/self/statm: tests that a large block was
// not touched page by page.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdio>

namespace test_support {

// 0 when /proc is not readable.
inline std::size_t resident_bytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int read = std::fscanf(statm, "%lu %lu", &size, &resident);
  std::fclose(statm);
  return read == 2 ? resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace test_support
