/* Millions of tiny short-lived objects, one thread (in the style of the classic
   allocator benchmarks' interpreters and compilers): a parser-like loop builds small
   expression trees (16-48 byte nodes) and short strings, evaluates them and frees them
   at once; a window of 512 trees stays live so blocks are freed out of order.
   usage: tiny [TREES]   (default 400000; about 8 allocations per tree) */
#include "common.h"

#include <string.h>

struct node { struct node *left, *right; long value; char op; };

static struct node *build(uint64_t *s, int depth) {
  struct node *n = malloc(sizeof *n);
  if (!n) abort();
  if (depth == 0 || rng_next(s) % 4 == 0) {
    n->left = n->right = NULL;
    n->value = (long)(rng_next(s) % 1000);
    n->op = 'n';
    return n;
  }
  n->op = "+-*"[rng_next(s) % 3];
  n->left = build(s, depth - 1);
  n->right = build(s, depth - 1);
  n->value = 0;
  return n;
}

static long eval(const struct node *n) {
  if (n->op == 'n') return n->value;
  long a = eval(n->left), b = eval(n->right);
  return n->op == '+' ? a + b : n->op == '-' ? a - b : (a * b) % 1000003;
}

static void release(struct node *n) {
  if (!n) return;
  release(n->left);
  release(n->right);
  free(n);
}

#define WINDOW 512

int main(int argc, char **argv) {
  long trees = arg_size(argc, argv, 400000);
  uint64_t seed = 12345, sum = 0;
  struct node *live[WINDOW] = {0};
  char *names[WINDOW] = {0};
  for (long i = 0; i < trees; ++i) {
    struct node *t = build(&seed, 3);
    /* A short name per tree, as a symbol table would keep. */
    size_t len = 4 + (size_t)(rng_next(&seed) % 20);
    char *name = malloc(len + 1);
    if (!name) abort();
    memset(name, 'a' + (int)(i % 26), len);
    name[len] = '\0';
    sum = sum * 31 + (uint64_t)eval(t) + strlen(name);
    size_t slot = (size_t)(rng_next(&seed) % WINDOW);
    release(live[slot]);
    free(names[slot]);
    live[slot] = t;
    names[slot] = name;
  }
  for (size_t i = 0; i < WINDOW; ++i) {
    release(live[i]);
    free(names[i]);
  }
  printf("tiny %ld %llu\n", trees, (unsigned long long)sum);
  return 0;
}
