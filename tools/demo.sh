#!/usr/bin/env bash
# Builds dbgalloc if needed and runs the demo program (tools/demo/demo.c) under the
# preload: tools/dbgalloc-run --print-stats -- build/tools/demo/dbgalloc-demo
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

echo "\$ tools/dbgalloc-run --print-stats -- build/tools/demo/dbgalloc-demo"
set +e
"$root/tools/dbgalloc-run" --print-stats -- "$demo"
status=$?
set -e
echo "(the demo exited with status $status)"
# A report of the leaked block may make the demo exit non-zero on purpose; anything
# the launcher itself refused (125) or a crash is a failure of the demo.
[ $status -ne 125 ] && [ $status -lt 128 ]
