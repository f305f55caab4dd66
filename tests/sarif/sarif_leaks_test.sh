#!/usr/bin/env bash
# sarif_leaks_test.sh DBGALLOC_RUN LIB LEAK_CASES SARIF_CHECK
# dbgalloc-run --sarif on a program that leaks: each leak group (direct, indirect) is
# a SARIF result located at its allocating line, and the log passes sarif_check.py.
set -uo pipefail
run=${1:?usage: sarif_leaks_test.sh DBGALLOC_RUN LIB LEAK_CASES SARIF_CHECK}
export DBGALLOC_LIB=${2:?}
leak_cases=${3:?}
sarif_check=${4:?}
unset DBGALLOC_OPTIONS LD_PRELOAD
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbgalloc-sarif.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0
"$run" --sarif="$tmp/leaks.sarif" -- "$leak_cases" indirect >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" = 23 ] && echo "ok: the leaking run exits 23" || { echo "FAIL: exit status $status"; failed=1; }
if python3 "$sarif_check" "$tmp/leaks.sarif" memory-leak >"$tmp/check" 2>&1; then
  echo "ok: the SARIF log is valid and has the leak results"
else
  echo "FAIL: sarif_check"; failed=1
fi
sed 's/^/  | /' "$tmp/check"
python3 - "$tmp/leaks.sarif" <<'PY' || failed=1
import json, sys
results = json.load(open(sys.argv[1]))["runs"][0]["results"]
texts = sorted(r["message"]["text"].split(" of ")[0] for r in results)
lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results)
ok = texts == ["Direct leak", "Indirect leak"] and all(line > 0 for line in lines)
print(("ok" if ok else "FAIL") + ": one result per leak group: %s at lines %s" % (texts, lines))
sys.exit(0 if ok else 1)
PY
exit $failed
