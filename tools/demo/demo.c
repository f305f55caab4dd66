/* dbgalloc demo: a small, well-behaved program except for one block it leaks on
 * purpose. Run it with tools/demo.sh (tools/dbgalloc-run --print-stats -- ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stores through a volatile pointer keep the compiler from removing our allocations. */
static void *volatile sink;

static char *make_greeting(const char *name) {
  size_t n = strlen("hello, ") + strlen(name) + 1;
  char *s = malloc(n);
  if (!s) return NULL;
  snprintf(s, n, "hello, %s", name);
  sink = s;
  return s;
}

static int *make_table(size_t count) {
  int *t = calloc(count, sizeof *t);
  for (size_t i = 0; t && i < count; ++i) t[i] = (int)(i * i);
  sink = t;
  return t;
}

/* Leaks one 48-byte block on purpose: the pointer is dropped on return. */
static void leak_one_block(void) {
  char *lost = malloc(48);
  if (!lost) return;
  strcpy(lost, "this block is never freed");
  sink = lost;
  printf("leaked 48 bytes at %p on purpose\n", (void *)lost);
  sink = NULL;
}

int main(void) {
  char *greeting = make_greeting("dbgalloc");
  if (!greeting) return 1;
  printf("%s\n", greeting);

  int *table = make_table(100);
  if (!table) return 1;
  int *bigger = realloc(table, 10000 * sizeof *table); /* grows; the contents move along */
  if (!bigger) return 1;
  table = bigger;
  printf("table[99] = %d after realloc to %zu bytes\n", table[99], 10000 * sizeof *table);

  free(table);
  free(greeting);
  leak_one_block();
  printf("done: 3 allocations, 1 realloc, 2 frees, 1 leak\n");
  fflush(stdout); /* before dbgalloc's exit-time output on stderr */
  return 0;
}
