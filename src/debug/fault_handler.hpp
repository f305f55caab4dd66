// The deadly-signal handler (fault_handler.cpp): guard-page faults classified against
// the guard blocks become heap reports, other faults ASan-style signal reports.
#pragma once

namespace dbgalloc::debug {

// Installs the SIGSEGV/SIGBUS handler that turns guard-page faults into reports, and
// (handle_segv, handle_sigbus, handle_sigfpe, handle_sigill) other deadly signals too.
// Call after the options are set.
void install_fault_handler();
// Gives the calling thread an alternate signal stack (once per thread).
void ensure_alternate_stack();

}  // namespace dbgalloc::debug
