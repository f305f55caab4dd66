/* Single-thread random alloc/free mix: 10k slots (so about 10k live blocks once warm),
   each operation picks a random slot and frees its block or allocates a new one of a
   random size (8 B .. 64 KiB, mostly small). Blocks are written at both ends and read
   back when freed, as a program would.
   usage: mix [OPERATIONS]   (default 4000000) */
#include "common.h"

#include <string.h>

#define SLOTS 10000

int main(int argc, char **argv) {
  long ops = arg_size(argc, argv, 4000000);
  static unsigned char *slot[SLOTS];
  static size_t slot_size[SLOTS];
  uint64_t seed = 12345, sum = 0;
  /* Warm up to the full live set, then churn. */
  for (int i = 0; i < SLOTS; i++) {
    size_t n = rng_size(&seed);
    slot[i] = (unsigned char *)malloc(n);
    slot[i][0] = (unsigned char)i;
    slot[i][n - 1] = (unsigned char)n;
    slot_size[i] = n;
  }
  for (long op = 0; op < ops; op++) {
    uint64_t r = rng_next(&seed);
    unsigned i = (unsigned)(r % SLOTS);
    if (slot[i]) {
      sum += slot[i][0] + slot[i][slot_size[i] - 1];
      free(slot[i]);
      slot[i] = NULL;
    } else {
      size_t n = rng_size(&seed);
      unsigned char *p = (unsigned char *)malloc(n);
      if (!p) { fprintf(stderr, "mix: malloc(%zu) failed\n", n); return 1; }
      size_t head = n < 32 ? n : 32;
      memset(p, (int)(op & 0xff), head);
      p[n - 1] = (unsigned char)op;
      slot[i] = p;
      slot_size[i] = n;
    }
  }
  for (int i = 0; i < SLOTS; i++) free(slot[i]);
  printf("mix ops=%ld checksum=%llu\n", ops, (unsigned long long)sum);
  return 0;
}
