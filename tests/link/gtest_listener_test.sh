#!/usr/bin/env bash
# gtest_listener_test.sh CASES: runs the listener's test cases one filter at a time.
# A clean test and a test that keeps its block reachable pass; a test that leaks fails
# with the leak report naming its allocating function; a test that overflows a live
# block fails at the heap check; a block lost before the tests is blamed on none; a
# report made inside free during a test fails that test and the run goes on; death
# tests still see a report end the child.
set -uo pipefail
cases=${1:?usage: gtest_listener_test.sh GTEST_LISTENER_CASES}
export GTEST_COLOR=no
unset DBGALLOC_OPTIONS LD_PRELOAD
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbgalloc-listener.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
check() {  # check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok: $1"; else printf 'FAIL: %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"; failed=1; fi
}
contains() {  # contains DESCRIPTION FILE PATTERN
  if grep -q -- "$3" "$2"; then echo "ok: $1"; else printf 'FAIL: %s: no "%s" in:\n' "$1" "$3"; sed 's/^/  | /' "$2"; failed=1; fi
}
lacks() {  # lacks DESCRIPTION FILE PATTERN
  if ! grep -q -- "$3" "$2"; then echo "ok: $1"; else printf 'FAIL: %s: "%s" in:\n' "$1" "$3"; sed 's/^/  | /' "$2"; failed=1; fi
}

"$cases" --gtest_filter='Listener.clean_test_passes:Listener.reachable_blocks_are_not_leaks' >"$tmp/out" 2>&1
check "clean tests pass (and the block lost before the tests is not reported at exit)" 0 $?
contains "both ran" "$tmp/out" '\[  PASSED  \] 2 tests'
lacks "the block lost before the tests is blamed on no test" "$tmp/out" 'leak_before_the_tests'

"$cases" --gtest_filter='Listener.leaking_test_fails' >"$tmp/out" 2>&1
check "a leaking test fails the run" 1 $?
contains "the leaking test is the failed one" "$tmp/out" '\[  FAILED  \] Listener.leaking_test_fails'
contains "the failure says it leaked" "$tmp/out" 'dbgalloc: this test leaked 1 block(s)'
contains "the failure carries the leak report with the allocating function" "$tmp/out" 'leak_forty_bytes_in_a_test'
lacks "the block lost before the tests is not in it" "$tmp/out" 'leak_before_the_tests'

"$cases" --gtest_filter='Listener.leaking_test_fails:Listener.clean_test_passes' >"$tmp/out" 2>&1
contains "a clean test next to a leaking one still passes" "$tmp/out" '\[       OK \] Listener.clean_test_passes'
contains "... and only the leaking one fails" "$tmp/out" '1 FAILED TEST'

"$cases" --gtest_filter='Listener.overflow_of_a_live_block_fails_at_the_heap_check' >"$tmp/out" 2>&1
status=$?
# gtest's 1, or dbgalloc's exitcode: the exit-time sweep finds the canary again.
check "an overflow of a live block fails the run" yes "$([ "$status" = 1 ] || [ "$status" = 23 ] && echo yes || echo "no ($status)")"
contains "the overflowing test is the failed one" "$tmp/out" '\[  FAILED  \] Listener.overflow_of_a_live_block_fails_at_the_heap_check'

contains "the failure is the heap check's" "$tmp/out" 'dbgalloc: the heap check failed after this test'
contains "with the overflow report" "$tmp/out" 'ERROR: dbgalloc: heap-buffer-overflow'
# The check ran inside the listener: SUMMARY and DEDUP_TOKEN name the test's own code
# (where the block was allocated), never the listener.
contains "the summary names the test's allocating line" "$tmp/out" \
  'SUMMARY: dbgalloc: heap-buffer-overflow [^ ]*gtest_listener_cases.cpp:[0-9]* in .*overflow_of_a_live_block'
contains "so does the dedup token" "$tmp/out" 'DEDUP_TOKEN: heap-buffer-overflow--.*overflow_of_a_live_block'
lacks "the listener is blamed nowhere" "$tmp/out" '^\(SUMMARY\|DEDUP_TOKEN\):.*\(gtest.hpp\|dbgalloc::gtest\)'
# Reports made inside free while a test runs, under the default halt_on_error=1 and
# under 0: each fails its own test (console and XML), and the run goes on.
for options in "" "halt_on_error=0"; do
  DBGALLOC_OPTIONS=$options "$cases" \
    --gtest_filter='Listener.overflow_found_at_free_fails_its_test:Listener.double_free_fails_its_test:Listener.a_test_after_failing_ones_runs_and_passes' \
    --gtest_output="xml:$tmp/out.xml" >"$tmp/out" 2>&1
  status=$?
  check "[$options] a report during a test fails the run (dbgalloc's exitcode)" 23 $status
  contains "[$options] the overflow found at free fails its test" "$tmp/out" '\[  FAILED  \] Listener.overflow_found_at_free_fails_its_test'
  contains "[$options] the double free fails its test" "$tmp/out" '\[  FAILED  \] Listener.double_free_fails_its_test'
  contains "[$options] the failure says a report was made" "$tmp/out" 'dbgalloc: 1 error report(s) while this test ran'
  contains "[$options] the report itself is on stderr" "$tmp/out" 'ERROR: dbgalloc: double-free on address'
  contains "[$options] the next test runs and passes" "$tmp/out" '\[       OK \] Listener.a_test_after_failing_ones_runs_and_passes'
  contains "[$options] the summary is printed" "$tmp/out" '2 FAILED TESTS'
  contains "[$options] the XML counts both failures" "$tmp/out.xml" 'tests="3" failures="2"'
  contains "[$options] the XML names the failed test" "$tmp/out.xml" 'testcase name="double_free_fails_its_test".*result="completed"'
done

# Death tests still see a report end the child (fast and threadsafe styles).
"$cases" --gtest_filter='Listener.*death_test_still_dies_of_a_report' >"$tmp/out" 2>&1
check "death tests expecting a report pass" 0 $?
contains "both ran" "$tmp/out" '\[  PASSED  \] 2 tests'
exit $failed
