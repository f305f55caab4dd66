// The integrity keys (drawn once) and the per-thread record of metadata damage.
#include "heap/integrity.hpp"

#include "heap/heap.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::heap {

namespace integrity {
constinit Keys keys = {};

void init_keys() {
  // 0 unset, 1 being drawn, 2 ready: every thread must tag with the same keys.
  static constinit int state = 0;
  int expected = 0;
  if (__atomic_compare_exchange_n(&state, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    for (std::uint64_t& k : keys.k0) k = platform::random_u64();
    keys.k2 = platform::random_u64() | 1;
    __atomic_store_n(&keys.k1, platform::random_u64() | 1, __ATOMIC_RELEASE);
    __atomic_store_n(&state, 2, __ATOMIC_RELEASE);
    return;
  }
  while (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2) {
  }
}
}  // namespace integrity

namespace detail {
constinit thread_local Fault tls_fault __attribute__((tls_model("initial-exec"))) = {};

bool take_noted_fault(Fault* out) {
  *out = tls_fault;
  tls_fault = Fault{};
  return true;
}
}  // namespace detail

void note_fault(const char* problem, std::uintptr_t address) {
  if (detail::tls_fault.problem == nullptr) detail::tls_fault = Fault{problem, address};
}

}  // namespace dbgalloc::heap
