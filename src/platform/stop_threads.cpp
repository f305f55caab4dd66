// Stopping the other threads with a signal (see stop_threads.hpp).
#include "platform/stop_threads.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <climits>

#include "platform/platform.hpp"

namespace dbgalloc::platform {

namespace {

// Shared with the handler. One stop at a time (the leak check is serialised).
std::atomic<int> stopping{0};
std::atomic<std::uint32_t> generation{0};  // futex word the stopped threads wait on
std::atomic<int> inside{0};                // threads running the handler
std::atomic<std::size_t> claimed{0};
StoppedThread* volatile shared_slots = nullptr;
std::size_t shared_capacity = 0;
int shared_pid = 0;
std::atomic<int> stop_signal{0};

#if defined(__x86_64__)
constexpr std::uintptr_t kRedZone = 128;  // leaf functions keep data below the stack pointer
#else
constexpr std::uintptr_t kRedZone = 0;
#endif

void save_registers(StoppedThread& slot, const ucontext_t* context) {
  std::size_t n = 0;
#if defined(__x86_64__)
  for (int r = REG_R8; r <= REG_RIP; ++r) slot.registers[n++] = static_cast<std::uintptr_t>(context->uc_mcontext.gregs[r]);
  slot.sp = static_cast<std::uintptr_t>(context->uc_mcontext.gregs[REG_RSP]);
  if (const auto* fp = context->uc_mcontext.fpregs) {
    // Vector registers: copies of pointer pairs travel through them.
    for (const auto& xmm : fp->_xmm) {
      if (n + 2 > StoppedThread::kMaxRegisters) break;
      slot.registers[n++] = xmm.element[0] | (static_cast<std::uintptr_t>(xmm.element[1]) << 32);
      slot.registers[n++] = xmm.element[2] | (static_cast<std::uintptr_t>(xmm.element[3]) << 32);
    }
  }
#elif defined(__aarch64__)
  for (int r = 0; r < 31; ++r) slot.registers[n++] = context->uc_mcontext.regs[r];
  slot.registers[n++] = context->uc_mcontext.pc;
  slot.sp = context->uc_mcontext.sp;
#else
  slot.sp = 0;
#endif
  slot.sp = slot.sp > kRedZone ? slot.sp - kRedZone : 0;
  slot.register_count = n;
}

long futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t value) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op | FUTEX_PRIVATE_FLAG, value, nullptr, nullptr, 0);
}

void on_stop_signal(int, siginfo_t* info, void* context) {
  int saved_errno = errno;
  inside.fetch_add(1);
  std::uint32_t seen = generation.load();
  if (stopping.load() == 0 || info->si_code != SI_TKILL || info->si_pid != shared_pid) {
    inside.fetch_sub(1);
    errno = saved_errno;
    return;
  }
  std::size_t index = claimed.fetch_add(1);
  if (index < shared_capacity) {
    StoppedThread& slot = shared_slots[index];
    slot.tid = static_cast<int>(syscall(SYS_gettid));
    save_registers(slot, static_cast<const ucontext_t*>(context));
    __atomic_store_n(&slot.ready, 1, __ATOMIC_RELEASE);
    while (generation.load() == seen) futex(&generation, FUTEX_WAIT, seen);
  }
  inside.fetch_sub(1);
  errno = saved_errno;
}

bool ours(int signal_number) {
  struct sigaction current {};
  if (sigaction(signal_number, nullptr, &current) != 0) return false;
  return (current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == on_stop_signal;
}

// The highest real-time signal the program left alone, our handler installed on it.
int choose_signal() {
  int chosen = stop_signal.load();
  if (chosen != 0 && ours(chosen)) return chosen;
  for (int candidate = SIGRTMAX; candidate > SIGRTMIN; --candidate) {
    struct sigaction current {};
    if (sigaction(candidate, nullptr, &current) != 0) continue;
    if ((current.sa_flags & SA_SIGINFO) != 0 || current.sa_handler != SIG_DFL) continue;
    struct sigaction action {};
    action.sa_sigaction = on_stop_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigfillset(&action.sa_mask);
    if (sigaction(candidate, &action, nullptr) != 0) continue;
    stop_signal.store(candidate);
    return candidate;
  }
  return 0;
}

template <typename Visit>
bool for_each_task(Visit&& visit) {
  return for_each_thread_id([](int tid, void* context) { (*static_cast<Visit*>(context))(tid); }, &visit);
}

struct TaskStatus {
  char state = '?';             // R, S, D, T, t, Z, X; '?' gone
  std::uint64_t blocked = 0;    // SigBlk
};

std::uint64_t hex_after(const char* text, std::size_t length, const char* label) {
  std::size_t label_length = 0;
  while (label[label_length] != '\0') ++label_length;
  for (std::size_t i = 0; i + label_length <= length; ++i) {
    if ((i == 0 || text[i - 1] == '\n') && __builtin_memcmp(text + i, label, label_length) == 0) {
      std::uint64_t value = 0;
      for (std::size_t j = i + label_length; j < length; ++j) {
        char c = text[j];
        if (c == '\t' || c == ' ') continue;
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0) break;
        value = value * 16 + static_cast<std::uint64_t>(digit);
      }
      return value;
    }
  }
  return 0;
}

TaskStatus task_status(int tid) {
  TaskStatus status;
  char path[64] = "/proc/self/task/";
  std::size_t at = 16;
  char digits[16];
  std::size_t count = 0;
  for (unsigned value = static_cast<unsigned>(tid); value != 0 || count == 0; value /= 10) digits[count++] = static_cast<char>('0' + value % 10);
  while (count > 0) path[at++] = digits[--count];
  const char suffix[] = "/status";
  for (char c : suffix) path[at++] = c;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return status;
  char text[4096];
  std::size_t used = 0;
  for (;;) {
    ssize_t n = read(fd, text + used, sizeof text - used);
    if (n <= 0) break;
    used += static_cast<std::size_t>(n);
    if (used == sizeof text) break;
  }
  close(fd);
  for (std::size_t i = 0; i + 7 < used; ++i) {
    if ((i == 0 || text[i - 1] == '\n') && __builtin_memcmp(text + i, "State:", 6) == 0) {
      for (std::size_t j = i + 6; j < used; ++j) {
        if (text[j] != '\t' && text[j] != ' ') {
          status.state = text[j];
          break;
        }
      }
      break;
    }
  }
  status.blocked = hex_after(text, used, "SigBlk:");
  return status;
}

// Whether the thread can answer the signal now (else the caller treats it as missed).
bool can_answer(const TaskStatus& status, int signal_number) {
  if (status.state == 'T' || status.state == 't') return false;  // debugger or job control
  return (status.blocked & (std::uint64_t{1} << (signal_number - 1))) == 0;
}

bool gone(const TaskStatus& status) { return status.state == '?' || status.state == 'Z' || status.state == 'X'; }

void pause_briefly() {
  timespec delay{0, 200 * 1000};
  nanosleep(&delay, nullptr);
}

}  // namespace

bool for_each_thread_id(void (*visit)(int tid, void* context), void* context) {
  return for_each_number_in("/proc/self/task", visit, context);
}

int ThreadStop::signal_number() const { return stop_signal.load(); }

bool ThreadStop::reserve(std::size_t threads) {
  capacity_ = threads;
  std::size_t bytes = threads * (sizeof(StoppedThread) + 2 * sizeof(int));
  std::size_t page = page_size();
  bytes = (bytes + page - 1) & ~(page - 1);
  memory_ = map(bytes);
  if (memory_ == nullptr) return false;
  memory_bytes_ = bytes;
  slots_ = static_cast<StoppedThread*>(memory_);
  signalled_ = reinterpret_cast<int*>(slots_ + threads);
  missed_ = signalled_ + threads;
  return true;
}

void ThreadStop::release() {
  if (memory_ != nullptr) unmap(memory_, memory_bytes_);
  memory_ = nullptr;
  slots_ = nullptr;
  capacity_ = 0;
}

bool ThreadStop::known(int tid) const {
  for (std::size_t i = 0; i < signalled_count_; ++i) if (signalled_[i] == tid || signalled_[i] == -tid) return true;
  for (std::size_t i = 0; i < missed_count_; ++i) if (missed_[i] == tid) return true;
  return false;
}

bool ThreadStop::answered(int tid) const {
  std::size_t n = claimed.load();
  if (n > capacity_) n = capacity_;
  for (std::size_t i = 0; i < n; ++i) {
    if (__atomic_load_n(&slots_[i].ready, __ATOMIC_ACQUIRE) != 0 && slots_[i].tid == tid) return true;
  }
  return false;
}

std::size_t ThreadStop::ready_count() const {
  std::size_t n = claimed.load(), ready = 0;
  if (n > capacity_) n = capacity_;
  for (std::size_t i = 0; i < n; ++i) ready += __atomic_load_n(&slots_[i].ready, __ATOMIC_ACQUIRE) != 0;
  return ready;
}

bool ThreadStop::signal_new_threads(int self, int signal_number) {
  bool fresh = false;
  for_each_task([&](int tid) {
    if (tid == self || known(tid)) return;
    TaskStatus status = task_status(tid);
    if (gone(status)) return;
    if (!can_answer(status, signal_number) || signalled_count_ + missed_count_ >= capacity_) {
      if (missed_count_ < capacity_) missed_[missed_count_++] = tid;
      return;
    }
    if (syscall(SYS_tgkill, shared_pid, tid, signal_number) != 0) return;
    signalled_[signalled_count_++] = tid;
    fresh = true;
  });
  return fresh;
}

void ThreadStop::wait_for_answers(int signal_number, std::size_t* dropped) {
  // Look at the silent ones now and then.
  for (int wait = 0; ready_count() + *dropped < signalled_count_; ++wait) {
    pause_briefly();
    if (wait % 250 != 249) continue;  // every ~50 ms
    bool give_up = wait >= 25000;     // ~5 s
    for (std::size_t i = 0; i < signalled_count_; ++i) {
      int tid = signalled_[i];
      if (tid <= 0 || answered(tid)) continue;
      TaskStatus status = task_status(tid);
      if (gone(status)) {
        signalled_[i] = -tid;  // stays known, never counted
        ++*dropped;
      } else if (give_up || !can_answer(status, signal_number)) {
        signalled_[i] = -tid;
        ++*dropped;
        if (missed_count_ < capacity_) missed_[missed_count_++] = tid;
      }
    }
  }
}

bool ThreadStop::stop_others() {
  const int self = thread_id();
  const int signal_number = choose_signal();
  if (signal_number == 0) return false;
  std::size_t tasks = 0;
  if (!for_each_task([&](int) { ++tasks; })) return false;
  if (!reserve(tasks * 2 + 64)) return false;
  shared_pid = process_id();
  shared_slots = slots_;
  shared_capacity = capacity_;
  claimed.store(0);
  stopping.store(1);
  active_ = true;
  // New threads may appear until their creators are stopped: list again until none do.
  std::size_t dropped = 0;  // signalled threads that exited before answering
  for (int round = 0; round < 100; ++round) {
    if (!signal_new_threads(self, signal_number)) break;
    wait_for_answers(signal_number, &dropped);
  }
  std::size_t n = claimed.load();
  stopped_ = n > capacity_ ? capacity_ : n;
  return true;
}

void ThreadStop::resume() {
  if (active_) {
    stopping.store(0);
    generation.fetch_add(1);
    futex(&generation, FUTEX_WAKE, INT_MAX);
    // The slots are unmapped below: wait until no handler can still write one.
    while (inside.load() != 0) pause_briefly();
    active_ = false;
  }
  release();
  stopped_ = signalled_count_ = missed_count_ = 0;
}

}  // namespace dbgalloc::platform
