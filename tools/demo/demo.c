/* dbgalloc demo: a small program with three classic heap bugs. Run it with
 * tools/demo.sh, which runs it under tools/dbgalloc-run with halt_on_error=0 so every
 * bug is reported and the program carries on:
 *   1. make_greeting() forgets the terminating NUL: a one-byte heap-buffer-overflow,
 *      found when the block is freed;
 *   2. print_greeting() writes to a block after freeing it: a heap-use-after-free,
 *      found when the block leaves the quarantine (forced here by malloc_trim);
 *   3. leak_one_block() drops its only pointer: a leak, reported at exit. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stores through a volatile pointer keep the compiler from removing our allocations. */
static void *volatile sink;

static char *make_greeting(const char *name) {
  size_t n = strlen("hello, ") + strlen(name); /* bug 1: no room for the NUL */
  char *s = malloc(n);
  if (!s) return NULL;
  strcpy(s, "hello, ");
  strcat(s, name);
  sink = s;
  return s;
}

static void print_greeting(char *greeting) {
  printf("%s\n", greeting);
  free(greeting);
  greeting[0] = 'H'; /* bug 2: write after free */
}

static void leak_one_block(void) {
  char *lost = malloc(48);
  if (!lost) return;
  strcpy(lost, "this block is never freed");
  sink = lost;
  sink = NULL; /* bug 3: the only pointer is gone */
}

int main(void) {
  char *greeting = make_greeting("dbgalloc");
  if (!greeting) return 1;
  print_greeting(greeting);
  leak_one_block();
  fflush(stdout);
  malloc_trim(0); /* empties the quarantine, which checks freed blocks for writes */
  return 0;
}
