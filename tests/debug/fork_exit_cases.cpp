// A forked child's exit check, run under the preload by fork_exit_check_test. The
// parent builds a heap of a few thousand blocks (churned, so merges leave old chunk
// heads inside larger chunks), forks one child that does the case's bug and returns
// from exit(), then prints the child's exit status and frees what it holds. While the
// child waits, the parent churns its heap again, so the child also holds pages the
// parent wrote after the fork (the child's copies of those are its own too).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace {

constexpr int kBlocks = 6000;
char* blocks[kBlocks];
char* volatile sink;
char* volatile kept;  // a child's block, reachable

__attribute__((noinline)) char* parent_allocates_thirteen() { return static_cast<char*>(malloc(13)); }
__attribute__((noinline)) char* child_allocates_thirteen() { return static_cast<char*>(malloc(13)); }
__attribute__((noinline)) char* child_allocates_forty() { return static_cast<char*>(malloc(40)); }
__attribute__((noinline)) void parent_releases(void* p) { free(p); }
__attribute__((noinline)) void write_one_past(char* p, std::size_t size) { p[size] = 'x'; }
__attribute__((noinline)) void write_one_before(char* p) { p[-1] = 'x'; }
__attribute__((noinline)) void write_after_free(char* p) { p[5] = 'x'; }

unsigned long long seed = 12345;
std::size_t next_size() {
  seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  return static_cast<std::size_t>(seed >> 33) % 3000 + 8;
}

void churn(int rounds) {
  for (int i = 0; i < rounds; ++i) {
    int slot = static_cast<int>((seed >> 20) % kBlocks);
    free(blocks[slot]);
    blocks[slot] = static_cast<char*>(malloc(next_size()));
    blocks[slot][0] = 1;
  }
}

// Clobbers stale stack copies of a dropped pointer (the leak scan is conservative).
__attribute__((noinline)) void scrub_stack() {
  volatile char scratch[16384];
  for (char& c : const_cast<char (&)[16384]>(scratch)) c = 0;
}

int child(const std::string& name, char* inherited, char* inherited_freed) {
  if (name == "overflow_inherited") {
    write_one_past(inherited, 13);
  } else if (name == "underflow_inherited") {
    write_one_before(inherited);
  } else if (name == "write_after_free_inherited") {
    write_after_free(inherited_freed);
  } else if (name == "overflow_own") {
    kept = child_allocates_thirteen();
    write_one_past(kept, 13);
  } else if (name == "leak") {
    sink = child_allocates_forty();
    sink = nullptr;
    scrub_stack();
  } else if (name == "free_inherited_then_leak") {
    free(inherited);
    sink = child_allocates_forty();
    sink = nullptr;
    scrub_stack();
  } else if (name != "clean") {
    fprintf(stderr, "unknown case %s\n", name.c_str());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE\n", argv[0]);
    return 2;
  }
  std::string name = argv[1];
  for (char*& block : blocks) {
    block = static_cast<char*>(malloc(next_size()));
    block[0] = 1;
  }
  churn(kBlocks);
  // Blocks of interest deep inside the heap, between the others.
  char* inherited = parent_allocates_thirteen();
  churn(kBlocks / 2);
  char* inherited_freed = static_cast<char*>(malloc(100));
  parent_releases(inherited_freed);
  churn(kBlocks / 2);
  int go[2];
  if (pipe(go) != 0) return 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(go[1]);
    char byte;
    if (read(go[0], &byte, 1) != 1) _exit(9);
    exit(child(name, inherited, inherited_freed));
  }
  close(go[0]);
  churn(kBlocks / 4);  // pages the parent writes after the fork
  if (write(go[1], "x", 1) != 1) return 1;
  close(go[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  fflush(stdout);
  free(inherited);
  for (char* block : blocks) free(block);
  return 0;
}
