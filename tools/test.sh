#!/usr/bin/env bash
# Sets up (tools/setup.sh --fuzz --werror: a warning fails the gcc build), then runs
# every test: the unit and integration suites in build/, the fuzz harnesses in
# build-fuzz/ (each for fuzz_seconds). Ends with one line "N passed, N failed"
# (", N skipped" when some were skipped), counted from both builds'
# meson-logs/testlog.json; exits non-zero on any failure.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
py=/usr/bin/python3
[ -x "$py" ] || py=python3

broken=0   # failures that left no testlog.json behind (setup, build)
logs=()

if ! "$root/tools/setup.sh" --fuzz --werror; then
  echo "test.sh: setup failed; running what can run" >&2
  broken=$((broken + 1))
fi

# run_suite DIR [meson test args...]: runs meson test, remembers its testlog.json.
run_suite() {
  local dir=$1; shift
  local log=$dir/meson-logs/testlog.json
  rm -f "$log"
  echo "== meson test -C ${dir#"$root"/} $*"
  # setup.sh has just built everything it could: run what is there.
  meson test -C "$dir" --no-rebuild --print-errorlogs "$@"
  local status=$?
  if [ -f "$log" ]; then
    logs+=("$log")
  elif [ $status -ne 0 ]; then
    echo "test.sh: meson test -C ${dir#"$root"/} failed before running any test" >&2
    broken=$((broken + 1))
  fi
}

# has_fuzz_tests DIR: true when DIR defines at least one test in suite "fuzz".
has_fuzz_tests() {
  meson introspect "$1" --tests 2>/dev/null | "$py" -c '
import json, sys
tests = json.load(sys.stdin)
sys.exit(0 if any(s.split(":")[-1] == "fuzz" for t in tests for s in t.get("suite", [])) else 1)
'
}

if [ -f build/meson-private/coredata.dat ]; then
  run_suite "$root/build"
else
  broken=$((broken + 1))
fi

if [ -f build-fuzz/meson-private/coredata.dat ]; then
  if has_fuzz_tests build-fuzz; then
    run_suite "$root/build-fuzz" --suite fuzz
  else
    echo "== build-fuzz: no fuzz tests defined yet, skipped"
  fi
else
  broken=$((broken + 1))
fi

"$py" - "$broken" "${logs[@]}" <<'PY'
import json, sys

broken = int(sys.argv[1])
passed = failed = skipped = 0
failures = []
for path in sys.argv[2:]:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            result = t.get("result", "")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                failures.append(f"{t.get('name', '?')} ({result})")
failed += broken
if failures:
    print("failed: " + ", ".join(failures))
if broken:
    print(f"failed: {broken} set-up or build step(s)")
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
PY
