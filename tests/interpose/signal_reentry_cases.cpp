// A thread in a malloc/free loop interrupted by a timer signal whose handler
// allocates and frees: `signal_reentry_cases SIGNALS` runs until the handler has run
// SIGNALS times, then prints what it saw. Run under the preload.
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

std::atomic<long> handled{0};
void* volatile sink;
// Blocks the handler allocated and left for the main loop to realloc and free.
constexpr int kKept = 64;
std::atomic<void*> kept[kKept];

void on_signal(int) {
  int saved = errno;
  long n = handled.load(std::memory_order_relaxed);
  std::size_t size = 16 + static_cast<std::size_t>(n % 200);
  char* p = static_cast<char*>(std::malloc(size));
  std::memset(p, 0x5a, size);
  sink = p;
  if (n % 100 == 0) {
    void* expected = nullptr;
    if (kept[(n / 100) % kKept].compare_exchange_strong(expected, p)) p = nullptr;
  }
  std::free(p);
  handled.fetch_add(1, std::memory_order_relaxed);
  errno = saved;
}

}  // namespace

int main(int argc, char** argv) {
  long want = argc > 1 ? std::atol(argv[1]) : 20000;
  struct sigaction action {};
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, nullptr);
  sigevent event {};
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = SIGUSR1;
  event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0) return 3;
  itimerspec every{{0, 20000}, {0, 20000}};
  timer_settime(timer, 0, &every, nullptr);
  void* ring[16] = {};
  unsigned long pairs = 0, handed_back = 0;
  while (handled.load() < want) {
    std::free(ring[pairs & 15]);
    ring[pairs & 15] = std::malloc(16 + (pairs & 255));
    ++pairs;
    if ((pairs & 255) == 0) {
      // The handler's blocks, used and released from ordinary code.
      for (auto& slot : kept) {
        if (void* p = slot.exchange(nullptr)) {
          p = std::realloc(p, 300);
          std::memset(p, 1, 300);
          std::free(p);
          ++handed_back;
        }
      }
    }
  }
  timer_delete(timer);
  for (void* p : ring) std::free(p);
  for (auto& slot : kept) std::free(slot.exchange(nullptr));
  std::printf("handled %ld signals during %lu malloc/free pairs; %lu handler blocks reallocated and freed by main\n",
              handled.load(), pairs, handed_back);
  std::fflush(stdout);
  return 0;
}
