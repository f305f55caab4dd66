// The process's life: see process.hpp.
#include "platform/process.hpp"

#include <errno.h>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

#include <type_traits>

namespace dbgalloc::platform {

long read_own_ranges(int pid, void* to, std::size_t bytes, const struct iovec* from, std::size_t count) {
  struct iovec local{to, bytes};
  int saved = errno;
  ssize_t got = process_vm_readv(pid, &local, 1, from, count, 0);
  errno = saved;
  return static_cast<long>(got);
}

void exit_now(int status) { _exit(status); }

bool on_fork(void (*prepare)(), void (*parent)(), void (*child)()) { return pthread_atfork(prepare, parent, child) == 0; }

static_assert(std::is_same_v<pthread_key_t, unsigned>);

bool ThreadExitKey::create(void (*on_exit)(void* value)) { return pthread_key_create(&key_, on_exit) == 0; }

bool ThreadExitKey::set(void* value) const { return pthread_setspecific(key_, value) == 0; }

}  // namespace dbgalloc::platform
