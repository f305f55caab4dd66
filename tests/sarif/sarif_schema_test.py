#!/usr/bin/env python3
"""sarif_schema_test.py DBGALLOC_RUN LIB BUG_CASES DEADLY_CASES BAD_REQUEST_CASES LEAK_CASES

SARIF logs for CI: a report of every class (tests/support/report_cases.py) and a leak
report go through dbgalloc-sarif; the log is validated with python3-jsonschema against
tests/sarif/sarif-2.1.0-dbgalloc.schema.json (the SARIF 2.1.0 objects dbgalloc writes,
closed to the standard's properties) and checked for what code-scanning pages need:
every class's rule, a location in the program's own code for every result (none
empty, none in libc), file URIs relative to SRCROOT and percent-encoded, distinct
fingerprints for a direct leak and its indirect child. Then dbgalloc-run --sarif: the
console report unchanged (text, not JSON), --log-path honoured, and with --pinpoint
the program runs twice, not three times.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from report_cases import BAD_REQUEST_CASES, BUG_CASES, DEADLY_CASES  # noqa: E402

import jsonschema  # noqa: E402  (python3-jsonschema; tools/setup.sh installs it)

failures = []


def check(ok, what, detail=""):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)
        if detail:
            print("\n".join("  | " + line for line in str(detail).splitlines()[:60]))
    return ok


def environment(lib, options):
    env = dict(os.environ, LD_PRELOAD=lib, DBGALLOC_OPTIONS=options)
    env.pop("MALLOC_PERTURB_", None)
    return env


def validate(log, schema):
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return sorted("%s: %s" % ("/".join(map(str, error.absolute_path)), error.message)
                  for error in validator.iter_errors(log))


def main():
    run, lib, bug_cases, deadly_cases, bad_request_cases, leak_cases = sys.argv[1:7]
    converter = os.path.join(os.path.dirname(run), "dbgalloc-sarif")
    root = os.path.dirname(os.path.dirname(HERE))
    with open(os.path.join(HERE, "sarif-2.1.0-dbgalloc.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    tmp = tempfile.mkdtemp(prefix="dbgalloc-sarif-schema.")
    cases = [(bug_cases, case, options, klass) for case, options, klass in BUG_CASES]
    cases += [(deadly_cases, case, "", klass) for case, klass in DEADLY_CASES]
    cases += [(bad_request_cases, case, "allocator_may_return_null=0", klass) for case, klass in BAD_REQUEST_CASES]
    cases += [(leak_cases, "indirect", "", "memory-leak")]
    for i, (program, case, options, _) in enumerate(cases):
        opts = "json_log_path=%s/case%d" % (tmp, i) + (":" + options if options else "")
        subprocess.run([program, case], env=environment(lib, opts), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60, check=False)
    logs = sorted(os.path.join(tmp, f) for f in os.listdir(tmp) if f.startswith("case"))
    done = subprocess.run([sys.executable, converter, "-o", os.path.join(tmp, "all.sarif"),
                           "--source-root", root] + logs, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          errors="replace", check=False)
    check(done.returncode == 0, "dbgalloc-sarif converts %d JSON logs" % len(logs), done.stdout)
    with open(os.path.join(tmp, "all.sarif"), encoding="utf-8") as f:
        log = json.load(f)
    errors = validate(log, schema)
    check(not errors, "the log of every class is valid against the SARIF 2.1.0 schema", "\n".join(errors))
    results = log["runs"][0]["results"]
    rules = {r["ruleId"] for r in results}
    wanted = {klass for _, _, _, klass in cases}
    check(wanted <= rules, "a result for every class (%d)" % len(wanted), sorted(wanted - rules))
    empty = [r["ruleId"] for r in results if "locations" in r and not r["locations"]]
    check(not empty, "no result has an empty location list", empty)
    unplaced = [r["ruleId"] for r in results if not r.get("locations")]
    check(not unplaced, "every result is located", unplaced)
    uris = [r["locations"][0]["physicalLocation"].get("artifactLocation", {}) for r in results if r.get("locations")]
    in_libc = [u for u in uris if re.search(r"sysdeps|csu/|libc", u.get("uri", ""))]
    check(not in_libc, "no result is located in libc's code", in_libc)
    outside = [u for u in uris if u and (u.get("uriBaseId") != "SRCROOT" or u["uri"].startswith("/"))]
    check(not outside, "every file is relative to SRCROOT", outside)
    base = log["runs"][0].get("originalUriBaseIds", {}).get("SRCROOT", {}).get("uri", "")
    check(base.startswith("file://") and base.endswith("/"), "SRCROOT is a file:// directory URI: %s" % base)
    leaks = {r["message"]["text"].split(" of ")[0]: r for r in results if r["ruleId"] == "memory-leak"}
    if check(set(leaks) >= {"Direct leak", "Indirect leak"}, "a direct and an indirect leak result", sorted(leaks)):
        direct, indirect = leaks["Direct leak"], leaks["Indirect leak"]
        check(direct["partialFingerprints"] != indirect["partialFingerprints"],
              "the direct leak and its indirect child have distinct fingerprints",
              [direct["partialFingerprints"], indirect["partialFingerprints"]])
        check(direct["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "tests/leaks/leak_cases.cpp",
              "a leak is located in the program's own code", direct["locations"])

    # Percent-encoding and --source-root, on a report naming an awkward file.
    line = {"tool": "dbgalloc", "pid": 1, "class": "double-free", "address": "0x10",
            "frames": [{"pc": "0x1", "function": "f", "file": "/src/dir with space/caf\u00e9#1.c", "line": 3}]}
    done = subprocess.run([sys.executable, converter, "--source-root", "/src"], input=json.dumps(line) + "\n",
                          stdout=subprocess.PIPE, errors="replace", check=False)
    awkward = json.loads(done.stdout)
    location = awkward["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    check(location == {"uri": "dir%20with%20space/caf%C3%A9%231.c", "uriBaseId": "SRCROOT"},
          "file URIs are percent-encoded and relative to --source-root", location)
    check(not validate(awkward, schema), "... and valid")

    # dbgalloc-run --sarif: the console keeps its text report.
    sarif = os.path.join(tmp, "run.sarif")
    env = dict(os.environ, DBGALLOC_LIB=lib)
    env.pop("DBGALLOC_OPTIONS", None)
    env.pop("LD_PRELOAD", None)
    done = subprocess.run([run, "--sarif=" + sarif, "--", bug_cases, "overflow_at_free"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, errors="replace", check=False)
    check(done.returncode == 23, "--sarif keeps the exit status", done.returncode)
    check("ERROR: dbgalloc: heap-buffer-overflow" in done.stderr and "SUMMARY: dbgalloc:" in done.stderr
          and not re.search(r"^\{", done.stderr, re.M), "--sarif leaves the console report as text", done.stderr)
    check(os.path.exists(sarif) and len(json.load(open(sarif))["runs"][0]["results"]) == 1,
          "... and writes the SARIF log")
    # --log-path honoured: the report goes to the log file, the SARIF log still has it.
    log_path = os.path.join(tmp, "report")
    done = subprocess.run([run, "--sarif=" + sarif, "--log-path=" + log_path, "--", bug_cases, "overflow_at_free"],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, errors="replace", check=False)
    written = [f for f in os.listdir(tmp) if f.startswith("report.")]
    text = open(os.path.join(tmp, written[0]), errors="replace").read() if written else ""
    check("ERROR: dbgalloc:" not in done.stderr and "ERROR: dbgalloc: heap-buffer-overflow" in text,
          "--sarif honours --log-path", done.stderr + text)
    check(len(json.load(open(sarif))["runs"][0]["results"]) == 1, "... and the SARIF log has the report")
    # --sarif with --pinpoint: two runs of the program.
    count = os.path.join(tmp, "runs")
    script = 'echo run >> "$0"; exec "$1" overflow_at_free'
    done = subprocess.run([run, "--sarif=" + sarif, "--pinpoint", "--", "bash", "-c", script, count, bug_cases],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, errors="replace", check=False)
    runs = open(count).read().count("run") if os.path.exists(count) else 0
    check(runs == 2, "--sarif --pinpoint runs the program twice (ran %d times)" % runs, done.stderr)
    check("the access itself:" in done.stderr and "SARIF log written" in done.stderr,
          "... pinpointing the access and writing the log", done.stderr)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
