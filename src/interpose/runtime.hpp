// Start-up and shut-down of the runtime. malloc may be called before any constructor
// of ours has run (by ld.so or other libraries' initialisers), so every entry point
// calls ensure_started(); it is cheap once started and never allocates.
#pragma once

#define DBGALLOC_EXPORT extern "C" __attribute__((visibility("default")))

namespace dbgalloc::interpose {

void start_slow();

inline bool started_flag = false;

inline void ensure_started() {
  if (__builtin_expect(!started_flag, 0)) start_slow();
}

}  // namespace dbgalloc::interpose
