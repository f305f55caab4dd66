// Where each thread came from: the thread that created it and the stack of that
// pthread_create call, recorded by the pthread_create wrapper (interpose/threads.cpp),
// so reports can say "Thread T12 created by T10 here:" as ASan does.
//
// A fixed table indexed by thread id (no allocation, no lock): a thread registers from
// its own start routine; an id the OS reuses overwrites the old entry, and two live
// threads whose ids collide in the table leave only the later one known. A torn read
// is detected and reads as unknown.
#pragma once

#include "stacks/stacks.hpp"

namespace dbgalloc::stacks {

struct ThreadOrigin {
  int parent;        // the creating thread's id
  StackId creation;  // the pthread_create call's stack (kNoStack when none was recorded)
};

void record_thread_origin(int thread, const ThreadOrigin& origin);

// False when `thread` was not created through the wrapper (the main thread, threads
// started before dbgalloc was loaded) or its entry was overwritten.
bool thread_origin(int thread, ThreadOrigin* out);

}  // namespace dbgalloc::stacks
