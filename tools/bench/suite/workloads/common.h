/* Shared helpers for the benchmark workloads: a small deterministic PRNG and argument
   parsing. The workloads are plain C/C++ programs with no dbgalloc linking: the runner
   (tools/bench/suite/run.py) runs them under glibc, under each allocator by LD_PRELOAD,
   and rebuilt with -fsanitize=address. Each prints a checksum of its work on stdout so
   the runner can tell that every mode did the same work. */
#ifndef BENCH_SUITE_COMMON_H
#define BENCH_SUITE_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline uint64_t rng_next(uint64_t *s) {
  /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Mostly small sizes, 8 B .. 64 KiB: 80% 8..128, 15% 129..4096, 5% 4097..65536. */
static inline size_t rng_size(uint64_t *s) {
  uint64_t r = rng_next(s);
  unsigned bucket = (unsigned)(r % 100);
  r >>= 8;
  if (bucket < 80) return 8 + (size_t)(r % 121);
  if (bucket < 95) return 129 + (size_t)(r % 3968);
  return 4097 + (size_t)(r % 61440);
}

/* argv[1]: work size (operations); default when absent. */
static inline long arg_size(int argc, char **argv, long dflt) {
  if (argc < 2) return dflt;
  char *end = NULL;
  long v = strtol(argv[1], &end, 10);
  if (!end || *end || v <= 0) {
    fprintf(stderr, "usage: %s [SIZE]  (SIZE: a positive number of operations)\n", argv[0]);
    exit(2);
  }
  return v;
}

#endif
