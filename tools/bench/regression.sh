#!/usr/bin/env bash
# The timing regression check: default/glibc CPU ratios of the synthetic workloads
# against tools/bench/suite/baseline.json. Prints each ratio and a verdict; exits 1 on
# a regression. A benchmark: run it on a quiet machine, never in CI.
# Usage: tools/bench/regression.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
ninja -C "$build" >/dev/null
exec meson test -C "$build" --benchmark --suite bench --verbose
