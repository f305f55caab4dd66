#!/usr/bin/env bash
# Builds dbgalloc if needed and runs the demo program (tools/demo/demo.c) under the
# preload: tools/dbgalloc-run --halt-on-error=0 -- build/tools/demo/dbgalloc-demo
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build

if [ ! -f "$build/meson-private/coredata.dat" ]; then
  "$root/tools/setup.sh"
else
  meson compile -C "$build" src/dbgalloc:shared_library tools/demo/dbgalloc-demo >/dev/null
fi

demo=$build/tools/demo/dbgalloc-demo
[ -x "$demo" ] || { echo "demo.sh: $demo was not built" >&2; exit 1; }

echo "\$ tools/dbgalloc-run --halt-on-error=0 -- build/tools/demo/dbgalloc-demo"
set +e
"$root/tools/dbgalloc-run" --halt-on-error=0 -- "$demo"
status=$?
set -e
echo "(the demo exited with status $status)"
# The demo's bugs make it exit with dbgalloc's exit code (23) on purpose; anything
# else (the launcher refused: 125, a crash: >= 128, or no report at all) is a failure.
[ $status -eq 23 ]
