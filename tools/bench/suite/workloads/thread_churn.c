/* Thread-local churn: each of four threads allocates and frees its own objects (a
   window of 256 live blocks, 16 B .. 512 B) and never touches another thread's, as
   per-thread caches in a server's request handlers do. Every block is freed by the
   thread that allocated it.
   usage: thread_churn [OPERATIONS]   (default 4000000, shared among the threads) */
#include "common.h"

#include <pthread.h>
#include <string.h>

#define THREADS 4
#define WINDOW 256

static long per_thread;
static uint64_t sums[THREADS];

static void *churn(void *arg) {
  long id = (long)arg;
  uint64_t seed = 99 + (uint64_t)id, sum = 0;
  unsigned char *live[WINDOW] = {0};
  for (long i = 0; i < per_thread; ++i) {
    size_t slot = (size_t)(rng_next(&seed) % WINDOW);
    if (live[slot]) sum += live[slot][0];
    free(live[slot]);
    size_t n = 16 + (size_t)(rng_next(&seed) % 497);
    live[slot] = malloc(n);
    if (!live[slot]) abort();
    memset(live[slot], (int)(i & 0xff), 8);
  }
  for (int i = 0; i < WINDOW; ++i) free(live[i]);
  sums[id] = sum;
  return NULL;
}

int main(int argc, char **argv) {
  long ops = arg_size(argc, argv, 4000000);
  per_thread = ops / THREADS;
  pthread_t threads[THREADS];
  for (long i = 0; i < THREADS; ++i) pthread_create(&threads[i], NULL, churn, (void *)i);
  uint64_t sum = 0;
  for (long i = 0; i < THREADS; ++i) {
    pthread_join(threads[i], NULL);
    sum += sums[i];
  }
  printf("thread_churn %ld %llu\n", ops, (unsigned long long)sum);
  return 0;
}
