/* Fork-heavy: three threads, each with its own working set of live blocks, churn their
   heaps and fork children between rounds (64 children in all by default), as a build
   driver or a pre-forking server does. Each child does a little allocation work of its
   own, frees it and returns from exit(), so whatever the allocator does when a forked
   child exits (an exit-time leak check, for one) is timed; the parent waits for it.
   usage: fork_heavy [CHILDREN]   (default 64) */
#include "common.h"

#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 3
#define LIVE 4000
#define CHURN 2000

static long children_total;
static int failures[THREADS];
static uint64_t sums[THREADS];
/* Globals, so a leak check in a child (where only the forking thread exists) finds
   every thread's working set reachable. */
static char *live_sets[THREADS][LIVE];

static uint64_t child_work(uint64_t seed) {
  uint64_t sum = 0;
  char *blocks[256];
  for (int i = 0; i < 256; ++i) {
    size_t n = rng_size(&seed) % 2048 + 8;
    blocks[i] = malloc(n);
    if (!blocks[i]) abort();
    memset(blocks[i], i, n);
  }
  for (int i = 0; i < 256; ++i) {
    sum += (unsigned char)blocks[i][0];
    free(blocks[i]);
  }
  return sum;
}

static void *forker(void *arg) {
  long id = (long)arg;
  uint64_t seed = 31 + (uint64_t)id, sum = 0;
  char **live = live_sets[id];
  long mine = children_total / THREADS + (id < children_total % THREADS);
  for (long c = 0; c < mine; ++c) {
    for (int i = 0; i < CHURN; ++i) {
      size_t slot = (size_t)(rng_next(&seed) % LIVE);
      free(live[slot]);
      size_t n = rng_size(&seed) % 4096 + 8;
      live[slot] = malloc(n);
      if (!live[slot]) abort();
      live[slot][0] = (char)i;
    }
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      exit(1);
    }
    if (pid == 0) exit(child_work(seed) == 0 ? 3 : 0);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failures[id]++;
    sum += (uint64_t)live[(size_t)(rng_next(&seed) % LIVE)] != 0;
  }
  for (int i = 0; i < LIVE; ++i) free(live[i]);
  sums[id] = sum;
  return NULL;
}

int main(int argc, char **argv) {
  long children = arg_size(argc, argv, 64);
  children_total = children;
  pthread_t threads[THREADS];
  for (long i = 0; i < THREADS; ++i) pthread_create(&threads[i], NULL, forker, (void *)i);
  uint64_t sum = 0;
  int failed = 0;
  for (long i = 0; i < THREADS; ++i) {
    pthread_join(threads[i], NULL);
    sum += sums[i];
    failed += failures[i];
  }
  printf("fork_heavy %ld children, %d failed, %llu\n", children, failed,
         (unsigned long long)sum);
  return failed != 0;
}
