/* Two threads, producer/consumer with cross-thread frees: the producer allocates blocks
   (8 B .. 64 KiB, mostly small), fills their first bytes and hands them over in batches
   of 64 through a bounded queue (mutex and condition variables: a thread with nothing
   to do sleeps rather than spins, so CPU time measures the allocator, not the waiting);
   the consumer reads and frees them, and also allocates a little of its own (one
   short-lived block per eight received), so both threads allocate and every producer
   block is freed by the other thread. At most 64 batches (4096 blocks) are in flight.
   usage: prodcons [BLOCKS]   (default 2000000) */
#include "common.h"

#include <pthread.h>
#include <string.h>

#define BATCH 64
#define QUEUE 64

struct batch { unsigned char *p[BATCH]; size_t n[BATCH]; int count; };
static struct batch *queue[QUEUE];
static int q_head, q_len, q_done;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;

static void push(struct batch *b) {
  pthread_mutex_lock(&lock);
  while (q_len == QUEUE) pthread_cond_wait(&not_full, &lock);
  queue[(q_head + q_len) % QUEUE] = b;
  q_len++;
  pthread_cond_signal(&not_empty);
  pthread_mutex_unlock(&lock);
}

static struct batch *pop(void) {
  pthread_mutex_lock(&lock);
  while (q_len == 0 && !q_done) pthread_cond_wait(&not_empty, &lock);
  struct batch *b = NULL;
  if (q_len) {
    b = queue[q_head];
    q_head = (q_head + 1) % QUEUE;
    q_len--;
    pthread_cond_signal(&not_full);
  }
  pthread_mutex_unlock(&lock);
  return b;
}

static void *consumer(void *arg) {
  (void)arg;
  uint64_t sum = 0, seed = 777;
  long got = 0;
  struct batch *b;
  while ((b = pop()) != NULL) {
    for (int i = 0; i < b->count; i++, got++) {
      sum += b->p[i][0] + b->p[i][b->n[i] - 1];
      free(b->p[i]);
      if ((got & 7) == 0) {
        size_t n = rng_size(&seed);
        unsigned char *q = (unsigned char *)malloc(n);
        q[0] = (unsigned char)got;
        q[n - 1] = 1;
        sum += q[0];
        free(q);
      }
    }
    free(b);
  }
  return (void *)(uintptr_t)sum;
}

int main(int argc, char **argv) {
  long total = arg_size(argc, argv, 2000000);
  pthread_t th;
  if (pthread_create(&th, NULL, consumer, NULL) != 0) {
    fprintf(stderr, "prodcons: pthread_create failed\n");
    return 1;
  }
  uint64_t seed = 4242;
  struct batch *b = NULL;
  for (long i = 0; i < total; i++) {
    if (!b) {
      b = (struct batch *)malloc(sizeof *b);
      if (!b) { fprintf(stderr, "prodcons: malloc failed\n"); return 1; }
      b->count = 0;
    }
    size_t n = rng_size(&seed);
    unsigned char *p = (unsigned char *)malloc(n);
    if (!p) { fprintf(stderr, "prodcons: malloc(%zu) failed\n", n); return 1; }
    memset(p, (int)(i & 0xff), n < 32 ? n : 32);
    p[n - 1] = (unsigned char)(i >> 8);
    b->p[b->count] = p;
    b->n[b->count] = n;
    if (++b->count == BATCH) {
      push(b);
      b = NULL;
    }
  }
  if (b) push(b);
  pthread_mutex_lock(&lock);
  q_done = 1;
  pthread_cond_broadcast(&not_empty);
  pthread_mutex_unlock(&lock);
  void *ret;
  pthread_join(th, &ret);
  printf("prodcons blocks=%ld checksum=%llu\n", total, (unsigned long long)(uintptr_t)ret);
  return 0;
}
