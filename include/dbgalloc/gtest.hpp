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
// The listener's own checks never end the process. A report made inside malloc/free
// during the test (an overflow found at free, a double free) still does under
// halt_on_error=1, the default: run the tests with halt_on_error=0 to have such a bug
// fail only its test.
#pragma once

#include <gtest/gtest.h>
#include <stdio.h>
#include <unistd.h>

#include <string>

#include "dbgalloc/dbgalloc.h"

#ifdef DBGALLOC_GTEST_OPTIONAL
extern "C" {
#pragma weak dbgalloc_check_heap
#pragma weak dbgalloc_leak_check
#pragma weak dbgalloc_ignore_existing_blocks
#pragma weak dbgalloc_set_report_fd
#pragma weak dbgalloc_set_halt_on_error
}
#endif

namespace dbgalloc::gtest {

// True when a dbgalloc with the per-test API is loaded (linked or preloaded).
inline bool available() {
#ifdef DBGALLOC_GTEST_OPTIONAL
  return &dbgalloc_check_heap != nullptr && &dbgalloc_leak_check != nullptr &&
         &dbgalloc_ignore_existing_blocks != nullptr && &dbgalloc_set_report_fd != nullptr && &dbgalloc_set_halt_on_error != nullptr;
#else
  return true;
#endif
}

class Listener : public ::testing::EmptyTestEventListener {
 public:
  // check_leaks = false: heap checks only.
  explicit Listener(bool check_leaks = true) : check_leaks_(check_leaks) {}

  void OnTestStart(const ::testing::TestInfo&) override {
    if (available()) dbgalloc_ignore_existing_blocks();
  }

  void OnTestEnd(const ::testing::TestInfo& test) override {
    if (!available()) return;
    scrub_dead_stack();
    Findings found = run_checks(check_leaks_);
    // The failure points at the TEST() that leaked, not at this header.
    if (found.heap_broken != 0) {
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

  bool check_leaks_;
};

// Appends a Listener to GoogleTest's listeners (call after InitGoogleTest).
inline void install(bool check_leaks = true) {
  ::testing::UnitTest::GetInstance()->listeners().Append(new Listener(check_leaks));
}

}  // namespace dbgalloc::gtest
