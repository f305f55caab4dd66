#!/usr/bin/env bash
# Integration workload for g++ under dbgalloc, run in an empty working directory:
# compiles gxx_sample.cpp (cc1plus, as and ld all inherit the preload), runs the
# program, and prints the assembly g++ -S produces, so the caller can compare it
# with a run without the preload.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/gxx_sample.cpp
cp "$src" sample.cpp
echo '== run'
g++ -std=c++17 -O2 -o sample sample.cpp
./sample
echo '== assembly -O2'
g++ -std=c++17 -O2 -S -o - sample.cpp
echo '== assembly -O0'
g++ -std=c++17 -O0 -S -o - sample.cpp | cksum
echo 'g++: done'
