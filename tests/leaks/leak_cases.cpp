// Leak case programs: `leak_cases NAME` runs one case. Each leaks (or does not leak) a
// known number of bytes, so the driver can check dbgalloc's report and compare the
// counts with valgrind's. Built without the preload linked in: the driver runs it
// under LD_PRELOAD (or under valgrind, without the preload).
//
// Leaks are made in noinline functions and the stack is scrubbed before the check, so
// no stale copy of a lost pointer survives in a dead frame or a register.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "case_support.hpp"
#include "dbgalloc/dbgalloc.hpp"

// Not linked with libdbgalloc (valgrind must see glibc's malloc): the API binds to the
// preload when there is one; the cases that call it are only run under the preload.
#pragma weak dbgalloc_leak_check
#pragma weak __lsan_disable
#pragma weak __lsan_enable
#pragma weak __lsan_ignore_object
#pragma weak __lsan_register_root_region
#pragma weak __lsan_do_recoverable_leak_check
#pragma weak __lsan_do_leak_check

namespace {

using leak_cases::drop;
using leak_cases::scrub_stack;

NOINLINE void leak_direct() { drop(malloc(40)); }

struct Owner {
  char* buffer;
  long tag;
};

NOINLINE void leak_owner() {
  auto* owner = static_cast<Owner*>(malloc(sizeof(Owner)));
  owner->buffer = static_cast<char*>(malloc(100));
  owner->tag = 7;
  drop(owner);
}

struct Node {
  Node* next;
  long payload[3];
};

NOINLINE Node* make_node(Node* next) {
  Node* node = new Node;
  node->next = next;
  return node;
}

NOINLINE void leak_list(int length) {
  Node* head = nullptr;
  for (int i = 0; i < length; ++i) head = make_node(head);
  drop(head);
}

// volatile: a store the program never reads back must not be optimised away with its malloc.
void* volatile global_block;
char* volatile global_interior;
thread_local void* volatile thread_local_block;

NOINLINE void keep_in_global() { global_block = malloc(64); }
NOINLINE void keep_in_thread_local() { thread_local_block = malloc(48); }
NOINLINE void keep_interior_only() {
  // 24 bytes in: neither a start pointer nor one of valgrind's heuristics' offsets.
  auto* block = static_cast<char*>(malloc(72));
  std::memset(block, 0x11, 72);
  global_interior = block + 24;
}

NOINLINE void leak_for_suppression() { drop(malloc(333)); }

struct Statics {
  std::vector<std::string> names;
  std::map<int, std::string> table;
  Statics() {
    for (int i = 0; i < 50; ++i) {
      names.push_back(std::string(40, static_cast<char>('a' + i % 26)));
      table[i] = names.back();
    }
  }
};

NOINLINE void* thread_leaks_then_exits(void*) {
  drop(malloc(200));
  scrub_stack();
  exit(0);
}

// A second thread keeps one block in a thread_local and one in a local variable, and
// stays blocked until the process exits; neither block is lost.
pthread_mutex_t never_unlocked = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t started = PTHREAD_MUTEX_INITIALIZER;

std::atomic<int> blocked_thread_id{0};

NOINLINE void* hold_and_block(void*) {
  thread_local_block = malloc(56);
  void* volatile on_stack = malloc(88);
  blocked_thread_id.store(static_cast<int>(gettid()));
  pthread_mutex_unlock(&started);
  pthread_mutex_lock(&never_unlocked);  // blocks in futex for good
  drop(on_stack);
  return nullptr;
}

NOINLINE void* hold_and_block_with_signals_masked(void* arg) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  return hold_and_block(arg);
}

NOINLINE void start_blocked_thread(bool mask_signals = false) {
  pthread_mutex_lock(&never_unlocked);
  pthread_mutex_lock(&started);
  pthread_t thread;
  pthread_create(&thread, nullptr, mask_signals ? hold_and_block_with_signals_masked : hold_and_block, nullptr);
  pthread_mutex_lock(&started);  // the thread has its blocks
  pthread_detach(thread);
  // Wait until the kernel shows it asleep in its futex, so the exit check really meets
  // a blocked thread (on a loaded machine it may not have got there yet).
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", blocked_thread_id.load());
  for (int attempt = 0; attempt < 2000; ++attempt) {
    char text[512] = {};
    if (FILE* stat = std::fopen(path, "r")) {
      std::size_t n = std::fread(text, 1, sizeof text - 1, stat);
      std::fclose(stat);
      const char* state = std::strrchr(text, ')');
      if (n > 0 && state != nullptr && state[1] == ' ' && state[2] == 'S') return;
    }
    usleep(1000);
  }
}

NOINLINE void leak_in_child() { drop(malloc(777)); }

// The only pointer to a 333-byte block sits on one page 40 MiB into the program's own
// 64 MiB anonymous mapping, whose other pages are never touched; an 8 MiB block is
// leaked without ever being written, a 6 MiB one likewise but kept by a global.
void* global_big = nullptr;
NOINLINE void keep_in_mostly_untouched_mapping() {
  const std::size_t bytes = std::size_t{64} << 20;
  void* region = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (region == MAP_FAILED) std::abort();
  *reinterpret_cast<void**>(static_cast<char*>(region) + (std::size_t{40} << 20) + 24) = malloc(333);
}
NOINLINE void untouched_blocks() {
  drop(malloc(std::size_t{8} << 20));
  global_big = malloc(std::size_t{6} << 20);
}
NOINLINE void leak_in_parent() { drop(malloc(555)); }

NOINLINE void leak_ignored() {
  drop(dbgalloc::ignore_leak(malloc(91)));
  dbgalloc::ScopedLeakIgnore ignore;
  leak_owner();  // 16 + 100 bytes, both ignored
}

NOINLINE void leak_behind_root_region() {
  // A block (lost itself) registered as a root region keeps what it points to.
  auto** holder = static_cast<void**>(malloc(16));
  holder[0] = malloc(123);
  holder[1] = nullptr;
  __lsan_register_root_region(holder, 16);
  drop(holder);
}

// Frees many blocks first, so the quarantine evicts and the heap hands the same
// addresses out again; then leaks 100 blocks of the same size.
NOINLINE void churn_then_leak() {
  void* ring[64] = {};
  for (int i = 0; i < 100000; ++i) {
    free(ring[i & 63]);
    ring[i & 63] = malloc(64);
  }
  for (void*& p : ring) {
    free(p);
    p = nullptr;
  }
  for (int i = 0; i < 100; ++i) drop(malloc(64));
}

NOINLINE void leak_cycle() {
  auto** a = static_cast<void**>(malloc(16));
  auto** b = static_cast<void**>(malloc(16));
  a[0] = b;
  b[0] = a;
  a[1] = b[1] = nullptr;
  drop(a);
}

// Workers keep their only pointers to their blocks in a stack array (and, while they
// replace one, in registers), churning until the process exits under them.
std::atomic<int> workers_running{0};

NOINLINE void* churn_on_stack(void*) {
  void* held[64] = {};
  for (void*& p : held) p = malloc(48);
  workers_running.fetch_add(1);
  for (unsigned i = 0;; ++i) {
    void*& slot = held[(i * 7) & 63];
    free(slot);
    slot = malloc(16 + (i & 127));
    drop(slot);
  }
  return nullptr;
}

NOINLINE void exit_while_workers_allocate(int workers) {
  for (int i = 0; i < workers; ++i) {
    pthread_t thread;
    pthread_create(&thread, nullptr, churn_on_stack, nullptr);
    pthread_detach(thread);
  }
  while (workers_running.load() < workers) usleep(1000);
  usleep(20000);  // let them churn for a while
}

// Leaves 512 copies of the only pointer to a block in its own frame and returns:
// the frame is dead, the block lost.
NOINLINE void leak_from_dead_frame() {
  void* volatile local[512];
  void* block = malloc(1234);
  for (auto& slot : local) slot = block;
}

// The frame that calls exit is live: what it holds is reachable.
NOINLINE void exit_while_holding() {
  void* volatile held = malloc(4321);
  drop(held);
  exit(0);
}

bool turned_off = false;

}  // namespace

// LeakSanitizer's opt-out hook (exported: the case program is linked with -rdynamic).
extern "C" __attribute__((visibility("default"))) int __lsan_is_turned_off() { return turned_off ? 1 : 0; }

namespace {

int run(const char* name) {
  std::string c = name;
  if (c == "none") {
    free(malloc(10));
  } else if (c == "direct") {
    leak_direct();
  } else if (c == "indirect") {
    leak_owner();
  } else if (c == "list") {
    leak_list(10);
  } else if (c == "churn") {
    churn_then_leak();
  } else if (c == "cycle") {
    leak_cycle();
  } else if (c == "global") {
    keep_in_global();
  } else if (c == "thread_local") {
    keep_in_thread_local();
  } else if (c == "interior") {
    keep_interior_only();
  } else if (c == "suppressed") {
    leak_for_suppression();
    leak_direct();
  } else if (c == "cxx_statics") {
    static Statics statics;
    drop(&statics);
  } else if (c == "blocked_thread") {
    start_blocked_thread();
    leak_direct();
  } else if (c == "blocked_thread_signals_masked") {
    start_blocked_thread(true);
    leak_direct();
  } else if (c == "exit_from_thread") {
    void* kept_on_main_stack = malloc(300);
    pthread_t thread;
    pthread_create(&thread, nullptr, thread_leaks_then_exits, nullptr);
    pthread_join(thread, nullptr);
    free(kept_on_main_stack);
  } else if (c == "recoverable") {
    leak_direct();
    scrub_stack();
    std::size_t leaked = dbgalloc_leak_check();
    std::printf("dbgalloc_leak_check returned %zu\n", leaked);
    int recoverable = __lsan_do_recoverable_leak_check();
    std::printf("__lsan_do_recoverable_leak_check returned %d\n", recoverable);
    std::fflush(stdout);
    return 0;
  } else if (c == "do_leak_check") {
    leak_direct();
    scrub_stack();
    __lsan_do_leak_check();
    std::printf("still running after __lsan_do_leak_check\n");
    std::fflush(stdout);
    return 0;
  } else if (c == "fork") {
    leak_in_parent();
    pid_t child = fork();
    if (child == 0) {
      leak_in_child();
      scrub_stack();
      exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    std::printf("child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    std::fflush(stdout);
    _exit(0);
  } else if (c == "untouched") {
    keep_in_mostly_untouched_mapping();
    untouched_blocks();
  } else if (c == "fork_untouched" || c == "fork_all_reachable" || c == "fork_with_threads" ||
             c == "fork_frees_all") {
    leak_in_parent();
    if (c == "fork_with_threads") exit_while_workers_allocate(2);
    pid_t child = fork();
    if (child == 0) {
      if (c == "fork_all_reachable") {
        keep_in_global();
      } else if (c == "fork_frees_all") {
        free(malloc(100));
      } else {
        keep_in_mostly_untouched_mapping();
        leak_in_child();
      }
      scrub_stack();
      exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    std::printf("child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    std::fflush(stdout);
    _exit(0);
  } else if (c == "exit_while_threads_allocate") {
    exit_while_workers_allocate(4);
  } else if (c == "dead_frame") {
    leak_from_dead_frame();  // and no scrubbing: the copies stay below main's frame
    return 0;
  } else if (c == "exit_with_live_frame") {
    scrub_stack();
    exit_while_holding();
  } else if (c == "turned_off") {
    turned_off = true;
    leak_direct();
  } else if (c == "underscore_exit") {
    leak_direct();
    _exit(0);
  } else if (c == "ignored") {
    leak_ignored();
  } else if (c == "root_region") {
    leak_behind_root_region();
  } else {
    std::fprintf(stderr, "unknown case %s\n", name);
    return 2;
  }
  scrub_stack();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: leak_cases CASE\n");
    return 2;
  }
  return run(argv[1]);
}
