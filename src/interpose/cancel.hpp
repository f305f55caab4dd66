// Asynchronous cancellation inside the allocator. A thread that set
// PTHREAD_CANCEL_ASYNCHRONOUS can be cancelled at any instruction; inside malloc that
// unwinds through frames holding locks (and through noexcept frames: std::terminate).
// The interposed pthread_setcanceltype remembers per thread that the program asked for
// asynchronous cancellation; every allocation function (the C ones, every operator new
// and delete) then switches the thread to deferred cancellation for the call and back
// after it, where a cancel that arrived meanwhile acts, with no lock held and no frame
// of ours that cannot be unwound.
#pragma once

#include <pthread.h>

namespace dbgalloc::interpose::cancel {

// Returns what restore needs (-1: nothing was changed). Both are cheap (one TLS read)
// for threads that never asked for asynchronous cancellation.
// Set by the interposed pthread_setcanceltype; in the header so that the common case
// costs no call.
inline constinit thread_local bool tls_async __attribute__((tls_model("initial-exec"))) = false;
int defer_async() noexcept;
void restore_async() noexcept;

inline int defer() noexcept {
  if (__builtin_expect(!tls_async, 1)) return -1;
  return defer_async();
}
inline void restore(int previous) noexcept {
  if (__builtin_expect(previous == PTHREAD_CANCEL_ASYNCHRONOUS, 0)) restore_async();
}

}  // namespace dbgalloc::interpose::cancel
