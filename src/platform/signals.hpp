// Signal dispositions and the alternate signal stack, for the deadly-signal handler.
// Async-signal-safe: each is one system call.
#pragma once

#include <signal.h>

#include <cstddef>

namespace dbgalloc::platform {

using SignalHandler = void (*)(int sig, siginfo_t* info, void* context);

// Installs handler for sig with siginfo, on the alternate stack when the thread has
// one, and without blocking sig while it runs (a fault while reporting one must end
// the process); the disposition it replaces goes to *previous.
bool install_signal_handler(int sig, SignalHandler handler, struct sigaction* previous);
// Puts back a disposition saved by install_signal_handler.
void restore_signal_handler(int sig, const struct sigaction& previous);
// The default action for sig (SIG_DFL).
void default_signal_action(int sig);
// Sends sig to the calling thread.
void raise_signal(int sig);

// Whether the calling thread has an alternate signal stack in use.
bool has_alternate_stack();
// Makes [base, base + bytes) the calling thread's alternate signal stack.
void set_alternate_stack(void* base, std::size_t bytes);

}  // namespace dbgalloc::platform
