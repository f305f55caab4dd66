// dbgalloc GoogleTest listener: a heap check and a leak check scoped to each test.
//
//   #include <dbgalloc/gtest.hpp>
//   int main(int argc, char** argv) {
//     testing::InitGoogleTest(&argc, argv);
//     dbgalloc::gtest::install();          // or: Append(new dbgalloc::gtest::Listener)
//     return RUN_ALL_TESTS();
//   }
//
// As each test starts, every block live at that moment is marked as not a leak (so
// nothing allocated before the test, by gtest, by static constructors or by earlier
// tests, is blamed on it). As it ends, dbgalloc_check_heap() verifies every canary and
// quarantined block, and dbgalloc_leak_check() looks for blocks the test allocated
// and lost; either finding fails THAT test, with dbgalloc's report as the message.
//
// Link the test binary with dbgalloc: dependency('dbgalloc') in Meson,
// find_package(dbgalloc) + dbgalloc::dbgalloc in CMake, or
// `pkg-config --static --libs dbgalloc-static` / `pkg-config --libs dbgalloc`.
// To build the same binary with or without dbgalloc (e.g. run it under dbgalloc-run
// only sometimes), define DBGALLOC_GTEST_OPTIONAL before including this header: the
// API becomes weak references and the listener does nothing when no dbgalloc is
// loaded. (Weak references do not pull members out of a static archive: with
// libdbgalloc.a, link it whole, as all three recipes above do.)
//
// A report dbgalloc makes while a test runs (an overflow found at free, a double free,
// an invalid free) fails that test too, by name, in the console and in the XML, and
// the run goes on: while each test runs the listener sets halt_on_error=0, and puts
// the program's setting back in a child the test forks (a death test that expects a
// report to end the process still sees it end) and in gtest's re-executed death-test
// children. The report itself goes where reports go (stderr) as it is made. The
// listener's own checks never end the process.
#pragma once

#include <gtest/gtest.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "dbgalloc/dbgalloc.h"

#ifdef DBGALLOC_GTEST_OPTIONAL
extern "C" {
#pragma weak dbgalloc_check_heap
#pragma weak dbgalloc_leak_check
#pragma weak dbgalloc_ignore_existing_blocks
#pragma weak dbgalloc_set_report_fd
#pragma weak dbgalloc_set_halt_on_error
#pragma weak dbgalloc_get_stats
}
#endif

namespace dbgalloc::gtest {

// True when a dbgalloc with the per-test API is loaded (linked or preloaded).
inline bool available() {
#ifdef DBGALLOC_GTEST_OPTIONAL
  return &dbgalloc_check_heap != nullptr && &dbgalloc_leak_check != nullptr &&
         &dbgalloc_ignore_existing_blocks != nullptr && &dbgalloc_set_report_fd != nullptr && &dbgalloc_set_halt_on_error != nullptr &&
         &dbgalloc_get_stats != nullptr;
#else
  return true;
#endif
}

class Listener : public ::testing::EmptyTestEventListener {
 public:
  // check_leaks = false: heap checks only.
  explicit Listener(bool check_leaks = true) : check_leaks_(check_leaks) {}

  void OnTestStart(const ::testing::TestInfo&) override {
    if (!available()) return;
    dbgalloc_ignore_existing_blocks();
    errors_before_ = error_count();
    if (in_death_test_child()) return;  // the death test expects the program's setting
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, [] { pthread_atfork(nullptr, nullptr, restore_halt_in_child); });
    program_halt() = dbgalloc_set_halt_on_error(0);
    inside_test() = true;
  }

  void OnTestEnd(const ::testing::TestInfo& test) override {
    if (!available()) return;
    size_t reported = error_count() - errors_before_;
    if (inside_test()) {
      inside_test() = false;
      dbgalloc_set_halt_on_error(program_halt());
    }
    scrub_dead_stack();
    Findings found = run_checks(check_leaks_);
    // The failure points at the TEST() that leaked, not at this header.
    if (reported != 0) {
      ADD_FAILURE_AT(test.file(), test.line())
          << "dbgalloc: " << reported << " error report(s) while this test ran (on stderr, above)"
          << (found.heap_broken != 0 || found.leaked != 0 ? "; then its checks:\n" + found.report : std::string());
    } else if (found.heap_broken != 0) {
      ADD_FAILURE_AT(test.file(), test.line()) << "dbgalloc: the heap check failed after this test:\n"
                                               << found.report;
    } else if (found.leaked != 0) {
      ADD_FAILURE_AT(test.file(), test.line()) << "dbgalloc: this test leaked " << found.leaked << " block(s):\n"
                                               << found.report;
    }
    // Whatever the checks allocated (the report's text) is not this test's.
    dbgalloc_ignore_existing_blocks();
  }

 private:
  struct Findings {
    int heap_broken = 0;
    size_t leaked = 0;
    std::string report;
  };

  // The leak scan reads every live stack frame conservatively: stale copies of the
  // test's pointers, left below this frame by the test's own calls, must not make its
  // lost blocks look reachable from the frames the checks are about to use.
  __attribute__((noinline)) static void scrub_dead_stack() {
    volatile char scratch[32768];
    for (size_t i = 0; i < sizeof scratch; i += 8) scratch[i] = 0;
    for (size_t i = 0; i < sizeof scratch; ++i) scratch[i] = 0;
  }

  // Reports go to a temporary file while the checks run, then become the failure's
  // message (a pipe could fill up and block the report). Reports made here never end
  // the process, whatever halt_on_error says.
  __attribute__((noinline)) static Findings run_checks(bool check_leaks) {
    Findings found;
    FILE* capture = tmpfile();
    int previous = capture != nullptr ? dbgalloc_set_report_fd(fileno(capture)) : -1;
    int halt = dbgalloc_set_halt_on_error(0);
    found.heap_broken = dbgalloc_check_heap();
    found.leaked = check_leaks ? dbgalloc_leak_check() : 0;
    dbgalloc_set_halt_on_error(halt);
    if (capture != nullptr) {
      dbgalloc_set_report_fd(previous);
      rewind(capture);
      char buffer[4096];
      size_t n;
      while ((n = fread(buffer, 1, sizeof buffer, capture)) > 0) found.report.append(buffer, n);
      fclose(capture);
    }
    return found;
  }

  static size_t error_count() {
    dbgalloc_stats stats{};
    dbgalloc_get_stats(&stats);
    return stats.errors;
  }

  // halt_on_error as the program set it, while a test runs with it off.
  static int& program_halt() {
    static int halt = 1;
    return halt;
  }
  static bool& inside_test() {
    static bool inside = false;
    return inside;
  }
  // A child forked while a test ran (a death test, "fast" style) halts as the program said.
  static void restore_halt_in_child() {
    if (inside_test()) dbgalloc_set_halt_on_error(program_halt());
  }
  // gtest's "threadsafe" death tests re-execute the binary with this flag.
  static bool in_death_test_child() {
    FILE* cmdline = fopen("/proc/self/cmdline", "r");
    if (cmdline == nullptr) return false;
    char buffer[4096];
    size_t n = fread(buffer, 1, sizeof buffer - 1, cmdline);
    fclose(cmdline);
    buffer[n] = '\0';
    const char flag[] = "--gtest_internal_run_death_test";
    for (size_t at = 0; at < n; at += strlen(buffer + at) + 1) {
      if (strncmp(buffer + at, flag, sizeof flag - 1) == 0) return true;
    }
    return false;
  }

  bool check_leaks_;
  size_t errors_before_ = 0;
};

// Appends a Listener to GoogleTest's listeners (call after InitGoogleTest).
inline void install(bool check_leaks = true) {
  ::testing::UnitTest::GetInstance()->listeners().Append(new Listener(check_leaks));
}

}  // namespace dbgalloc::gtest
