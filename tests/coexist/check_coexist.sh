#!/bin/sh
# The preload inside another heap tool: one notice, the program runs as without us,
# and the tool (not dbgalloc) reports the program's overflow.
# usage: check_coexist.sh LIBDBGALLOC_SO SOURCE_DIR WORK_DIR clang-asan|gcc-asan|clang-tsan|clang-msan|valgrind
# Exit 77 (skipped) when the compiler or tool is not installed.
set -u
lib=$1 src=$2 work=$3 tool=$4
mkdir -p "$work"
prog=$work/program-$tool
build() { "$@" -g -O0 -o "$prog" "$src/coexist_program.cpp" > "$work/build-$tool.txt" 2>&1 || { cat "$work/build-$tool.txt"; exit 77; }; }
run=""
case $tool in
  clang-asan) command -v clang++ > /dev/null || exit 77; build clang++ -fsanitize=address; name=AddressSanitizer
              report="ERROR: AddressSanitizer: heap-buffer-overflow" ;;
  gcc-asan)   build g++ -fsanitize=address; name=AddressSanitizer
              report="ERROR: AddressSanitizer: heap-buffer-overflow" ;;
  clang-tsan) command -v clang++ > /dev/null || exit 77; build clang++ -fsanitize=thread; name=ThreadSanitizer; report="" ;;
  clang-msan) command -v clang++ > /dev/null || exit 77; build clang++ -fsanitize=memory; name=MemorySanitizer; report="" ;;
  valgrind)   command -v valgrind > /dev/null || exit 77; build g++; name=valgrind; run="valgrind -q"
              report="Invalid write of size 1" ;;
  *) echo "unknown tool $tool"; exit 2 ;;
esac
failed=0
notice="dbgalloc: $name detected; dbgalloc is disabled for this process"
# libasan.so after the preload refuses to start unless told the order is intended.
export ASAN_OPTIONS=verify_asan_link_order=0
for mode in clean overflow; do
  [ "$mode" = overflow ] && [ -z "$report" ] && continue
  arg=""; [ "$mode" = overflow ] && arg=overflow
  LD_PRELOAD=$lib $run "$prog" $arg > "$work/$tool-$mode.txt" 2>&1
  status=$?
  out=$work/$tool-$mode.txt
  count=$(grep -c -F "$notice" "$out")
  if [ "$count" = 1 ]; then echo "ok: $mode: one notice"; else echo "FAILED: $mode: $count notices"; failed=1; fi
  if grep -q "ERROR: dbgalloc\|SUMMARY: dbgalloc" "$out"; then echo "FAILED: $mode: dbgalloc reported too"; failed=1; fi
  if [ "$mode" = clean ]; then
    if [ "$status" = 0 ] && grep -q "^done 1000$" "$out"; then echo "ok: clean: the program ran to the end"
    else echo "FAILED: clean: exit status $status"; failed=1; fi
  else
    if grep -q -F "$report" "$out"; then echo "ok: overflow: $name reported it"
    else echo "FAILED: overflow: no '$report'"; failed=1; fi
  fi
  [ "$failed" = 0 ] || cat "$out"
done
exit "$failed"
