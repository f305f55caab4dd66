#!/usr/bin/env bash
# dbgalloc_run_test.sh DBGALLOC_RUN LIB STATIC_PROGRAM BUG_CASES SARIF_CHECK OPTIONS_TSV
# Checks tools/dbgalloc-run: flags become DBGALLOC_OPTIONS entries, LD_PRELOAD gets the
# absolute library path in front (children inherit it), the exit status is the
# program's or dbgalloc's exitcode, unknown options are refused before the program
# runs, static programs are refused, --help lists the options table, --pinpoint turns
# a canary report into a report at the faulting instruction, --sarif writes a SARIF
# log (checked by SARIF_CHECK, tests/integration/sarif_check.py).
set -uo pipefail
run=${1:?usage: dbgalloc_run_test.sh DBGALLOC_RUN LIB STATIC_PROGRAM BUG_CASES SARIF_CHECK OPTIONS_TSV}
lib=${2:?}
static=${3:?}
bug_cases=${4:?}
sarif_check=${5:?}
options_tsv=${6:?}
abs() { printf '%s/%s\n' "$(cd "$(dirname "$1")" && pwd -P)" "${1##*/}"; }
lib_abs=$(abs "$lib")
run=$(abs "$run")
static=$(abs "$static")
export DBGALLOC_LIB=$lib_abs
unset DBGALLOC_OPTIONS LD_PRELOAD

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbgalloc-run-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
check() {  # check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then
    echo "ok: $1"
  else
    printf 'FAIL: %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"
    failed=1
  fi
}
contains() {  # contains DESCRIPTION FILE PATTERN
  if grep -q -- "$3" "$2"; then
    echo "ok: $1"
  else
    printf 'FAIL: %s: no "%s" in:\n' "$1" "$3"; sed 's/^/  | /' "$2"
    failed=1
  fi
}
lacks() {  # lacks DESCRIPTION FILE PATTERN
  if ! grep -q -- "$3" "$2"; then
    echo "ok: $1"
  else
    printf 'FAIL: %s: "%s" in:\n' "$1" "$3"; sed 's/^/  | /' "$2"
    failed=1
  fi
}

# Flags to options, exit status passed through, preload active.
"$run" --print-stats -- bash -c 'printf "%s\n" "$DBGALLOC_OPTIONS"; exit 7' >"$tmp/out" 2>"$tmp/err"
check "exit status is the program's" 7 $?
check "--print-stats becomes print_stats=1 (after the launcher's child_leaks_fail=0)" "child_leaks_fail=0:print_stats=1" "$(cat "$tmp/out")"
contains "the preloaded program prints statistics" "$tmp/err" '^dbgalloc: pid [0-9]*:'

DBGALLOC_OPTIONS=print_stats=0 "$run" --print-stats=1 -- printenv DBGALLOC_OPTIONS >"$tmp/out" 2>"$tmp/err"
check "flags are appended to DBGALLOC_OPTIONS" "child_leaks_fail=0:print_stats=0:print_stats=1" "$(cat "$tmp/out")"

"$run" --no-such-option=3 -- touch "$tmp/ran" >"$tmp/out" 2>"$tmp/err"
status=$?
check "an unknown option is refused by the launcher (status 125)" 125 "$status"
check "... before the program runs" no "$([ -e "$tmp/ran" ] && echo yes || echo no)"
contains "the refusal names the option" "$tmp/err" 'unknown option --no-such-option'
contains "the refusal lists the valid options" "$tmp/err" '--quarantine-mb'

"$run" --quarantine-mb=lots -- touch "$tmp/ran" >"$tmp/out" 2>"$tmp/err"
check "a bad value is refused by the library (status 1)" 1 $?
check "... before the program runs" no "$([ -e "$tmp/ran" ] && echo yes || echo no)"
contains "the library names the option and what it accepts" "$tmp/err" "bad value 'lots' for option 'quarantine_mb': expected an integer"

# Children inherit the preload.
"$run" -- bash -c 'bash -c "printenv LD_PRELOAD"' >"$tmp/out" 2>"$tmp/err"
check "a grandchild still has the preload" "$lib_abs" "$(cat "$tmp/out")"

# A report makes the exit status dbgalloc's exitcode; a clean run keeps the program's.
"$run" -- "$bug_cases" double_free >"$tmp/out" 2>"$tmp/err"
check "a report exits with exitcode (23)" 23 $?
contains "the report is on stderr" "$tmp/err" 'ERROR: dbgalloc: double-free'
"$run" --exitcode=42 -- "$bug_cases" double_free >"$tmp/out" 2>"$tmp/err"
check "--exitcode changes it" 42 $?
# Leaks: the launched program's set its status; a child's are reported, and keep the
# child's status unless --child-leaks-fail=1 (build systems run leaking compilers).
"$run" -- "$bug_cases" leak >"$tmp/out" 2>"$tmp/err"
check "the launched program's leak sets the exit status" 23 $?
contains "... with the leak report" "$tmp/err" 'Direct leak of 40 byte(s) in 1 object(s)'
"$run" -- "$bug_cases" leaky_child >"$tmp/out" 2>"$tmp/err"
check "a leaking child does not fail the run" 0 $?
contains "the child's leak is reported" "$tmp/err" 'Direct leak of 40 byte(s) in 1 object(s)'
contains "... and the child says why its status is kept" "$tmp/err" 'dbgalloc: exit status kept: this process runs below the program dbgalloc-run launched'
contains "... and kept its exit status" "$tmp/out" 'child status 0'
"$run" --child-leaks-fail=1 -- "$bug_cases" leaky_child >"$tmp/out" 2>"$tmp/err"
check "--child-leaks-fail=1: the launched program's status is still its own" 0 $?
contains "--child-leaks-fail=1: the child's leak sets the child's status" "$tmp/out" 'child status 23'
DBGALLOC_OPTIONS=child_leaks_fail=1 "$run" -- "$bug_cases" leaky_child >"$tmp/out" 2>"$tmp/err"
contains "child_leaks_fail=1 in DBGALLOC_OPTIONS overrides the launcher's default" "$tmp/out" 'child status 23'
"$run" --sarif="$tmp/leaks.sarif" -- "$bug_cases" leaky_child >"$tmp/out" 2>"$tmp/err"
check "--sarif: a leaking child does not fail the run either" 0 $?
contains "--sarif: ... and kept its exit status" "$tmp/out" 'child status 0'
LD_PRELOAD=$lib_abs "$bug_cases" leaky_child >"$tmp/out" 2>"$tmp/err"
contains "without the launcher every process's leaks fail it" "$tmp/out" 'child status 23'
"$run" -- "$bug_cases" clean >"$tmp/out" 2>"$tmp/err"
check "a clean program exits 0" 0 $?

# LD_PRELOAD: absolute, in front of what was there. A relative DBGALLOC_LIB too.
LD_PRELOAD=libm.so.6 "$run" -- printenv LD_PRELOAD >"$tmp/out" 2>"$tmp/err"
check "LD_PRELOAD is the absolute library path, prepended" "$lib_abs:libm.so.6" "$(cat "$tmp/out")"
(cd "$(dirname "$lib_abs")" && DBGALLOC_LIB=./${lib_abs##*/} "$run" -- printenv LD_PRELOAD) >"$tmp/out" 2>"$tmp/err"
check "a relative library path is made absolute" "$lib_abs" "$(cat "$tmp/out")"

# Static programs are refused with a clear message.
"$static" >"$tmp/out" 2>&1
check "the static test program runs on its own" "static hello" "$(cat "$tmp/out")"
"$run" -- "$static" >"$tmp/out" 2>"$tmp/err"
status=$?
check "a static program is refused (status 125)" 125 "$status"
contains "the refusal says why" "$tmp/err" 'statically linked'

# Without file(1): the launcher reads the ELF program headers itself.
mkdir "$tmp/bin"
for tool in bash env readlink dirname head od tr grep; do
  ln -s "$(command -v "$tool")" "$tmp/bin/$tool"
done
PATH=$tmp/bin "$run" -- "$static" >"$tmp/out" 2>"$tmp/err"
check "without file(1), a static program is still refused" 125 $?
PATH=$tmp/bin "$run" -- "$(command -v printenv)" LD_PRELOAD >"$tmp/out" 2>"$tmp/err"
check "without file(1), a dynamic program runs" "$lib_abs" "$(cat "$tmp/out")"

"$run" -- no-such-program-dbgalloc >"$tmp/out" 2>"$tmp/err"
check "a missing program gives status 125" 125 $?

"$run" --help >"$tmp/out" 2>"$tmp/err"
check "--help exits 0" 0 $?
contains "--help prints usage" "$tmp/out" '^usage: dbgalloc-run'
contains "--help lists the options table" "$tmp/out" '--print-stats=0/1'
contains "--help gives each option's help and default" "$tmp/out" '--quarantine-mb=N .*MiB (default: 64)'
contains "--help describes --pinpoint" "$tmp/out" '--pinpoint'
contains "--help gives a choice's values" "$tmp/out" '--unwinder=frame_pointer|cfi|cfi_cached '
for name in $(cut -f1 "$options_tsv"); do
  grep -q -- "--${name//_/-}=" "$tmp/out" || { echo "FAIL: --help misses --${name//_/-}"; failed=1; }
done

# --pinpoint: an overflow found at free (a canary) is reproduced with a guard page on
# that allocation site only, and the second report names the writing function.
for case in overflow_at_free overflow_at_exit overflow_at_realloc; do
  "$run" --pinpoint -- "$bug_cases" "$case" >"$tmp/out" 2>"$tmp/err"
  check "--pinpoint $case: exit status of the first run" 23 $?
  contains "--pinpoint $case: the first report is shown, with its allocation site" "$tmp/err" '^allocation site: bug_cases+0x'
  contains "--pinpoint $case: re-runs with guard_sites" "$tmp/err" 'running again with guard_sites=bug_cases+0x[0-9a-f]*:guard_side=right:guard_alignment=1'
  contains "--pinpoint $case: the second report is at the write" "$tmp/err" 'WRITE of size 1 at 0x'
  contains "--pinpoint $case: ... and names the writing function" "$tmp/err" 'the access itself: [^ ]*bug_cases.cpp:[0-9]* in .*write_one_past'
done
"$run" --pinpoint -- "$bug_cases" underflow_at_free >"$tmp/out" 2>"$tmp/err"
contains "--pinpoint: an underflow re-runs with the guard page on the left" "$tmp/err" 'guard_side=left'
contains "--pinpoint: ... and names the writing function" "$tmp/err" 'the access itself: [^ ]*bug_cases.cpp:[0-9]* in .*write_one_before'
"$run" --pinpoint --quarantine-mb=1 -- "$bug_cases" use_after_free_write >"$tmp/out" 2>"$tmp/err"
contains "--pinpoint: a write after free found at eviction ..." "$tmp/err" 'heap-use-after-free of a block allocated at'
contains "--pinpoint: ... is caught at the write" "$tmp/err" 'the access itself: [^ ]*bug_cases.cpp:[0-9]* in .*write_after_free'
# A string function's overflow: the pinpointed access is the program's call to strcat,
# not libc's CPU-specific variant (__strcat_evex, __strcat_avx2, ...).
"$run" --pinpoint -- "$bug_cases" strcat_overflow_at_free >"$tmp/out" 2>"$tmp/err"
contains "--pinpoint: a strcat overflow ..." "$tmp/err" 'WRITE of size [0-9]* at 0x'
contains "--pinpoint: ... names the program's caller" "$tmp/err" 'the access itself: [^ ]*bug_cases.cpp:[0-9]* in .*append_tail'
lacks "--pinpoint: ... and no libc variant in the keys" "$tmp/err" '^\(SUMMARY\|DEDUP_TOKEN\|dbgalloc-run\).*__strcat'
"$run" --guard-sites=bug_cases -- "$bug_cases" clean >"$tmp/out" 2>"$tmp/err"
check "a malformed guard_sites is refused (status 1)" 1 $?
contains "... saying what it accepts" "$tmp/err" "for option 'guard_sites': expected a comma-separated list of MODULE+0xOFFSET"
"$run" --guard-sites=libnot-loaded.so+0x1234,bug_cases+0x10 -- "$bug_cases" clean >"$tmp/out" 2>"$tmp/err"
check "sites in modules never loaded, or at no call, change nothing" "0 clean 1000 0" "$? $(cat "$tmp/out")"
"$run" --pinpoint -- "$bug_cases" double_free >"$tmp/out" 2>"$tmp/err"
check "--pinpoint on a report made at the call runs once" 1 "$(grep -c 'ERROR: dbgalloc' "$tmp/err")"
contains "--pinpoint says why" "$tmp/err" 'no deferred report'
"$run" --pinpoint -- "$bug_cases" clean >"$tmp/out" 2>"$tmp/err"
check "--pinpoint on a clean program exits 0" 0 $?
contains "--pinpoint on a clean program says so" "$tmp/err" 'no report, nothing to pinpoint'

# --both-sides: guard pages on the right, then on the left: the overread is caught by
# the first run, the underread (before it in the program) by the second.
"$run" --both-sides --guard-alignment=1 -- "$bug_cases" read_both_ends >"$tmp/out" 2>"$tmp/err"
check "--both-sides: the exit status is the first run's (a fault)" 139 $?
contains "--both-sides: the right-side run reports the overread" "$tmp/err" 'both-sides: guard pages on the right (status 139): 1 heap-buffer-overflow .*bug_cases.cpp:[0-9]* in .*read_one_past'
contains "--both-sides: the left-side run reports the underread" "$tmp/err" 'both-sides: guard pages on the left (status 139): 1 heap-buffer-underflow .*bug_cases.cpp:[0-9]* in .*read_one_before'
contains "--both-sides: both reports are shown" "$tmp/err" 'is located 1 bytes to the left of 13-byte region'
"$run" --both-sides -- "$bug_cases" clean >"$tmp/out" 2>"$tmp/err"
check "--both-sides on a clean program exits 0" 0 $?
contains "--both-sides on a clean program says so" "$tmp/err" 'guard pages on the left (status 0): nothing reported'
"$run" --both-sides -- "$bug_cases" guard_underflow_read >"$tmp/out" 2>"$tmp/err"
contains "--both-sides: guard=all is implied" "$tmp/err" 'guard pages on the left (status 139): 1 heap-buffer-underflow'
"$run" --both-sides --pinpoint -- "$bug_cases" clean >"$tmp/out" 2>"$tmp/err"
check "--both-sides with --pinpoint is refused" 125 $?

# --sarif: the reports of the run (JSON lines underneath) become one SARIF 2.1.0 log.
"$run" --sarif="$tmp/run.sarif" --halt-on-error=0 -- "$bug_cases" two_bugs >"$tmp/out" 2>"$tmp/err"
check "--sarif keeps the exit status" 23 $?
contains "--sarif says where the log is" "$tmp/err" "SARIF log written to $tmp/run.sarif (2 result(s))"
python3 "$sarif_check" "$tmp/run.sarif" heap-buffer-overflow double-free >"$tmp/out" 2>&1
check "the SARIF log is valid and has both results" 0 $?
sed 's/^/  | /' "$tmp/out"

exit $failed
