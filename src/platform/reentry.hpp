// Marks the calling thread as running dbgalloc's own code (symbolization, reporting),
// so that allocations made meanwhile bypass tracking and never appear in reports.
#pragma once

namespace dbgalloc::platform {

// In the header: read on every allocation call, a call for it would cost as much as the read.
inline constinit thread_local int tls_internal_depth __attribute__((tls_model("initial-exec"))) = 0;
inline int& internal_depth() { return tls_internal_depth; }

class InternalScope {
 public:
  InternalScope() { ++internal_depth(); }
  ~InternalScope() { --internal_depth(); }
  InternalScope(const InternalScope&) = delete;
  InternalScope& operator=(const InternalScope&) = delete;
};

inline bool in_internal_code() { return internal_depth() > 0; }

}  // namespace dbgalloc::platform
