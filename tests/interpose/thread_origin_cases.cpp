// Threads in reports: main starts an outer thread (in start_outer), which allocates a
// block and starts an inner thread (in start_inner), which overflows the block and
// frees it. Each thread prints its id ("main=ID", "outer=ID", "inner=ID") to stdout
// first; thread_origin_test.cpp checks the "Thread T.. created by T.. here:" lines.
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {

char* volatile block;

void say(const char* who) {
  std::printf("%s=%ld\n", who, static_cast<long>(syscall(SYS_gettid)));
  std::fflush(stdout);
}

void* inner(void*) {
  say("inner");
  block[16] = 'x';  // one past a 16-byte block
  std::free(block);
  return nullptr;
}

__attribute__((noinline)) void start_inner() {
  pthread_t thread;
  pthread_create(&thread, nullptr, inner, nullptr);
  pthread_join(thread, nullptr);
}

void* outer(void*) {
  say("outer");
  block = static_cast<char*>(std::malloc(16));
  start_inner();
  return nullptr;
}

__attribute__((noinline)) void start_outer() {
  pthread_t thread;
  pthread_create(&thread, nullptr, outer, nullptr);
  pthread_join(thread, nullptr);
}

}  // namespace

int main() {
  say("main");
  start_outer();
  return 0;
}
