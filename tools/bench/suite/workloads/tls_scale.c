/* Two threads scale: the same thread-local allocation work (a window of 128 live
   blocks, 16 B .. 256 B, freed by the thread that made them) run first by one thread,
   then by two threads at once, each doing as much as the one did. Prints the checksum
   on stdout and, on stderr, each phase's throughput and their ratio as
   "bench-metric scaling=R" (2.0 when two threads run as fast each as one alone).
   usage: tls_scale [OPERATIONS]   (default 3000000 per thread and phase) */
#include "common.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#define WINDOW 128

static long ops;
static uint64_t sums[2];

static void *work(void *arg) {
  long id = (long)arg;
  uint64_t seed = 5 + (uint64_t)id, sum = 0;
  unsigned char *live[WINDOW] = {0};
  for (long i = 0; i < ops; ++i) {
    size_t slot = (size_t)(rng_next(&seed) % WINDOW);
    if (live[slot]) sum += live[slot][0];
    free(live[slot]);
    size_t n = 16 + (size_t)(rng_next(&seed) % 241);
    live[slot] = malloc(n);
    if (!live[slot]) abort();
    memset(live[slot], (int)(i & 0xff), 8);
  }
  for (int i = 0; i < WINDOW; ++i) free(live[i]);
  sums[id] = sum;
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  ops = arg_size(argc, argv, 3000000);
  double t0 = now();
  work((void *)0);
  double one = (double)ops / (now() - t0);
  uint64_t sum = sums[0];
  pthread_t threads[2];
  t0 = now();
  for (long i = 0; i < 2; ++i) pthread_create(&threads[i], NULL, work, (void *)i);
  for (long i = 0; i < 2; ++i) pthread_join(threads[i], NULL);
  double two = 2.0 * (double)ops / (now() - t0);
  sum = sum * 31 + sums[0] + sums[1];
  printf("tls_scale %ld %llu\n", ops, (unsigned long long)sum);
  fprintf(stderr, "1 thread: %.0f ops/s; 2 threads: %.0f ops/s\nbench-metric scaling=%.3f\n", one, two, two / one);
  return 0;
}
