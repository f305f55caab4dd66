// The process's life: reading its own memory without faulting, its end, and the hooks
// the system calls at fork and at thread exit.
#pragma once

#include <cstddef>

struct iovec;

namespace dbgalloc::platform {

// One process_vm_readv from this process into itself: the `count` ranges of `from`, back
// to back into [to, to + bytes). `pid` is process_id(), which a caller reading often
// keeps (it is a system call). The bytes copied (it stops at an unmapped page), or -1
// when the kernel refuses the call. errno is kept. Signal-safe.
long read_own_ranges(int pid, void* to, std::size_t bytes, const struct iovec* from, std::size_t count);

// _exit: ends the process now, with no atexit handler or stdio flush.
[[noreturn]] void exit_now(int status);

// pthread_atfork: prepare runs before fork, parent and child after it in each process.
bool on_fork(void (*prepare)(), void (*parent)(), void (*child)());

// A pthread key used as a thread-exit hook: on_exit(value) runs when a thread that set a
// value exits (before its TLS is gone).
class ThreadExitKey {
 public:
  // False when the system has no key left.
  bool create(void (*on_exit)(void* value));
  // glibc allocates the key table's second level for keys past the first 32: call it in
  // an InternalScope. Clearing (nullptr) never allocates.
  bool set(void* value) const;

 private:
  unsigned key_ = 0;
};

}  // namespace dbgalloc::platform
