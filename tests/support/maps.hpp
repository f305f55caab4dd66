// Counting the process's mappings from /proc/self/maps (tests of map-count behaviour).
#pragma once

#include <cstdint>
#include <cstdio>

namespace test_support {

// Lines of /proc/self/maps that overlap [begin, end).
inline std::size_t mappings_over(std::uintptr_t begin, std::uintptr_t end) {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return 0;
  std::size_t count = 0;
  unsigned long low = 0, high = 0;
  char line[512];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    if (std::sscanf(line, "%lx-%lx", &low, &high) == 2 && low < end && high > begin) ++count;
  }
  std::fclose(maps);
  return count;
}

}  // namespace test_support
