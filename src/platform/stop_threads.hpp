// Stopping every other thread of the process for the leak check, so that what their
// stacks and registers hold cannot change under the scan (the way LeakSanitizer's
// StopTheWorld does it with ptrace; a signal works without ptrace rights and when a
// debugger is attached).
//
// Each thread gets a real-time signal (the highest one without a handler when first
// needed; the handler stays installed, so a late delivery is harmless). The handler
// saves the interrupted registers and stack pointer into a slot, says so, and waits on a
// futex until resume(). Threads that block the signal, are stopped by a debugger or
// job control, or do not answer in time are listed as not stopped; the caller falls
// back to what /proc tells of them.
//
// Like any signal, the stop makes a call that a handler interrupts (nanosleep, poll,
// epoll_wait, a timed futex) return EINTR in the thread it stops.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::platform {

struct StoppedThread {
  static constexpr std::size_t kMaxRegisters = 64;
  int tid;
  int ready;                   // set by the thread once its registers are saved
  std::uintptr_t sp;           // the interrupted stack pointer
  std::size_t register_count;  // general registers, then vector registers as words
  std::uintptr_t registers[kMaxRegisters];
};

// Calls visit for every thread of the process (/proc/self/task); false without /proc.
// Allocates nothing and takes no lock.
bool for_each_thread_id(void (*visit)(int tid, void* context), void* context);

class ThreadStop {
 public:
  // Stops every thread but the caller. False when nothing could be stopped (no /proc,
  // no free signal, no memory); the threads then keep running.
  bool stop_others();
  // Lets the stopped threads go on. Safe to call when stop_others failed.
  void resume();

  std::size_t stopped_count() const { return stopped_; }
  const StoppedThread& stopped(std::size_t i) const { return slots_[i]; }
  // Threads seen but not stopped (signal blocked, stopped by a debugger, gone silent).
  std::size_t missed_count() const { return missed_count_; }
  int missed(std::size_t i) const { return missed_[i]; }
  int signal_number() const;
  // The memory holding the slots (so a scan can leave it out).
  std::uintptr_t memory_begin() const { return reinterpret_cast<std::uintptr_t>(memory_); }
  std::uintptr_t memory_end() const { return memory_begin() + memory_bytes_; }

 private:
  bool reserve(std::size_t threads);
  void release();
  // Whether tid was signalled or missed already.
  bool known(int tid) const;
  // Whether tid's handler has saved its registers.
  bool answered(int tid) const;
  std::size_t ready_count() const;
  // Signals every thread of /proc/self/task not known yet that can answer (lists the
  // others as missed); whether any was.
  bool signal_new_threads(int self, int signal_number);
  // Waits until every signalled thread answered, exited (counted in *dropped) or, silent
  // for ~5 s or unable to answer now, is missed.
  void wait_for_answers(int signal_number, std::size_t* dropped);

  void* memory_ = nullptr;
  std::size_t memory_bytes_ = 0;
  StoppedThread* slots_ = nullptr;
  int* signalled_ = nullptr;
  int* missed_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t signalled_count_ = 0;
  std::size_t missed_count_ = 0;
  std::size_t stopped_ = 0;
  bool active_ = false;
};

}  // namespace dbgalloc::platform
