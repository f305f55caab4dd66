/* A multi-threaded server in the style of the classic "larson" benchmark: each of four
   worker threads keeps a table of 1000 live blocks (8 B .. 1 KiB, mostly small) and
   replaces random entries; after each round the tables are passed on to the next
   worker, so most blocks are freed by a thread other than the one that allocated them.
   usage: server [OPERATIONS]   (default 2000000, shared among the workers) */
#include "common.h"

#include <pthread.h>
#include <string.h>

#define WORKERS 4
#define SLOTS 1000
#define ROUNDS 50

struct table { unsigned char *p[SLOTS]; };
static struct table tables[WORKERS];
static pthread_barrier_t barrier;
static long per_round;
static uint64_t sums[WORKERS];

static void *worker(void *arg) {
  long id = (long)arg;
  uint64_t seed = 1000 + (uint64_t)id, sum = 0;
  for (int round = 0; round < ROUNDS; ++round) {
    struct table *t = &tables[(id + round) % WORKERS];  /* another worker's blocks */
    for (long i = 0; i < per_round; ++i) {
      size_t slot = (size_t)(rng_next(&seed) % SLOTS);
      if (t->p[slot]) sum += t->p[slot][0];
      free(t->p[slot]);
      size_t n = 8 + (size_t)(rng_next(&seed) % (rng_next(&seed) % 8 == 0 ? 1017 : 121));
      t->p[slot] = malloc(n);
      if (!t->p[slot]) abort();
      memset(t->p[slot], (int)(i & 0xff), n < 16 ? n : 16);
    }
    pthread_barrier_wait(&barrier);
  }
  sums[id] = sum;
  return NULL;
}

int main(int argc, char **argv) {
  long ops = arg_size(argc, argv, 2000000);
  per_round = ops / WORKERS / ROUNDS;
  if (per_round < 1) per_round = 1;
  pthread_barrier_init(&barrier, NULL, WORKERS);
  pthread_t threads[WORKERS];
  for (long i = 0; i < WORKERS; ++i) pthread_create(&threads[i], NULL, worker, (void *)i);
  uint64_t sum = 0;
  for (long i = 0; i < WORKERS; ++i) {
    pthread_join(threads[i], NULL);
    sum += sums[i];
  }
  for (int w = 0; w < WORKERS; ++w)
    for (int i = 0; i < SLOTS; ++i) free(tables[w].p[i]);
  printf("server %ld %llu\n", ops, (unsigned long long)sum);
  return 0;
}
