#!/bin/sh
# Runs a libFuzzer harness for a bounded time: new inputs go to a scratch corpus in
# the build tree, the seed corpus in the source tree is only read.
# usage: run_fuzzer.sh HARNESS SEED_DIR SECONDS [extra libFuzzer flags]
set -eu
harness=$1 seeds=$2 seconds=$3
shift 3
work=$(dirname "$harness")/corpus-$(basename "$harness")
artifacts=$(dirname "$harness")/artifacts-$(basename "$harness")/
mkdir -p "$work" "$artifacts"
# -error_exitcode=1: libFuzzer's default, 77, is what meson reads as "skipped", so a
# crash or leak would not fail the test.
exec "$harness" -max_total_time="$seconds" -seed=1 -print_final_stats=1 -error_exitcode=1 \
  -artifact_prefix="$artifacts" "$@" "$work" "$seeds"
