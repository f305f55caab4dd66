// Threads with asynchronous cancellation in a malloc/free/calloc/realloc loop,
// cancelled wherever they are: `async_cancel_cases ROUNDS`. Run under the preload.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace {

std::atomic<int> running{0};

extern "C" void* churn(void*) {
  int previous = 0;
  pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &previous);
  void* ring[16] = {};
  running.fetch_add(1);
  for (unsigned i = 0;; ++i) {
    void*& slot = ring[i & 15];
    std::free(slot);
    slot = (i & 3) == 0 ? std::calloc(4, 8 + (i & 127)) : std::malloc(16 + (i & 255));
    if ((i & 7) == 0) slot = std::realloc(slot, 300);
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 50;
  int cancelled = 0;
  for (int round = 0; round < rounds; ++round) {
    running.store(0);
    pthread_t thread;
    pthread_create(&thread, nullptr, churn, nullptr);
    while (running.load() == 0) usleep(100);
    usleep(1000);
    pthread_cancel(thread);
    void* result = nullptr;
    pthread_join(thread, &result);
    cancelled += result == PTHREAD_CANCELED;
  }
  // The allocator is still usable: no lock was left held by a cancelled thread.
  void* p = std::malloc(100);
  std::free(p);
  std::printf("%d of %d threads cancelled inside the allocator's loop\n", cancelled, rounds);
  std::fflush(stdout);
  return 0;
}
