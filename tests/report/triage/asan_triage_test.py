#!/usr/bin/env python3
"""asan_triage_test.py BUG_CASES DEADLY_CASES BAD_REQUEST_CASES LEAK_CASES LIB

With report_style=asan, a report of every class must parse as ClusterFuzz's stack
analyzer parses ASan's: the patterns below are written from its documented report
grammar (the crash-type/address line, the access line, stack frames, double free,
leaks, out-of-memory classes), not copied from it. Each case runs under the preload;
the test checks what a triage tool would extract: crash type, address, access kind
and size, every frame's function and file:line (or module+offset), and a SUMMARY with
the file before the function.
"""
import os
import re
import subprocess
import sys

# "...ERROR: <Name>Sanitizer: <crash type> on [unknown address |address ]<hex>"
CRASH_TYPE_AND_ADDRESS = re.compile(r'ERROR: ([A-Za-z]+Sanitizer)[: ]*(.*?) on (unknown address |address |)(0x[0-9a-fA-F]+)')
# "...ERROR: AddressSanitizer: <crash type>" (the type runs to the first '(', ':' or ';')
ASAN_ERROR = re.compile(r'ERROR: (AddressSanitizer)[: ]*([^(:;]+)')
# "<READ|WRITE> of size <n> at <address>"
ACCESS = re.compile(r'^ *(READ|WRITE) of size ([0-9]+) at (0x[0-9a-fA-F]+) thread T[0-9]+$', re.M)
DOUBLE_FREE = re.compile(r'AddressSanitizer.*double-free on (unknown address |address |)(0x[0-9a-fA-F]+)')
SEGV = re.compile(r'([A-Za-z]+Sanitizer).*(SEGV) on unknown address (0x[0-9a-fA-F]+)')
SIGNAL_ACCESS = re.compile(r'The signal is caused by a ([A-Z]+) memory access\.')
OUT_OF_MEMORY = re.compile(r'Sanitizer: (allocation-size-too-big|calloc-overflow)')
DIRECT_LEAK = re.compile(r'^Direct leak of ', re.M)
INDIRECT_LEAK = re.compile(r'^Indirect leak of ', re.M)
# A frame: "#N <pc> in <function> <file>:<line>[:<column>]", "#N <pc> in <function>
# (<module>+<offset>)", or "#N <pc> (<module>+<offset>)".
FRAME_START = re.compile(r'^ *#([0-9]+) +(0x[0-9a-fA-F]+) +(.*)$')
FRAME_WITH_FILE = re.compile(r'^in (.+) ([^ ]+):([0-9]+)(:[0-9]+)?$')
FRAME_WITH_MODULE = re.compile(r'^(?:in (.+) )?\(([^+)]+)\+(0x[0-9a-fA-F]+)\)$')
SUMMARY = re.compile(r'^SUMMARY: AddressSanitizer: ([a-z-]+|SEGV|FPE|BUS|ILL) (?:([^ ]+):([0-9]+)|\(([^ ]+)\)) in (.+)$', re.M)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from report_cases import BAD_REQUEST_CASES, BUG_CASES, DEADLY_CASES  # noqa: E402

failures = []


def check(ok, what, text):
    if not ok:
        failures.append("%s\n%s" % (what, "\n".join("  | " + line for line in text.splitlines())))
    return ok


def run(program, case, options, lib):
    env = dict(os.environ, LD_PRELOAD=lib, DBGALLOC_OPTIONS=("report_style=asan:" + options).rstrip(":"))
    env.pop("MALLOC_PERTURB_", None)
    done = subprocess.run([program, case], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=60, errors="replace")
    return done.stdout


def check_frames(name, text):
    frames = 0
    for line in text.splitlines():
        start = FRAME_START.match(line)
        if not start:
            continue
        frames += 1
        rest = start.group(3)
        parsed = FRAME_WITH_FILE.match(rest) or FRAME_WITH_MODULE.match(rest)
        check(parsed is not None, "%s: a frame no triage pattern reads: %r" % (name, line), text)
        module = FRAME_WITH_MODULE.match(rest)
        if module and not FRAME_WITH_FILE.match(rest):
            check(module.group(2).startswith("/") or module.group(2).startswith("["),
                  "%s: an unsymbolized frame without the module's full path: %r" % (name, line), text)
    check(frames > 0, "%s: no stack frame" % name, text)


def check_summary(name, text, klass):
    summary = SUMMARY.search(text)
    if check(summary is not None, "%s: no 'SUMMARY: AddressSanitizer: %s FILE:LINE in FUNCTION'" % (name, klass), text):
        check(summary.group(1) == klass, "%s: SUMMARY names %s, not %s" % (name, summary.group(1), klass), text)


def check_error(name, text, klass, with_address=True):
    error = ASAN_ERROR.search(text)
    if check(error is not None, "%s: no 'ERROR: AddressSanitizer: TYPE'" % name, text):
        check(error.group(2).split(" ")[0] == klass, "%s: crash type %r, not %s" % (name, error.group(2), klass), text)
    if with_address:
        found = CRASH_TYPE_AND_ADDRESS.search(text)
        if check(found is not None, "%s: no crash type and address" % name, text):
            check(found.group(2) == klass and int(found.group(4), 16) != 0 or klass == "SEGV",
                  "%s: crash type %r address %s" % (name, found.group(2), found.group(4)), text)


def main():
    bug_cases, deadly_cases, bad_request_cases, leak_cases, lib = sys.argv[1:6]
    for case, options, klass in BUG_CASES:
        text = run(bug_cases, case, options, lib)
        name = "bug_cases " + case
        check_error(name, text, klass)
        check_frames(name, text)
        check_summary(name, text, klass)
        if "guard" in options:  # at the access: the access line with its kind and size
            access = ACCESS.search(text)
            if check(access is not None, "%s: no 'READ|WRITE of size N at ADDR thread T'" % name, text):
                check(int(access.group(2)) > 0, "%s: access of size 0" % name, text)
        if klass == "double-free":
            check(DOUBLE_FREE.search(text) is not None, "%s: the double-free pattern does not match" % name, text)
    for case, klass in DEADLY_CASES:
        text = run(deadly_cases, case, "", lib)
        name = "deadly_cases " + case
        check_error(name, text, klass)
        check_frames(name, text)
        check_summary(name, text, klass)
        if klass == "SEGV":
            check(SEGV.search(text) is not None, "%s: the SEGV pattern does not match" % name, text)
            check(SIGNAL_ACCESS.search(text) is not None, "%s: no access kind of the signal" % name, text)
    for case, klass in BAD_REQUEST_CASES:
        text = run(bad_request_cases, case, "allocator_may_return_null=0", lib)
        name = "bad_request_cases " + case
        check_error(name, text, klass, with_address=False)
        check_frames(name, text)
        check_summary(name, text, klass)
        if klass in ("allocation-size-too-big", "calloc-overflow"):
            check(OUT_OF_MEMORY.search(text) is not None, "%s: not read as out of memory" % name, text)
    text = run(leak_cases, "indirect", "", lib)
    check("ERROR: LeakSanitizer: detected memory leaks" in text, "leak_cases indirect: no LeakSanitizer header", text)
    check(DIRECT_LEAK.search(text) is not None and INDIRECT_LEAK.search(text) is not None,
          "leak_cases indirect: no direct and indirect leak lines", text)
    check(re.search(r'^SUMMARY: AddressSanitizer: [0-9]+ byte\(s\) leaked in [0-9]+ allocation\(s\)\.$', text, re.M),
          "leak_cases indirect: no leak SUMMARY", text)
    check_frames("leak_cases indirect", text)
    for failure in failures:
        print("FAIL: " + failure)
    total = len(BUG_CASES) + len(DEADLY_CASES) + len(BAD_REQUEST_CASES) + 1
    print("%d report(s) checked, %d failure(s)" % (total, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
