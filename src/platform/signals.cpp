// Signal dispositions and the alternate stack: see signals.hpp.
#include "platform/signals.hpp"

#include <cstring>

namespace dbgalloc::platform {

bool install_signal_handler(int sig, SignalHandler handler, struct sigaction* previous) {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_sigaction = handler;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  return sigaction(sig, &action, previous) == 0;
}

void restore_signal_handler(int sig, const struct sigaction& previous) { sigaction(sig, &previous, nullptr); }

void default_signal_action(int sig) { signal(sig, SIG_DFL); }

void raise_signal(int sig) { raise(sig); }

bool has_alternate_stack() {
  stack_t current;
  return sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0;
}

void set_alternate_stack(void* base, std::size_t bytes) {
  stack_t stack;
  stack.ss_sp = base;
  stack.ss_size = bytes;
  stack.ss_flags = 0;
  sigaltstack(&stack, nullptr);
}

}  // namespace dbgalloc::platform
