#!/bin/bash -eu
# Builds every dbgalloc harness in the OSS-Fuzz conventions, as OSS-Fuzz and
# ClusterFuzzLite call it (.clusterfuzzlite/build.sh): $CC, $CXX, $CFLAGS, $CXXFLAGS
# (sanitizer and coverage flags included) and $LIB_FUZZING_ENGINE come from the
# environment; each harness goes to $OUT/NAME with $OUT/NAME_seed_corpus.zip and, where
# there is one, $OUT/NAME.dict.
#
# Locally, with libFuzzer and ASan+UBSan:
#   CC=clang CXX=clang++ CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -g" \
#   CXXFLAGS="$CFLAGS" LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out fuzz/build.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${WORK:-/tmp}/dbgalloc-fuzz-build
mkdir -p "$work" "$OUT"

flags=(-std=c++20 -fno-omit-frame-pointer -I"$root/src" -I"$root/include")
# libbacktrace (symbolized reports): gcc's copy when gcc is there, else the system's.
backtrace=-lbacktrace
if command -v gcc > /dev/null; then
  gcc_include=$(gcc -print-file-name=include)
  [ -f "$gcc_include/backtrace.h" ] && flags+=(-idirafter "$gcc_include")
  gcc_backtrace=$(gcc -print-file-name=libbacktrace.a)
  [ -f "$gcc_backtrace" ] && backtrace=$gcc_backtrace
fi

# The core: every layer below interpose (the harnesses drive it directly; the process
# keeps the engine's own malloc).
objects=()
while IFS= read -r source; do
  object=$work/$(echo "$source" | tr / _).o
  # shellcheck disable=SC2086 # CXXFLAGS is a list of flags
  $CXX $CXXFLAGS "${flags[@]}" -c "$root/$source" -o "$object"
  objects+=("$object")
done < <(cd "$root" && find src -name '*.cpp' ! -path 'src/interpose/*' | sort)
rm -f "$work/libdbgalloc_core.a"
ar rcs "$work/libdbgalloc_core.a" "${objects[@]}"

# folder/source: the harness binary is named after the source.
for harness in heap/heap_ops debug/debug_ops stacks/stack_depot options/options_parser report/locate_address; do
  name=$(basename "$harness")
  folder=$root/fuzz/$(dirname "$harness")
  # shellcheck disable=SC2086
  $CXX $CXXFLAGS "${flags[@]}" "$root/fuzz/$harness.cpp" -o "$OUT/$name" \
    "$work/libdbgalloc_core.a" $LIB_FUZZING_ENGINE "$backtrace" -lpthread -ldl
  rm -f "$OUT/${name}_seed_corpus.zip"
  (cd "$folder/corpus" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
  for dict in "$folder"/*.dict; do
    [ -f "$dict" ] && cp "$dict" "$OUT/$name.dict"
  done
done
