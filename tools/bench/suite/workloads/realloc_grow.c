/* realloc growth: 2000 strings and vectors, each grown by realloc as a program appends
   to them (strings by 1..64 bytes at a time, vectors by doubling their capacity), freed
   and started again when they reach their random final size (up to 64 KiB).
   usage: realloc_grow [APPENDS]   (default 3000000) */
#include "common.h"

#include <string.h>

#define STRINGS 1000
#define VECTORS 1000

struct str { char *p; size_t len, goal; };
struct vec { int *p; size_t len, cap, goal; };

int main(int argc, char **argv) {
  long appends = arg_size(argc, argv, 3000000);
  static struct str s[STRINGS];
  static struct vec v[VECTORS];
  uint64_t seed = 99, sum = 0;
  for (int i = 0; i < STRINGS; i++) s[i].goal = 16 + rng_next(&seed) % 65520;
  for (int i = 0; i < VECTORS; i++) v[i].goal = 4 + rng_next(&seed) % 16380;
  for (long op = 0; op < appends; op++) {
    uint64_t r = rng_next(&seed);
    if (r & 1) {
      struct str *x = &s[(r >> 1) % STRINGS];
      size_t add = 1 + (r >> 20) % 64;
      char *np = (char *)realloc(x->p, x->len + add + 1);
      if (!np) { fprintf(stderr, "realloc_grow: realloc failed\n"); return 1; }
      x->p = np;
      memset(x->p + x->len, 'a' + (int)(op % 26), add);
      x->len += add;
      x->p[x->len] = 0;
      if (x->len >= x->goal) {
        sum += (unsigned char)x->p[x->len / 2] + x->len;
        free(x->p);
        x->p = NULL;
        x->len = 0;
        x->goal = 16 + (r >> 32) % 65520;
      }
    } else {
      struct vec *x = &v[(r >> 1) % VECTORS];
      if (x->len == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 4;
        int *np = (int *)realloc(x->p, cap * sizeof(int));
        if (!np) { fprintf(stderr, "realloc_grow: realloc failed\n"); return 1; }
        x->p = np;
        x->cap = cap;
      }
      x->p[x->len++] = (int)op;
      if (x->len >= x->goal) {
        sum += (unsigned)x->p[x->len / 3] + x->len;
        free(x->p);
        x->p = NULL;
        x->len = x->cap = 0;
        x->goal = 4 + (r >> 32) % 16380;
      }
    }
  }
  for (int i = 0; i < STRINGS; i++) free(s[i].p);
  for (int i = 0; i < VECTORS; i++) free(v[i].p);
  printf("realloc_grow appends=%ld checksum=%llu\n", appends, (unsigned long long)sum);
  return 0;
}
