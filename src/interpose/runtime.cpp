#include "interpose/internal_heap.hpp"
#include "interpose/runtime.hpp"

#include <stdio.h>

#include <atomic>

#include "debug/allocator.hpp"
#include "debug/fault_handler.hpp"
#include "heap/arenas.hpp"
#include "interpose/statistics.hpp"
#include "interpose/step_aside.hpp"
#include "leaks/leaks.hpp"
#include "options/options.hpp"
#include "platform/format.hpp"
#include "platform/lock.hpp"
#include "platform/loader.hpp"
#include "platform/platform.hpp"
#include "platform/process.hpp"
#include "report/report.hpp"
#include "stacks/symbolizer.hpp"

namespace dbgalloc::interpose {

namespace {
constinit platform::Lock start_lock;
std::atomic<int> start_owner{0};

void before_fork() {
  report::lock_reports_for_fork();
  stacks::lock_symbolizer_for_fork();
  debug::lock_for_fork();
  internal_heap::lock_for_fork();
}
void after_fork_parent() {
  internal_heap::unlock_after_fork();
  debug::unlock_after_fork();
  stacks::unlock_symbolizer_after_fork();
  report::unlock_reports_after_fork();
}
void after_fork_child() {
  internal_heap::reset_after_fork();
  report::reset_reports_after_fork();
  stacks::reset_symbolizer_after_fork();
  platform::forget_thread_id();
  debug::reset_after_fork();
  debug::note_forked_child();
  leaks::leak_check_note_fork_child();
}
}  // namespace

void start_slow() {
  // A malloc from inside start-up (none is expected) must not wait for itself.
  int self = platform::thread_id();
  if (start_owner.load(std::memory_order_relaxed) == self) return;
  platform::LockGuard guard(start_lock);
  if (started_flag) return;
  start_owner.store(self, std::memory_order_relaxed);

  platform::remember_stderr();
  options::Options parsed;
  platform::StackText<1024> error;
  platform::StackText<512> ignored;
  bool secure = platform::secure_execution();
  if (!options::parse(platform::get_env("DBGALLOC_OPTIONS"), &parsed, error, secure ? &ignored : nullptr)) {
    // Refuse to run on a guess: the user asked for something we cannot do.
    error.flush();
    platform::exit_now(1);
  }
  if (ignored.size() > 0) {
    // Whoever runs a setuid program chooses its environment: no files, no output
    // elsewhere, no exit status of theirs (options.inc's secure column).
    platform::StackText<700> note;
    note.text("dbgalloc: secure execution (setuid/setgid/capabilities): ignored options from DBGALLOC_OPTIONS: ")
        .text(ignored.view()).character('\n');
    platform::write_report(note.data(), note.size());
  }
  options::set_current(parsed);
  heap::arenas().set_count(static_cast<std::size_t>(parsed.arenas));
  debug::configure(parsed);
  if (parsed.verbosity >= 1) {
    platform::StackText<256> note;
    note.text("dbgalloc: guard pages: ").text(debug::guard_mechanism()).text("\n");
    note.flush();
  }

  start_owner.store(0, std::memory_order_relaxed);
  __atomic_store_n(&started_flag, true, __ATOMIC_RELEASE);
}

namespace {
// _exit skips stdio's flush: what the program wrote to any stream (stdout, a file it
// fopen'd) but stdio still holds would be lost. At a normal exit (not inside malloc,
// not in a signal handler) flushing is safe, as exit() itself would: every stream on
// glibc's list, under the list's lock as exit() takes it. fflush(NULL) would also
// wait for each stream's lock, and a stream another thread holds (one blocked reading
// stdin holds its lock) would hang it: such a stream is left as it is.
struct StreamList {
  FILE** all = nullptr;  // glibc's _IO_list_all (its streams, linked by _chain)
  void (*lock)() = nullptr;
  void (*unlock)() = nullptr;
};
StreamList stream_list;

void find_stream_list() {
  stream_list.all = reinterpret_cast<FILE**>(platform::global_definition("_IO_list_all"));
  stream_list.lock = reinterpret_cast<void (*)()>(platform::global_definition("_IO_list_lock"));
  stream_list.unlock = reinterpret_cast<void (*)()>(platform::global_definition("_IO_list_unlock"));
}

void flush_if_free(FILE* stream) {
  if (stream == nullptr || ftrylockfile(stream) != 0) return;
  fflush_unlocked(stream);
  funlockfile(stream);
}

void flush_program_output() {
  if (stream_list.all == nullptr || stream_list.lock == nullptr || stream_list.unlock == nullptr) {
    flush_if_free(stdout);
    flush_if_free(stderr);
    return;
  }
  stream_list.lock();
  for (FILE* stream = *stream_list.all; stream != nullptr; stream = stream->_chain) flush_if_free(stream);
  stream_list.unlock();
}

// dbgalloc-run exports DBGALLOC_RUN_PID, the pid of the program it launched (exec
// keeps it); read at load, as the program may change its environment.
int launched_pid = 0;

void find_launched_program() {
  const char* value = platform::get_env("DBGALLOC_RUN_PID");
  int pid = 0;
  for (; value != nullptr && *value >= '0' && *value <= '9'; ++value) pid = pid * 10 + (*value - '0');
  launched_pid = pid;
}

bool below_launched_program() { return launched_pid > 0 && platform::process_id() != launched_pid; }

__attribute__((constructor(101))) void on_load() {
  if (step_aside_if_tool_present()) return;  // ASan, MSan, TSan or valgrind owns malloc
  ensure_started();
  debug::install_fault_handler();
  // Registered here, not in start_slow(): pthread_atfork and atexit may allocate.
  platform::on_fork(before_fork, after_fork_parent, after_fork_child);
  find_stream_list();
  find_launched_program();
}

__attribute__((destructor(101))) void on_unload() {
  if (stepped_aside()) return;
  // Corruption sweep: every live block's canaries, every quarantined block's fill.
  debug::check_at_exit();
  std::size_t leaks = dbgalloc::leaks::leak_check_at_exit();  // honours detect_leaks
  if (options::current().print_stats) statistics::print();
  // Reports made while carrying on (halt_on_error=0) still fail the run, as do leaks,
  // except a child's leaks under dbgalloc-run when child_leaks_fail=0: a build's
  // compilers and a tool's helpers keep their status (the launched program's counts).
  bool leaks_fail = leaks > 0;
  if (leaks_fail && !options::current().child_leaks_fail && below_launched_program()) {
    leaks_fail = false;
    platform::StackText<256> note;
    note.text("dbgalloc: exit status kept: this process runs below the program dbgalloc-run launched "
              "(child_leaks_fail=1 makes its leaks fail it)\n");
    note.flush();
  }
  if ((report::error_count() > 0 || leaks_fail) && options::current().exitcode != 0) {
    flush_program_output();
    platform::exit_now(static_cast<int>(options::current().exitcode));
  }
}
}  // namespace

}  // namespace dbgalloc::interpose
