// pthread_create: records where each thread came from (its creator and the stack of
// the call) for reports' "Thread T12 created by T10 here:" (stacks/thread_origins.hpp).
// The start routine and its argument travel through a slot of a fixed pool, so creating
// a thread allocates nothing of ours; when every slot is taken (more threads starting
// at once than the pool holds), the thread is created as is, its origin unknown.
#include <errno.h>
#include <pthread.h>

#include <atomic>

#include "interpose/runtime.hpp"
#include "platform/loader.hpp"
#include "platform/platform.hpp"
#include "stacks/stacks.hpp"
#include "stacks/thread_origins.hpp"

namespace {

using Start = void* (*)(void*);
using Create = int (*)(pthread_t*, const pthread_attr_t*, Start, void*);

struct Launch {
  std::atomic<bool> taken{false};
  Start start;
  void* arg;
  int parent;
  dbgalloc::stacks::StackId creation;
};
constexpr int kLaunches = 256;
constinit Launch launches[kLaunches];

std::atomic<Create> real_create{nullptr};

Launch* take_launch() {
  for (Launch& launch : launches) {
    bool expected = false;
    if (!launch.taken.load(std::memory_order_relaxed) &&
        launch.taken.compare_exchange_strong(expected, true, std::memory_order_acquire))
      return &launch;
  }
  return nullptr;
}

void* start_recorded(void* raw) {
  auto* launch = static_cast<Launch*>(raw);
  Start start = launch->start;
  void* arg = launch->arg;
  dbgalloc::stacks::record_thread_origin(dbgalloc::platform::thread_id(), {launch->parent, launch->creation});
  launch->taken.store(false, std::memory_order_release);
  return start(arg);
}

}  // namespace

DBGALLOC_EXPORT int pthread_create(pthread_t* thread, const pthread_attr_t* attr, Start start, void* arg) {
  Create create = real_create.load(std::memory_order_acquire);
  if (create == nullptr) {
    create = reinterpret_cast<Create>(dbgalloc::platform::next_definition("pthread_create"));
    if (create == nullptr) return EAGAIN;
    real_create.store(create, std::memory_order_release);
  }
  dbgalloc::interpose::ensure_started();
  Launch* launch = take_launch();
  if (launch == nullptr) return create(thread, attr, start, arg);
  launch->start = start;
  launch->arg = arg;
  launch->parent = dbgalloc::platform::thread_id();
  launch->creation = dbgalloc::stacks::record(0);  // frame 0: this function, as ASan's "in pthread_create"
  int result = create(thread, attr, start_recorded, launch);
  if (result != 0) launch->taken.store(false, std::memory_order_release);
  return result;
}
