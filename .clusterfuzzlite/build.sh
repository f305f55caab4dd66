#!/bin/bash -eu
# ClusterFuzzLite (and OSS-Fuzz) entry point: the harnesses are built by fuzz/build.sh.
exec "$SRC/dbgalloc/fuzz/build.sh"
