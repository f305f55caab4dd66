#!/usr/bin/env python3
"""json_examples_test.py DOCS_DIR LIB BUG_CASES LEAK_CASES

The JSON examples in the docs are what dbgalloc prints: the example in docs/leaks.md
has the members and types (recursively; "..." stands for more of the same) of the
line `leak_cases indirect` prints with report_format=json, and so does the one in
docs/reports.md for `bug_cases overflow_at_free`. Every member either prints is named
in the schema table of docs/reports.md.
"""
import json
import os
import re
import subprocess
import sys


def shape(value):
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [item for item in value if item != "..." and not (isinstance(item, str) and item.startswith("... "))]
        return [shape(items[0])] if items else []
    return type(value).__name__


def members(value, into):
    if isinstance(value, dict):
        for key, item in value.items():
            into.add(key)
            members(item, into)
    elif isinstance(value, list):
        for item in value:
            members(item, into)
    return into


def json_block(path, after):
    text = open(path, encoding="utf-8").read()
    start = text.index(after)
    block = re.search(r"```json\n(.*?)```", text[start:], re.S)
    return json.loads(block.group(1)), text


def printed(program, case, lib):
    env = dict(os.environ, LD_PRELOAD=lib, DBGALLOC_OPTIONS="report_format=json")
    done = subprocess.run([program, case], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          errors="replace", timeout=60, check=False)
    return json.loads(next(line for line in done.stderr.splitlines() if line.startswith("{")))


def main():
    docs, lib, bug_cases, leak_cases = sys.argv[1:5]
    failed = 0
    reports_md = os.path.join(docs, "reports.md")
    cases = [(os.path.join(docs, "leaks.md"), "With `report_format=json`", leak_cases, "indirect"),
             (reports_md, "`bug_cases overflow_at_free` with `report_format=json`", bug_cases, "overflow_at_free")]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", open(reports_md, encoding="utf-8").read(), re.M))
    for path, anchor, program, case in cases:
        example, _ = json_block(path, anchor)
        real = printed(program, case, lib)
        name = "%s's example of %s %s" % (os.path.basename(path), os.path.basename(program), case)
        if shape(example) == shape(real):
            print("ok: %s has the members and types printed" % name)
        else:
            failed = 1
            print("FAIL: %s differs from what is printed:\n  documented: %s\n  printed:    %s"
                  % (name, json.dumps(shape(example)), json.dumps(shape(real))))
        undocumented = sorted(members(real, set()) - documented)
        if undocumented:
            failed = 1
            print("FAIL: members printed but not in the schema table of docs/reports.md: %s" % undocumented)
        else:
            print("ok: every member of %s %s is in the schema table" % (os.path.basename(program), case))
    return failed


if __name__ == "__main__":
    sys.exit(main())
