// Guard-block pool cases, run under the preload by guard_pool_test. Function names are
// distinctive so the tests can find them in the reported stacks.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

namespace {

char* volatile sink;

__attribute__((noinline)) char* allocate_pooled_hundred() {
  char* p = static_cast<char*>(malloc(100));
  sink = p;
  return p;
}
__attribute__((noinline)) void release_pooled(void* p) { free(p); }
__attribute__((noinline)) char read_pooled(const char* p) { return p[10]; }
__attribute__((noinline)) void write_pooled(char* p) { p[10] = 'x'; }

std::size_t mappings() {
  FILE* maps = fopen("/proc/self/maps", "r");
  if (maps == nullptr) return 0;
  std::size_t lines = 0;
  for (int c; (c = fgetc(maps)) != EOF;) lines += c == '\n';
  fclose(maps);
  return lines;
}

std::size_t max_map_count() {
  FILE* f = fopen("/proc/sys/vm/max_map_count", "r");
  unsigned long value = 65530;
  if (f != nullptr) {
    if (fscanf(f, "%lu", &value) != 1) value = 65530;
    fclose(f);
  }
  return value;
}

int run(const std::string& name) {
  if (name == "read_after_pooled") {
    // quarantine_mb=0: the free sends the span straight to the pool.
    char* p = allocate_pooled_hundred();
    release_pooled(p);
    return read_pooled(p);
  } else if (name == "write_after_pooled") {
    char* p = allocate_pooled_hundred();
    release_pooled(p);
    write_pooled(p);
  } else if (name == "double_free_after_pooled") {
    char* p = allocate_pooled_hundred();
    release_pooled(p);
    release_pooled(p);
  } else if (name == "reuse") {
    // The same shape takes the pooled span back, writable again, and the stale pointer
    // faults again once the new block is freed in turn.
    char* p = allocate_pooled_hundred();
    release_pooled(p);
    char* q = allocate_pooled_hundred();
    memset(q, 7, 100);
    printf("reused %d\n", p == q);
    fflush(stdout);
    release_pooled(q);
    return read_pooled(p);
  } else if (name == "many_live_blocks") {
    // More live guard blocks than the map budget allows: the rest become canary
    // blocks, and the process stays under the kernel's limit with room to spare.
    std::vector<char*> blocks;
    blocks.reserve(50000);
    for (int i = 0; i < 50000; ++i) {
      char* p = static_cast<char*>(malloc(static_cast<std::size_t>(16 + i % 2000)));
      if (p == nullptr) return 3;
      p[0] = 1;
      blocks.push_back(p);
    }
    std::size_t live = mappings();
    for (char* p : blocks) free(p);
    std::size_t after_free = mappings();
    // Churn: blocks of many shapes through quarantine and pool.
    for (int round = 0; round < 200000; ++round) {
      char* p = static_cast<char*>(malloc(static_cast<std::size_t>(1 + (round * 7919) % 70000)));
      if (p == nullptr) return 4;
      p[0] = 2;
      free(p);
    }
    std::size_t churned = mappings();
    std::size_t limit = max_map_count();
    printf("maps live %zu after free %zu churned %zu limit %zu\n", live, after_free, churned, limit);
    bool under = live < limit * 9 / 10 && after_free < limit * 9 / 10 && churned < limit * 9 / 10;
    printf("%s\n", under ? "under the budget" : "OVER THE BUDGET");
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
