// Heap bugs inside functions the compiler inlines (built -O2 -g): the reports must name
// every inline level as a frame of its own. inline_frames_test.cpp finds the lines by
// the LINE: markers.
#include <stdlib.h>
#include <string.h>

static inline void fill(char* p, size_t n) {
  for (size_t i = 0; i <= n; ++i) p[i] = (char)i;  // LINE:fill
}

static inline char* make_block(size_t n) {
  char* p = malloc(n);  // LINE:make_block
  __asm__ volatile("" : : "r"(p) : "memory");
  return p;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  size_t n = 13 + (size_t)(argc - 2);
  char* p = make_block(n);  // LINE:main_make
  fill(p, n);  // LINE:main_fill
  __asm__ volatile("" : : "r"(p) : "memory");
  if (strcmp(argv[1], "overflow") == 0) free(p);  // LINE:main_free
  return 0;
}
