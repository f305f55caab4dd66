// Asynchronous cancellation inside the allocator. A thread that set
// PTHREAD_CANCEL_ASYNCHRONOUS can be cancelled at any instruction; inside malloc that
// unwinds through frames holding locks (and through noexcept frames: std::terminate).
// The interposed pthread_setcanceltype remembers per thread that the program asked for
// asynchronous cancellation; every allocation function (the C ones, every operator new
// and delete) then switches the thread to deferred cancellation for the call and back
// after it, where a cancel that arrived meanwhile acts, with no lock held and no frame
// of ours that cannot be unwound.
#pragma once

namespace dbgalloc::interpose::cancel {

// Returns what restore needs (-1: nothing was changed). Both are cheap (one TLS read)
// for threads that never asked for asynchronous cancellation.
int defer() noexcept;
void restore(int previous) noexcept;

}  // namespace dbgalloc::interpose::cancel
