// Threads with asynchronous cancellation in an allocation loop, cancelled wherever they
// are: `async_cancel_cases ROUNDS [c|cxx|aligned]` (malloc/free/calloc/realloc; every
// operator new and delete; the aligned C functions and aligned new). Run under the
// preload.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

std::atomic<int> running{0};

void c_functions(void*& slot, unsigned i) {
  std::free(slot);
  slot = (i & 3) == 0 ? std::calloc(4, 8 + (i & 127)) : std::malloc(16 + (i & 255));
  if ((i & 7) == 0) slot = std::realloc(slot, 300);
}

// The slot holds what the previous call of the same i & 3 made.
void cxx_operators(void*& slot, unsigned i) {
  std::size_t n = 16 + (i & 255);
  switch (i & 3) {
    case 0: operator delete(slot); slot = operator new(n); break;
    case 1: operator delete[](slot); slot = operator new[](n); break;
    case 2: operator delete(slot, std::nothrow); slot = operator new(n, std::nothrow); break;
    default: operator delete[](slot, std::nothrow); slot = operator new[](n, std::nothrow); break;
  }
}

void aligned_functions(void*& slot, unsigned i) {
  std::size_t n = 16 + (i & 255);
  switch (i & 3) {
    case 0: std::free(slot); slot = aligned_alloc(64, 64 * (1 + (i & 7))); break;
    case 1: std::free(slot); if (posix_memalign(&slot, 32, n) != 0) slot = nullptr; break;
    case 2: operator delete(slot, std::align_val_t{64}); slot = operator new(n, std::align_val_t{64}); break;
    default:
      operator delete[](slot, std::align_val_t{128}, std::nothrow);
      slot = operator new[](n, std::align_val_t{128}, std::nothrow);
      break;
  }
}

using Step = void (*)(void*&, unsigned);
Step step = c_functions;

extern "C" void* churn(void*) {
  int previous = 0;
  pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &previous);
  void* ring[16] = {};
  running.fetch_add(1);
  for (unsigned i = 0;; ++i) step(ring[i & 15], i);
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 50;
  const char* kind = argc > 2 ? argv[2] : "c";
  if (std::strcmp(kind, "cxx") == 0) step = cxx_operators;
  if (std::strcmp(kind, "aligned") == 0) step = aligned_functions;
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
