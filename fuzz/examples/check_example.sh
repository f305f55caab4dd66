#!/bin/sh
# Runs the TLV example fuzz target (built with libdbgalloc, no ASan) for one libFuzzer
# feature and checks what it must produce. Fixed -seed and bounded -runs: the same
# binary finds the same inputs every time.
# usage: check_example.sh FUZZER SOURCE_DIR overflow|guard_fault|leak|malloc_limit|trace_malloc
set -u
fuzzer=$1 src=$2 case=$3
work=$(dirname "$fuzzer")/example-$case
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
log=$work/log.txt
failed=0

expect() {  # expect PATTERN WHAT
  if grep -q -e "$1" "$log"; then echo "ok: $2"; else echo "FAILED: $2 (no '$1' in the output)"; failed=1; fi
}
expect_file() {  # expect_file GLOB WHAT
  set -- "$work"/artifacts/$1 "$2"
  if [ -f "$1" ]; then echo "ok: $2 ($(basename "$1"))"; else echo "FAILED: $2 (no artifact)"; failed=1; fi
}
expect_status() {  # expect_status WANTED GOT
  if [ "$2" = "$1" ]; then echo "ok: exit status $2"; else echo "FAILED: exit status $2, expected $1"; failed=1; fi
}

case $case in
  overflow)
    # -detect_leaks=0: only the overflow can stop this run.
    cp "$src"/corpus/* "$work/corpus/"
    "$fuzzer" -seed=1 -runs=500000 -detect_leaks=0 -dict="$src/tlv.dict" -artifact_prefix="$work/artifacts/" \
      "$work/corpus" > "$log" 2>&1
    expect_status 23 $?
    expect "ERROR: dbgalloc: heap-buffer-overflow on address" "dbgalloc reported the overflow"
    expect "is located 0 bytes to the right of" "the report names the first byte past the block"
    expect "SUMMARY: dbgalloc: heap-buffer-overflow [^ ]*tlv.cpp:[0-9]* in tlv::parse" "the summary names the parser"
    expect "DEDUP_TOKEN: heap-buffer-overflow--tlv::parse" "the report carries a dedup token"
    expect "Test unit written to .*crash-" "libFuzzer saved the input"
    expect_file 'crash-*' "crash input saved"
    # The saved input reproduces the report on its own.
    crash=$(ls "$work"/artifacts/crash-* 2>/dev/null | head -n 1)
    if [ -n "$crash" ]; then
      "$fuzzer" "$crash" > "$work/replay.txt" 2>&1
      if grep -q "ERROR: dbgalloc: heap-buffer-overflow" "$work/replay.txt"; then echo "ok: the crash input reproduces";
      else echo "FAILED: the crash input does not reproduce"; failed=1; fi
    fi
    ;;
  guard_fault)
    # With guard pages the overflow faults at the instruction: the fault report, then
    # the death callback (libFuzzer saves the input), then the signal.
    cp "$src"/corpus/* "$work/corpus/"
    DBGALLOC_OPTIONS=guard=all:guard_alignment=1 "$fuzzer" -seed=1 -runs=500000 -detect_leaks=0 \
      -dict="$src/tlv.dict" -artifact_prefix="$work/artifacts/" "$work/corpus" > "$log" 2>&1
    expect_status 139 $?
    expect "ERROR: dbgalloc: heap-buffer-overflow on address 0x[0-9a-f]* at pc" "the fault is reported at its instruction"
    expect "^WRITE of size [0-9]* at 0x" "as a write, with its size"
    expect "SUMMARY: dbgalloc: heap-buffer-overflow .* in tlv::.*decode_string" "the summary names the inlined decoder"
    expect "^    #1 0x[0-9a-f]* in tlv::parse.*tlv.cpp:[0-9]*$" "its caller is the next frame, at the same address"
    expect "Test unit written to .*crash-" "libFuzzer saved the input"
    expect_file 'crash-*' "crash input saved"
    ;;
  leak)
    cp "$src"/corpus/* "$work/corpus/"
    "$fuzzer" -seed=1 -runs=500000 -detect_leaks=1 -dict="$src/tlv.dict" -artifact_prefix="$work/artifacts/" \
      "$work/corpus" > "$log" 2>&1
    expect_status 77 $?
    expect "ERROR: dbgalloc: detected memory leaks" "dbgalloc's leak check ran"
    expect "Direct leak of [0-9]* byte(s) in 1 object(s) allocated from" "the leaked key is reported"
    expect "in tlv::parse" "the leak's allocation stack names the parser"
    expect "Test unit written to .*leak-" "libFuzzer saved the input"
    expect_file 'leak-*' "leak input saved"
    ;;
  malloc_limit)
    # A 4-byte count asks for 2 GiB: the malloc hook reports it with its size.
    cp "$src"/inputs/huge_array "$work/corpus/"
    "$fuzzer" -seed=1 -runs=10 -malloc_limit_mb=1024 -artifact_prefix="$work/artifacts/" "$work/corpus" > "$log" 2>&1
    expect_status 71 $?
    expect "ERROR: libFuzzer: out-of-memory (malloc(2147483648))" "libFuzzer saw the oversized malloc"
    expect "#[0-9]* 0x[0-9a-f]* in tlv::parse" "the stack (dbgalloc's unwinder) reaches the parser"
    expect_file 'oom-*' "oom input saved"
    ;;
  trace_malloc)
    "$fuzzer" -runs=1 -trace_malloc=1 "$src/inputs/trace" > "$log" 2>&1
    expect_status 0 $?
    expect "MallocFreeTracer: START" "tracing started"
    expect "MALLOC\[0\] 0x[0-9a-f]* 4$" "the key's malloc is traced with its size"
    expect "FREE\[0\] *0x[0-9a-f]*" "frees are traced"
    expect "MallocFreeTracer: STOP 3 3 (same)" "3 mallocs and 3 frees per run"
    ;;
  deadly_null | deadly_fpe)
    # deadly_signal_fuzzer on its crashing seed: dbgalloc's handler reports the signal,
    # runs the death callback (libFuzzer saves the input) and re-raises it.
    if [ "$case" = deadly_null ]; then input=null_write signal=SEGV status=139 function=write_through
    else input=divide_by_zero signal=FPE status=136 function=divide; fi
    cp "$src/inputs/$input" "$work/corpus/"
    "$fuzzer" -runs=10 -detect_leaks=0 -artifact_prefix="$work/artifacts/" "$work/corpus" > "$log" 2>&1
    expect_status $status $?
    expect "ERROR: dbgalloc: $signal on unknown address" "dbgalloc reported the $signal"
    expect "#0 0x[0-9a-f]* in .*$function" "its stack starts in the faulting function"
    expect "in LLVMFuzzerTestOneInput" "and reaches the target"
    expect "SUMMARY: dbgalloc: $signal .*$function" "the summary names the function"
    expect "Test unit written to .*crash-" "libFuzzer saved the input"
    expect_file 'crash-*' "crash input saved"
    ;;
  *)
    echo "unknown case $case"
    exit 2
    ;;
esac
if [ "$failed" != 0 ]; then
  echo "--- libFuzzer output ($log) ---"
  cat "$log"
fi
exit "$failed"
