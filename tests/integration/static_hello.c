/* A statically linked program: dbgalloc-run must refuse it (LD_PRELOAD cannot work). */
#include <stdio.h>

int main(void) {
  puts("static hello");
  return 0;
}
