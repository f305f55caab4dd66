#!/bin/sh
# Builds the TLV example fuzz target with libdbgalloc in place of ASan (recipe A of
# docs/fuzzing.md): compile with -fsanitize=fuzzer-no-link for coverage, link with NO
# -fsanitize flag and libFuzzer's archive by path, so clang does not add its
# UBSan-standalone runtime (whose copies of the sanitizer hooks would shadow dbgalloc's).
# usage: build.sh CLANGXX OUTPUT LIBDBGALLOC_A SOURCE_DIR [SOURCE_NAME...]
# (the sources, without .cpp: tlv tlv_fuzzer by default)
set -eu
cxx=$1 out=$2 lib=$3 src=$4
shift 4
sources=${*:-tlv tlv_fuzzer}
fuzzer_rt=$("$cxx" -print-file-name=libclang_rt.fuzzer-x86_64.a)
backtrace=$(gcc -print-file-name=libbacktrace.a 2>/dev/null || true)
[ -f "$backtrace" ] || backtrace=-lbacktrace
objdir=$out.objs
mkdir -p "$objdir"
objects=
for f in $sources; do
  "$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link \
    -c "$src/$f.cpp" -o "$objdir/$f.o"
  objects="$objects $objdir/$f.o"
done
# shellcheck disable=SC2086 # one word per object file
"$cxx" -o "$out" $objects "$fuzzer_rt" \
  -Wl,--whole-archive "$lib" -Wl,--no-whole-archive "$backtrace" -lpthread -ldl
