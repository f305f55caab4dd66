#!/usr/bin/env bash
# dbgalloc_run_test.sh DBGALLOC_RUN LIB STATIC_PROGRAM
# Checks tools/dbgalloc-run: flags become DBGALLOC_OPTIONS entries, LD_PRELOAD gets the
# absolute library path in front, the exit status is the program's, static programs
# are refused, --help works.
set -uo pipefail
run=${1:?usage: dbgalloc_run_test.sh DBGALLOC_RUN LIB STATIC_PROGRAM}
lib=${2:?}
static=${3:?}
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

# Flags to options, exit status passed through, preload active.
"$run" --print-stats -- bash -c 'printf "%s\n" "$DBGALLOC_OPTIONS"; exit 7' >"$tmp/out" 2>"$tmp/err"
check "exit status is the program's" 7 $?
check "--print-stats becomes print_stats=1" "print_stats=1" "$(cat "$tmp/out")"
contains "the preloaded program prints statistics" "$tmp/err" '^dbgalloc: pid [0-9]*:'

DBGALLOC_OPTIONS=print_stats=0 "$run" --print-stats=1 -- printenv DBGALLOC_OPTIONS >"$tmp/out" 2>"$tmp/err"
check "flags are appended to DBGALLOC_OPTIONS" "print_stats=0:print_stats=1" "$(cat "$tmp/out")"

"$run" --no-such-option=3 -- true >"$tmp/out" 2>"$tmp/err"
status=$?
check "an option the library rejects stops the program" 1 "$status"
contains "dashes become underscores, and the library names the bad option" "$tmp/err" 'no_such_option'

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

exit $failed
