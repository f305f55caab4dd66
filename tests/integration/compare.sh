#!/usr/bin/env bash
# compare.sh LIB -- COMMAND [ARGS...]
#
# Runs COMMAND twice in a fresh, empty working directory (the same path both times):
# once as is, once with LIB preloaded (LD_PRELOAD=<absolute LIB>, DBGALLOC_OPTIONS=
# print_stats=1 plus $DBGALLOC_EXTRA_OPTIONS if set; children inherit both). Fails, printing why, when the preloaded run
# crashes, exits differently, prints a different stdout, reports allocator errors, or
# shows no sign of dbgalloc (no "dbgalloc: pid" line on stderr). Exit 77 (meson: SKIP)
# when the plain run cannot run COMMAND at all.
set -uo pipefail

lib=${1:?usage: compare.sh LIB -- COMMAND [ARGS...]}
shift
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "compare.sh: no command" >&2; exit 2; }

[ -f "$lib" ] || { echo "compare.sh: $lib: no such library" >&2; exit 1; }
lib="$(cd "$(dirname "$lib")" && pwd -P)/${lib##*/}"

if ! command -v -- "$1" >/dev/null 2>&1; then
  echo "compare.sh: $1 not installed: skipped"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbgalloc-integration.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Same locale, time zone and umask for both runs.
export LC_ALL=C TZ=UTC
umask 022

# run_once MODE: runs the command in $tmp/work, output in $tmp/MODE.{out,err,status}.
run_once() {
  local mode=$1; shift
  rm -rf "$tmp/work"
  mkdir "$tmp/work"
  local status
  if [ "$mode" = preload ]; then
    (cd "$tmp/work" && exec env LD_PRELOAD="$lib" DBGALLOC_OPTIONS="print_stats=1${DBGALLOC_EXTRA_OPTIONS:+:$DBGALLOC_EXTRA_OPTIONS}" "$@") \
      >"$tmp/$mode.out" 2>"$tmp/$mode.err" </dev/null
    status=$?
  else
    (cd "$tmp/work" && exec env -u LD_PRELOAD -u DBGALLOC_OPTIONS "$@") \
      >"$tmp/$mode.out" 2>"$tmp/$mode.err" </dev/null
    status=$?
  fi
  echo "$status" >"$tmp/$mode.status"
}

run_once plain "$@"
run_once preload "$@"
plain_status=$(cat "$tmp/plain.status")
preload_status=$(cat "$tmp/preload.status")

failed=0
fail() { printf 'FAIL: %s\n' "$*"; failed=1; }

show_stderr() {
  echo "--- stderr of the $1 run (last 40 lines) ---"
  tail -n 40 "$tmp/$1.err"
  echo "---"
}

echo "command: $*"
echo "library: $lib"
echo "exit status: plain $plain_status, preloaded $preload_status"
echo "stdout: $(wc -l <"$tmp/plain.out") lines plain, $(wc -l <"$tmp/preload.out") lines preloaded"

if [ "$plain_status" = 127 ]; then
  show_stderr plain
  echo "compare.sh: the plain run could not start the command: skipped"
  exit 77
fi
if [ "$preload_status" -gt 128 ]; then
  fail "the preloaded run died with signal $((preload_status - 128))"
fi
if [ "$plain_status" != "$preload_status" ]; then
  fail "exit status differs: $plain_status without the preload, $preload_status with it"
fi
if ! cmp -s "$tmp/plain.out" "$tmp/preload.out"; then
  fail "stdout differs (- without the preload, + with it):"
  diff -u --label plain --label preloaded "$tmp/plain.out" "$tmp/preload.out" | head -n 200
fi
stats=$(grep -c '^dbgalloc: pid [0-9]*:' "$tmp/preload.err")
if [ "$stats" -eq 0 ]; then
  fail "no 'dbgalloc: pid' statistics line on stderr: was the preload active?"
else
  echo "dbgalloc statistics lines: $stats (one per process that exited normally)"
  grep -m 3 '^dbgalloc: pid [0-9]*:' "$tmp/preload.err" | sed 's/^/  /'
fi
if grep -Eq '^dbgalloc: pid [0-9]+:.*[^0-9]0*[1-9][0-9]* errors' "$tmp/preload.err" ||
   grep -q 'ERROR: dbgalloc' "$tmp/preload.err"; then
  fail "dbgalloc reported errors in the preloaded run"
fi
if [ "$plain_status" != 0 ]; then
  fail "the command itself failed (exit $plain_status without the preload)"
fi

if [ $failed = 1 ]; then
  show_stderr plain
  show_stderr preload
  exit 1
fi
echo "PASS: same exit status and stdout with and without dbgalloc"
