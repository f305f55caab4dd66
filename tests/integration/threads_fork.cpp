// threads_fork: run under LD_PRELOAD=libdbgalloc.so by the integration suite.
//
// Six threads do random malloc/calloc/realloc/free/operator new on a shared table of
// slots, so most blocks are freed by a thread other than the one that allocated them.
// Meanwhile the main thread forks repeatedly; each child allocates and frees (also from
// a new thread), checks its contents and leaves with _exit(0). At the end, with every
// thread joined and every block freed, one last child leaves through exit(0), which
// runs the allocator's exit path. Every child's status is checked.
//
// Fails (exit 1) when not running under dbgalloc, unless --no-preload-check is given.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

namespace {

constexpr int kThreads = 6;
constexpr int kSlots = 4096;
constexpr int kForks = 30;

struct Block {
  unsigned char* p;
  std::size_t size;
  unsigned char fill;
  bool from_new;
};

std::atomic<Block*> slots[kSlots];
std::atomic<bool> stop{false};
std::atomic<long> failures{0};

std::uint64_t next(std::uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

std::size_t random_size(std::uint64_t& s) {
  switch (next(s) % 32) {
    case 0: case 1: case 2: case 3: return next(s) % 8;
    case 30: return next(s) % 65536;
    case 31: return next(s) % (512 * 1024);
    default: return next(s) % (next(s) % 2 ? 128 : 2048);
  }
}

// Every byte of small blocks; every 61st byte and the last one of large blocks.
bool verify(const Block* b) {
  std::size_t step = b->size <= 4096 ? 1 : 61;
  for (std::size_t i = 0; i < b->size; i += step)
    if (b->p[i] != b->fill) return false;
  return b->size == 0 || b->p[b->size - 1] == b->fill;
}

void release(Block* b) {
  if (!verify(b)) {
    std::fprintf(stderr, "threads_fork: block %p (%zu bytes) lost its contents\n",
                 static_cast<void*>(b->p), b->size);
    failures.fetch_add(1);
  }
  if (b->from_new) delete[] b->p;
  else std::free(b->p);
  delete b;
}

Block* make_block(std::uint64_t& s) {
  auto* b = new Block{};
  b->size = random_size(s);
  b->fill = static_cast<unsigned char>(next(s));
  switch (next(s) % 4) {
    case 0:
      b->p = static_cast<unsigned char*>(std::calloc(1, b->size ? b->size : 1));
      if (b->p) {
        for (std::size_t i = 0; i < b->size; ++i)
          if (b->p[i] != 0) { failures.fetch_add(1); break; }
      }
      break;
    case 1:
      b->p = new unsigned char[b->size];
      b->from_new = true;
      break;
    default:
      b->p = static_cast<unsigned char*>(std::malloc(b->size));
  }
  if (!b->p && b->size) {
    std::fprintf(stderr, "threads_fork: allocation of %zu bytes failed\n", b->size);
    failures.fetch_add(1);
    delete b;
    return nullptr;
  }
  std::memset(b->p, b->fill, b->size);
  return b;
}

// realloc in place of the block's old size, keeping the common prefix checked.
void grow_or_shrink(Block* b, std::uint64_t& s) {
  if (b->from_new) return;
  std::size_t n = random_size(s);
  auto* q = static_cast<unsigned char*>(std::realloc(b->p, n ? n : 1));
  if (!q) { failures.fetch_add(1); return; }
  std::size_t keep = n < b->size ? n : b->size;
  for (std::size_t i = 0; i < keep; ++i)
    if (q[i] != b->fill) { failures.fetch_add(1); break; }
  std::memset(q, b->fill, n);
  b->p = q;
  b->size = n;
}

void worker(int id) {
  std::uint64_t s = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(id + 1);
  while (!stop.load(std::memory_order_relaxed)) {
    for (int k = 0; k < 256; ++k) {
      int slot = static_cast<int>(next(s) % kSlots);
      Block* b = slots[slot].exchange(nullptr);
      if (b && next(s) % 3 == 0) {
        grow_or_shrink(b, s);
        b = slots[slot].exchange(b);  // put it back; free whatever raced in
      }
      if (b) release(b);
      else if (Block* nb = make_block(s)) {
        if (Block* old = slots[slot].exchange(nb)) release(old);
      }
    }
  }
}

// Runs in a forked child: the only thread left. Allocates, frees, starts a thread.
int child_work(int round) {
  std::uint64_t s = 12345u + static_cast<std::uint64_t>(round);
  std::vector<Block*> mine;
  for (int i = 0; i < 1000; ++i) {
    if (Block* b = make_block(s)) mine.push_back(b);
    if (mine.size() > 100) {
      release(mine.front());
      mine.erase(mine.begin());
    }
  }
  std::thread t([&] {
    std::uint64_t s2 = 777;
    for (int i = 0; i < 1000; ++i)
      if (Block* b = make_block(s2)) release(b);
  });
  t.join();
  for (Block* b : mine) release(b);
  return failures.load() == 0 ? 0 : 3;
}

bool check_child(pid_t pid, int round) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    std::perror("threads_fork: waitpid");
    return false;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (WIFSIGNALED(status))
    std::fprintf(stderr, "threads_fork: child %d (fork %d) killed by signal %d\n",
                 static_cast<int>(pid), round, WTERMSIG(status));
  else
    std::fprintf(stderr, "threads_fork: child %d (fork %d) exited with %d\n",
                 static_cast<int>(pid), round, WEXITSTATUS(status));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  bool want_preload = !(argc > 1 && std::strcmp(argv[1], "--no-preload-check") == 0);
  if (want_preload && dlsym(RTLD_DEFAULT, "dbgalloc_get_stats") == nullptr) {
    std::fprintf(stderr, "threads_fork: not running under dbgalloc (LD_PRELOAD=%s)\n",
                 std::getenv("LD_PRELOAD") ? std::getenv("LD_PRELOAD") : "");
    return 1;
  }

  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker, i);

  bool ok = true;
  for (int round = 0; round < kForks; ++round) {
    usleep(20000);  // let the workers get going between forks
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("threads_fork: fork");
      ok = false;
      break;
    }
    if (pid == 0) _exit(child_work(round));
    ok = check_child(pid, round) && ok;
  }

  stop.store(true);
  for (auto& t : threads) t.join();
  for (auto& slot : slots)
    if (Block* b = slot.exchange(nullptr)) release(b);

  // Last child: no other threads, nothing live; leaves through exit() and the
  // allocator's exit-time work.
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) std::exit(child_work(kForks));
  ok = pid > 0 && check_child(pid, kForks) && ok;

  if (failures.load() != 0) {
    std::fprintf(stderr, "threads_fork: %ld failed checks\n", failures.load());
    ok = false;
  }
  std::printf("threads_fork: %d threads, %d forks: %s\n", kThreads, kForks + 1,
              ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
