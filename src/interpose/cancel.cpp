#include "interpose/cancel.hpp"

#include <errno.h>
#include <pthread.h>

#include "interpose/runtime.hpp"
#include "platform/loader.hpp"

namespace dbgalloc::interpose::cancel {

namespace {
// noexcept in its type: a call through it opens no exception region, so the forced
// unwind of a cancellation passes through restore() and the exported function.
using SetCancelType = int (*)(int, int*) noexcept;
SetCancelType real_setcanceltype = nullptr;
}  // namespace

int defer_async() noexcept {
  if (real_setcanceltype == nullptr) return -1;
  int previous = PTHREAD_CANCEL_DEFERRED;
  real_setcanceltype(PTHREAD_CANCEL_DEFERRED, &previous);
  return previous;
}

void restore_async() noexcept {
  // A cancel requested meanwhile acts here (glibc acts on it when the type becomes
  // asynchronous again).
  real_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, nullptr);
}

}  // namespace dbgalloc::interpose::cancel

DBGALLOC_EXPORT int pthread_setcanceltype(int type, int* previous) noexcept {
  using dbgalloc::interpose::cancel::real_setcanceltype;
  if (real_setcanceltype == nullptr) {
    real_setcanceltype = reinterpret_cast<dbgalloc::interpose::cancel::SetCancelType>(
        dbgalloc::platform::next_definition("pthread_setcanceltype"));
    if (real_setcanceltype == nullptr) return EINVAL;
  }
  int result = real_setcanceltype(type, previous);
  if (result == 0) dbgalloc::interpose::cancel::tls_async = type == PTHREAD_CANCEL_ASYNCHRONOUS;
  return result;
}
