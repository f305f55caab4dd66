// The frame record of the public entry point (malloc, free, operator new, ...) the
// program called on this thread, so that a stack capture starts its walk at the
// program's call instead of unwinding dbgalloc's own frames first.
//
// An entry point marks its frame with DBGALLOC_ENTRY_CALLER(), which also yields its
// return address (the caller) for the call it passes it to. The mark is a temporary:
// it lives to the end of that full expression, i.e. for the whole call, and then the
// thread's previous mark comes back (a signal handler's call nested in ours). A call
// left by an exception or a cancellation can leave its mark behind, so a capture
// trusts a mark only when it lies above its own frame and holds its caller as the
// return address (stacks::capture_from_caller).
#pragma once

#include <atomic>
#include <cstdint>

namespace dbgalloc::stacks {

inline constinit thread_local std::uintptr_t tls_entry_record __attribute__((tls_model("initial-exec"))) = 0;

class EntryMark {
 public:
  EntryMark(const void* record, const void* caller)
      : saved_(tls_entry_record), caller_(reinterpret_cast<std::uintptr_t>(caller)) {
    tls_entry_record = reinterpret_cast<std::uintptr_t>(record);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  ~EntryMark() {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    tls_entry_record = saved_;
  }
  EntryMark(const EntryMark&) = delete;
  EntryMark& operator=(const EntryMark&) = delete;

  std::uintptr_t caller() const { return caller_; }

 private:
  std::uintptr_t saved_;
  std::uintptr_t caller_;
};

// The current mark (0: none).
inline std::uintptr_t entry_record() { return tls_entry_record; }

}  // namespace dbgalloc::stacks

// In the exported function itself (a macro: both builtins must expand there, and
// __builtin_frame_address makes it keep a frame record { saved rbp, return address }).
#define DBGALLOC_ENTRY_CALLER() \
  (::dbgalloc::stacks::EntryMark(__builtin_frame_address(0), __builtin_return_address(0)).caller())
