#!/usr/bin/env python3
"""dbgalloc benchmark suite (issue 8): the same work under glibc, dbgalloc's modes and
every peer that is installed, interleaved, with time and peak-RSS ratios against glibc.

Workloads:
  synthetic  mix, prodcons, realloc_grow, containers, and in the style of the classic
             allocator benchmarks tiny, server, thread_churn, bignum, tls_scale
             (tools/bench/suite/workloads/, built by meson as wl_NAME and, with
             -fsanitize=address, wl_NAME_asan)
  process    fork_heavy (3 threads fork 64 children), exec_true (200 runs of a program
             that allocates nothing): built the same way
  programs   python3 (/usr/bin/python3, PYTHONMALLOC=malloc), sqlite3, g++ -O2 -c, perl
             (tools/bench/suite/programs/)

Modes (columns): glibc; dbgalloc default (no options, as users run it: the exit leak
check on), guard=sample:1000, guard=all, and the default taken apart: core
(canaries=0), checks, nostacks, noleak (all four with detect_leaks=0); and where
installed: jemalloc, Electric Fence, DUMA, scudo (LD_PRELOAD), ASan (the synthetic and
process workloads rebuilt with -fsanitize=address, its defaults) and valgrind memcheck
(the real programs only).

Every repetition runs every workload under every mode (round robin, the order rotated
each repetition) so machine noise falls on all alike; figures are medians over the
repetitions. Wall time and the child's peak RSS (ru_maxrss from wait4: the largest
process of the tree, for g++ that is cc1plus) are measured. A run that crashes, times
out, exits non-zero or prints other output than glibc's run is a failure, shown with
its reason.

CI regression step:
  run.py --quick --check-baseline tools/bench/suite/baseline.json
runs the synthetic workloads small, 3 repetitions, glibc and default only, and exits 1
when a workload's default/glibc time ratio is above 1.25x its ratio in the baseline
(workloads over the limit are run again once and judged on all their repetitions, so a
burst of noise alone does not fail it). --record-baseline FILE writes the baseline.

Python 3 standard library only.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from figures import anatomy, fmt_ratio, metrics_table, svg_chart, targets, targets_issue14

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PROGRAMS = HERE / "programs"
SYSTEM_PYTHON = "/usr/bin/python3"
THRESHOLD = 1.25  # default-mode ratio may grow this much over the baseline ratio

# ---------------------------------------------------------------------------------
# Workloads


class Workload:
    def __init__(self, name, kind, label, full, quick, argv, stdin=None, env=None, asan=True,
                 timeout_factor=None):
        self.name = name
        self.timeout_factor = timeout_factor  # x glibc's time, when longer than the mode's
        self.env = env or {}  # set under every mode (the glibc baseline too)
        self.asan = asan  # has a -fsanitize=address build
        self.kind = kind  # "synthetic" or "program"
        self.label = label
        self.full = full  # size argument, full mode
        self.quick = quick  # size argument, --quick mode (None: not in quick mode)
        self._argv = argv  # function(size, ctx, asan) -> argv list
        self._stdin = stdin  # function(size, ctx) -> path or None

    def argv(self, size, ctx, asan=False):
        return self._argv(size, ctx, asan)

    def stdin(self, size, ctx):
        return self._stdin(size, ctx) if self._stdin else None


def synthetic(name, label, full, quick, kind="synthetic", timeout_factor=None):
    def argv(size, ctx, asan):
        exe = Path(ctx.workload_dir) / ("wl_" + name + ("_asan" if asan else ""))
        return [str(exe), str(size)]

    return Workload(name, kind, label, full, quick, argv, timeout_factor=timeout_factor)


def sql_stdin(size, ctx):
    path = Path(ctx.tmp) / ("bench-%d.sql" % size)
    if not path.exists():
        text = (PROGRAMS / "bench.sql").read_text().replace("@N@", str(size))
        path.write_text(text)
    return str(path)


WORKLOADS = [
    synthetic("mix", "random mix, 1 thread, 10k live, 8 B-64 KiB", 4000000, 2000000),
    synthetic("prodcons", "producer/consumer, 2 threads, cross-thread frees", 4000000, 2000000),
    synthetic("realloc_grow", "strings and vectors grown by realloc", 2000000, 1000000),
    synthetic("containers", "C++ map/unordered_map/string/vector churn", 300000, 150000),
    # In the style of the classic allocator benchmarks (issue 14).
    synthetic("tiny", "millions of tiny short-lived objects (expression trees, names), 1 thread",
              1500000, None),
    synthetic("server", "server, 4 threads, tables of live blocks passed on: frees by other threads",
              4000000, None),
    synthetic("thread_churn", "thread-local churn, 4 threads, each frees its own blocks", 4000000, None),
    # Past 30x glibc in the default mode: a longer leash, so the figure is a ratio.
    synthetic("bignum", "bignum factorizer (Pollard rho; a fresh number per operation)", 30, None,
              timeout_factor=100),
    synthetic("tls_scale", "thread-local data, 1 thread then 2: prints the scaling", 1500000, None),
    # What a process costs: the kind "process" has the ASan build too.
    synthetic("fork_heavy", "3 threads with live heaps fork 64 children that exit()", 64, None,
              kind="process", timeout_factor=100),
    synthetic("exec_true", "200 runs of a program that allocates nothing (fork + exec)", 200, None,
              kind="process"),
    # As a memory debugger is used: every object through malloc, not pymalloc's arenas.
    Workload("python3", "program", "python3 script (json, dicts, sort), PYTHONMALLOC=malloc", 30, None,
             lambda n, ctx, asan: [SYSTEM_PYTHON, str(PROGRAMS / "bench.py"), str(n)],
             env={"PYTHONMALLOC": "malloc"}, asan=False),
    Workload("sqlite3", "program", "sqlite3 in-memory script (insert, index, join)", 250000, None,
             lambda n, ctx, asan: [shutil.which("sqlite3") or "sqlite3", ":memory:"],
             stdin=sql_stdin, asan=False),
    Workload("g++", "program", "g++ -O2 -c of a C++17 file", 1, None,
             lambda n, ctx, asan: [shutil.which("g++") or "g++", "-O2", "-std=c++17", "-c",
                                   str(PROGRAMS / "compile.cpp"), "-o",
                                   str(Path(ctx.tmp) / "compile.o")], asan=False),
    Workload("perl", "program", "perl script (hashes, regexes, sort)", 25, None,
             lambda n, ctx, asan: [shutil.which("perl") or "perl", str(PROGRAMS / "bench.pl"),
                                   str(n)], asan=False),
]

# ---------------------------------------------------------------------------------
# Modes


class Mode:
    def __init__(self, name, label, applies="all", preload=None, env=None, asan=False,
                 wrapper=None, quick=False, missing=None, max_reps=None, timeout=None,
                 timeout_factor=None):
        self.name = name
        self.label = label
        self.applies = applies  # "all", "synthetic" or "program"
        self.preload = preload
        self.env = env or {}
        self.asan = asan  # run the workload's -fsanitize=address build
        self.wrapper = wrapper or []
        self.quick = quick  # part of --quick
        self.missing = missing  # why it cannot run here (None: available)
        self.max_reps = max_reps
        self.timeout = timeout  # cap in seconds (default: --timeout)
        self.timeout_factor = timeout_factor  # x glibc's time (default: --timeout-factor)

    def applies_to(self, w):
        if self.asan:
            return w.asan
        return self.applies == "all" or self.applies == w.kind


# The modes that take the default mode apart leave the exit leak check out (noleak is
# the default without it); default, sample and guardall are as users run them.
DBG_BASE = "detect_leaks=0"


def find_library(soname, globs):
    """Path of an installed shared library: from ldconfig's cache, else by glob."""
    try:
        out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True,
                             timeout=20).stdout
        for line in out.splitlines():
            line = line.strip()
            if line.startswith(soname + " ") and "=>" in line and "x86-64" in line:
                return line.split("=>", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    for pattern in globs:
        hits = sorted(Path("/").glob(pattern.lstrip("/")))
        if hits:
            return str(hits[0])
    return None


def preload_works(lib):
    """True when LD_PRELOAD=lib runs /bin/true cleanly (no loader complaint)."""
    env = dict(os.environ, LD_PRELOAD=lib)
    try:
        r = subprocess.run(["/bin/true"], env=env, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and "cannot be preloaded" not in r.stderr


def scudo_library():
    clang = shutil.which("clang")
    if not clang:
        return None, "clang not installed (scudo comes with its runtime)"
    try:
        res = subprocess.run([clang, "-print-resource-dir"], capture_output=True, text=True,
                             timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None, "clang -print-resource-dir failed"
    for name in ("libclang_rt.scudo_standalone-x86_64.so", "libclang_rt.scudo-x86_64.so"):
        lib = Path(res) / "lib" / "linux" / name
        if lib.exists():
            if preload_works(str(lib)):
                return str(lib), None
    return None, "no scudo runtime under %s/lib/linux that works as LD_PRELOAD" % res


def build_modes(args):
    lib = args.lib
    modes = [
        Mode("glibc", "glibc", quick=True),
        Mode("core", "dbgalloc core (canaries=0)", preload=lib,
             env={"DBGALLOC_OPTIONS": DBG_BASE + ":canaries=0"}),
        Mode("default", "dbgalloc default (no options: exit leak check on)", preload=lib, quick=True),
        Mode("noleak", "dbgalloc default without the exit leak check (detect_leaks=0)", preload=lib,
             env={"DBGALLOC_OPTIONS": DBG_BASE}),
        # What the default mode's checks cost, piece by piece (the anatomy section).
        Mode("checks", "dbgalloc headers, canaries and fills only (quarantine_mb=0, "
             "malloc_stack_depth=0)", preload=lib,
             env={"DBGALLOC_OPTIONS": DBG_BASE + ":quarantine_mb=0:malloc_stack_depth=0"}),
        Mode("nostacks", "dbgalloc default without stacks (malloc_stack_depth=0)", preload=lib,
             env={"DBGALLOC_OPTIONS": DBG_BASE + ":malloc_stack_depth=0"}),
        Mode("sample", "dbgalloc guard=sample:1000", preload=lib,
             env={"DBGALLOC_OPTIONS": "guard=sample:1000"}),
        # guard=all is slow by nature; what its target asks is that it finishes: a
        # longer leash than the others' before it counts as a timeout.
        Mode("guardall", "dbgalloc guard=all", preload=lib,
             env={"DBGALLOC_OPTIONS": "guard=all"}, timeout_factor=100),
    ]
    asan_ok = all((Path(args.workload_dir) / ("wl_%s_asan" % w.name)).exists()
                  for w in WORKLOADS if w.asan)
    modes.append(Mode("asan", "ASan (rebuilt, -fsanitize=address, its defaults: leak check on)",
                      applies="synthetic", asan=True,
                      missing=None if asan_ok else
                      "no wl_*_asan builds in %s (compiler cannot link -fsanitize=address)"
                      % args.workload_dir))
    je = find_library("libjemalloc.so.2", ["/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
                                           "/usr/local/lib/libjemalloc.so*"])
    modes.append(Mode("jemalloc", "jemalloc", preload=je,
                      missing=None if je else "libjemalloc.so.2 not installed (apt: libjemalloc2)"))
    ef = find_library("libefence.so.0", ["/usr/lib/libefence.so*",
                                         "/usr/lib/x86_64-linux-gnu/libefence.so*"])
    modes.append(Mode("efence", "Electric Fence", preload=ef,
                      missing=None if ef else "libefence.so not installed (apt: electric-fence)"))
    du = find_library("libduma.so.0", ["/usr/lib/libduma.so*", "/usr/lib/x86_64-linux-gnu/libduma.so*"])
    modes.append(Mode("duma", "DUMA", preload=du, env={"DUMA_DISABLE_BANNER": "1"},
                      missing=None if du else "libduma.so not installed (apt: duma)"))
    sc, why = scudo_library()
    modes.append(Mode("scudo", "scudo", preload=sc, missing=why))
    vg = shutil.which("valgrind")
    modes.append(Mode("valgrind", "valgrind memcheck", applies="program",
                      wrapper=[vg or "valgrind", "--tool=memcheck", "--leak-check=no",
                               "--trace-children=yes", "-q"],
                      missing=None if vg else "valgrind not installed (apt: valgrind)",
                      max_reps=args.valgrind_reps, timeout=max(args.timeout, 900),
                      timeout_factor=args.valgrind_timeout_factor))
    return modes


# ---------------------------------------------------------------------------------
# Running


class Result:
    def __init__(self, ok, wall=None, rss_kb=None, reason=None, out_hash=None, cpu=None, metrics=None):
        self.ok = ok
        self.metrics = metrics or {}  # "bench-metric NAME=VALUE" lines of the child's stderr
        self.cpu = cpu
        self.wall = wall
        self.rss_kb = rss_kb
        self.reason = reason
        self.out_hash = out_hash


def last_line(text):
    """The line of a failed run's stderr that says most: the last one naming an error
    among the last twenty, else the last line."""
    lines = [x.strip() for x in text.splitlines() if x.strip()][-20:]
    for line in reversed(lines):
        low = line.lower()
        if any(k in low for k in ("error", "fatal", "failed", "cannot", "abort", "limit")):
            return line[:120]
    return lines[-1][:120] if lines else ""


def run_once(argv, env, stdin_path, timeout, cwd, spawn):
    """One run of argv under env, through the bench_spawn launcher (spawn: its path),
    which reports the child's wall time and peak RSS. The child's LD_PRELOAD, if any,
    is passed as BENCH_SPAWN_LD_PRELOAD so the launcher itself runs without it."""
    out = tempfile.TemporaryFile(dir=cwd)
    err = tempfile.TemporaryFile(dir=cwd)
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    env = dict(env)
    if "LD_PRELOAD" in env:
        env["BENCH_SPAWN_LD_PRELOAD"] = env.pop("LD_PRELOAD")
    rfd, wfd = os.pipe()
    timed_out = threading.Event()
    try:
        try:
            p = subprocess.Popen([spawn, str(wfd)] + argv, env=env, stdin=stdin, stdout=out,
                                 stderr=err, cwd=cwd, start_new_session=True, pass_fds=(wfd,))
        except OSError as e:
            return Result(False, reason="cannot start: %s" % e)
        finally:
            os.close(wfd)

        def kill():
            timed_out.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            report = b""
            while True:
                chunk = os.read(rfd, 256)
                if not chunk:
                    break
                report += chunk
            p.wait()
        except BaseException:
            kill()  # interrupted (^C, SIGTERM): take the child's session down with us
            raise
        finally:
            timer.cancel()
        # Whatever the child left behind in its session (a daemon, a stuck grandchild).
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        out.seek(0)
        stdout = out.read()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    finally:
        os.close(rfd)
        out.close()
        err.close()
        if stdin_path:
            stdin.close()
    if timed_out.is_set():
        return Result(False, None, None, "timeout: stopped after %ds" % timeout)
    try:
        status, wall, rss, cpu = report.split()
        status, wall, rss, cpu = int(status), float(wall), int(rss), float(cpu)
    except ValueError:
        return Result(False, None, None, "launcher failed (exit %s): %s" % (p.returncode, last_line(stderr)))
    code = os.waitstatus_to_exitcode(status)
    # A leak report at exit (dbgalloc's or LeakSanitizer's exit status 23) is the tool at
    # work on a program that leaks (perl and cc1plus do not free everything): the run did
    # the whole work and is timed; run.py lists it under the tables.
    leaked = code == 23 and ("ERROR: dbgalloc: detected memory leaks" in stderr
                             or "ERROR: LeakSanitizer: detected memory leaks" in stderr)
    if code != 0 and not leaked:
        if code < 0:
            try:
                what = signal.Signals(-code).name
            except ValueError:
                what = "signal %d" % -code
        else:
            what = "exit %d" % code
        detail = last_line(stderr)
        low = stderr.lower()
        if "cannot allocate memory" in low or "enomem" in low or "out of memory" in low \
                or "map count" in low or "max_map_count" in low or "page mappings" in low \
                or "mprotect() failed" in low or "mmap() failed" in low:
            what += ", out of memory/mappings"
        return Result(False, wall, rss, what + (": " + detail if detail else ""))
    metrics = {}
    for line in stderr.splitlines():
        if line.startswith("bench-metric ") and "=" in line:
            key, _, value = line[len("bench-metric "):].partition("=")
            try:
                metrics[key.strip()] = float(value)
            except ValueError:
                pass
    r = Result(True, wall, rss, out_hash=hashlib.sha1(stdout).hexdigest(), cpu=cpu, metrics=metrics)
    r.leaked = leaked
    return r


class Context:
    def __init__(self, workload_dir, tmp):
        self.workload_dir = workload_dir
        self.tmp = tmp
        self.spawn = str(Path(workload_dir) / "bench_spawn")


def child_env(mode, workload):
    env = dict(os.environ)
    # Every allocator with its defaults: no outside options, and none of glibc's malloc
    # debugging (meson test sets MALLOC_PERTURB_, which fills every block glibc hands out
    # or takes back and would make the glibc baseline several times slower).
    for k in ("LD_PRELOAD", "DBGALLOC_OPTIONS", "ASAN_OPTIONS", "MALLOC_CONF", "MALLOC_PERTURB_",
              "MALLOC_CHECK_", "GLIBC_TUNABLES", "EF_ALIGNMENT", "EF_PROTECT_BELOW",
              "EF_PROTECT_FREE", "DUMA_OPTIONS", "SCUDO_OPTIONS", "VALGRIND_OPTS"):
        env.pop(k, None)
    env.update(workload.env)
    env.update(mode.env)
    if mode.preload:
        env["LD_PRELOAD"] = mode.preload
    # The system interpreter, not a pyenv shim's, and no user site packages.
    env.pop("PYTHONPATH", None)
    env["PYTHONNOUSERSITE"] = "1"
    env["LC_ALL"] = "C"
    return env


class Progress:
    def __init__(self, total):
        self.total = total
        self.done = 0
        self.tty = sys.stderr.isatty()
        self.t0 = time.monotonic()

    def show(self, text):
        self.done += 1
        line = "[%d/%d %ds] %s" % (self.done, self.total, time.monotonic() - self.t0, text)
        if self.tty:
            sys.stderr.write("\r\x1b[K" + line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def end(self):
        if self.tty:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.write("done: %d runs in %ds\n" % (self.done, time.monotonic() - self.t0))
        sys.stderr.flush()


def run_matrix(workloads, modes, reps, sizes, args, ctx, samples=None):
    """samples[(w, m)] -> list of Result; extends an existing dict when given."""
    samples = samples if samples is not None else {}
    cells = [(w, m) for w in workloads for m in modes if m.applies_to(w) and not m.missing]
    total = sum(min(reps, m.max_reps or reps) for w, m in cells)
    progress = Progress(total)
    failed = set(k for k, v in samples.items() if v and not v[-1].ok)
    for rep in range(reps):
        for w in workloads:
            todo = [m for m in modes if m.applies_to(w) and not m.missing]
            k = rep % len(todo) if todo else 0
            # glibc first the first time (its time sets the others' timeouts), then the
            # order rotates so no mode always runs right after the same one.
            for m in todo[k:] + todo[:k]:
                key = (w.name, m.name)
                have = samples.setdefault(key, [])
                if m.max_reps and len([r for r in have if r.ok]) >= m.max_reps:
                    continue
                if key in failed:
                    progress.show("%s under %s: skipped (failed before)" % (w.name, m.name))
                    continue
                size = sizes[w.name]
                progress.show("rep %d/%d: %s (%s) under %s" % (rep + 1, reps, w.name, size, m.name))
                limit = m.timeout or args.timeout
                ref = [x.wall for x in samples.get((w.name, "glibc"), []) if x.ok]
                if ref and m.name != "glibc":
                    factor = max(m.timeout_factor or args.timeout_factor, w.timeout_factor or 0)
                    limit = min(limit, max(args.min_timeout, factor * min(ref)))
                r = run_once(m.wrapper + w.argv(size, ctx, m.asan), child_env(m, w),
                             w.stdin(size, ctx), limit, ctx.tmp, ctx.spawn)
                if r.reason and r.reason.startswith("timeout") and ref and m.name != "glibc":
                    r.reason += " (%.0fx glibc's time)" % (limit / min(ref))
                have.append(r)
                if not r.ok:
                    failed.add(key)
    progress.end()
    # Output must be glibc's: the same work was done.
    for w in workloads:
        ref = [r.out_hash for r in samples.get((w.name, "glibc"), []) if r.ok]
        if not ref:
            continue
        for m in modes:
            rs = samples.get((w.name, m.name), [])
            for r in rs:
                if r.ok and r.out_hash != ref[0]:
                    r.ok = False
                    r.reason = "output differs from glibc's"
    return samples


# ---------------------------------------------------------------------------------
# Figures


def cell(samples, w, m):
    """(status, time median s, rss median KiB, reason, reps)."""
    rs = samples.get((w, m), [])
    if not rs:
        return None
    bad = [r for r in rs if not r.ok]
    if bad:
        return {"ok": False, "reason": bad[0].reason, "reps": len(rs)}
    keys = set(k for r in rs for k in r.metrics)
    leaked = any(getattr(r, "leaked", False) for r in rs)
    return {"ok": True, "time": statistics.median(r.wall for r in rs),
            "metrics": {k: statistics.median(r.metrics[k] for r in rs if k in r.metrics) for k in keys},
            "leaked": leaked,
            "cpu": statistics.median(r.cpu for r in rs),
            "tmin": min(r.wall for r in rs), "tmax": max(r.wall for r in rs),
            "rss": statistics.median(r.rss_kb for r in rs), "reps": len(rs)}


def ratios(samples, workloads, modes):
    """table[w][m] = cell dict plus 'tr' and 'mr' (ratios against glibc) when ok."""
    table = {}
    for w in workloads:
        base = cell(samples, w.name, "glibc")
        row = {}
        for m in modes:
            if not m.applies_to(w):
                row[m.name] = {"na": True}
                continue
            if m.missing:
                row[m.name] = {"missing": True}
                continue
            c = cell(samples, w.name, m.name)
            if c is None:
                row[m.name] = {"missing": True}
                continue
            if c["ok"] and base and base["ok"]:
                c["tr"] = c["time"] / base["time"]
                c["cr"] = c["cpu"] / base["cpu"]
                c["mr"] = c["rss"] / base["rss"]
            row[m.name] = c
        table[w.name] = row
    return table


def render_tables(table, workloads, modes, markdown):
    """Two tables (time, peak RSS) and the failure notes; text or markdown."""
    shown = [m for m in modes if not m.missing]
    notes = []

    def text(c, key):
        if c.get("na"):
            return "-"
        if c.get("missing"):
            return "?"
        if not c.get("ok"):
            reason = c.get("reason") or "failed"
            if reason not in notes:
                notes.append(reason)
            return "FAIL[%d]" % (notes.index(reason) + 1)
        return fmt_ratio(c[key]) if key in c else "?"

    out = []
    for title, key in (("wall time (median) / glibc", "tr"), ("peak RSS (median) / glibc", "mr"),
                       ("CPU time, user+system (median) / glibc", "cr")):
        head = ["workload", "glibc " + ("MiB" if key == "mr" else "s")] + [m.name for m in shown[1:]]
        rows = []
        for w in workloads:
            row = table[w.name]
            base = row.get("glibc", {})
            if base.get("ok"):
                b = {"tr": "%.2f" % base["time"], "cr": "%.2f" % base["cpu"],
                     "mr": "%.1f" % (base["rss"] / 1024)}[key]
            else:
                b = text(base, key)
            rows.append([w.name, b] + [text(row[m.name], key) for m in shown[1:]])
        if markdown:
            out.append("**%s**\n" % title)
            out.append("| " + " | ".join(head) + " |")
            out.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
            for r in rows:
                out.append("| " + " | ".join(r) + " |")
            out.append("")
        else:
            widths = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
            out.append(title + ":")
            out.append("  ".join(h.ljust(widths[i]) if i == 0 else h.rjust(widths[i])
                                 for i, h in enumerate(head)))
            for r in rows:
                out.append("  ".join(x.ljust(widths[i]) if i == 0 else x.rjust(widths[i])
                                     for i, x in enumerate(r)))
            out.append("")
    leaks = ["%s under %s" % (w.name, m.name) for w in workloads for m in shown[1:]
             if table[w.name].get(m.name, {}).get("leaked")]
    if leaks:
        out.append(("Reported leaks at exit (exit status 23, the whole work done and timed): %s"
                    % ", ".join(leaks)) + ("\n" if markdown else ""))
    if notes:
        out.append("failures:" if not markdown else "Failures:\n")
        for i, n in enumerate(notes):
            out.append(("  [%d] %s" if not markdown else "- [%d] %s") % (i + 1, n))
        out.append("")
    return "\n".join(out)


def legend_modes(modes, args):
    lines = []
    given = os.path.relpath(os.path.abspath(args.lib_given), REPO) \
        if os.path.abspath(args.lib_given).startswith(str(REPO)) else args.lib_given
    for m in modes:
        if m.missing:
            continue
        what = m.label
        if m.preload and m.name not in ("glibc",):
            what += " (LD_PRELOAD=%s%s)" % (given if m.preload == args.lib else m.preload, "".join(
                " %s=%s" % kv for kv in sorted(m.env.items())))
        elif m.env:
            what += " (" + " ".join("%s=%s" % kv for kv in sorted(m.env.items())) + ")"
        if m.wrapper:
            what += " (`%s`)" % " ".join(Path(m.wrapper[0]).name if i == 0 else a
                                         for i, a in enumerate(m.wrapper))
        if m.applies != "all":
            what += "; %s workloads only" % ("synthetic" if m.applies == "synthetic" else "real-program")
        if m.max_reps:
            what += "; at most %d repetition(s)" % m.max_reps
        lines.append("- `%s`: %s" % (m.name, what))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------
# Machine description


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        maps = open("/proc/sys/vm/max_map_count").read().strip()
    except OSError:
        maps = "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "max_map_count": maps}


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no",
                                "src"], capture_output=True, text=True, timeout=20).stdout.strip()
        return rev + (" (with uncommitted changes in src/)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def tool_versions():
    v = {}
    for name, argv in (("gcc", ["gcc", "-dumpfullversion"]), ("python3", [SYSTEM_PYTHON, "--version"]),
                       ("sqlite3", ["sqlite3", "--version"]), ("perl", ["perl", "-e", "print $^V"])):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
            v[name] = out.split()[0] if name == "sqlite3" else out.split()[-1] if out else "?"
        except (OSError, subprocess.SubprocessError, IndexError):
            v[name] = "?"
    for pkg in ("libjemalloc2", "electric-fence", "duma", "valgrind", "clang"):
        try:
            out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True,
                                 text=True, timeout=20)
            v[pkg] = out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None
        except (OSError, subprocess.SubprocessError):
            v[pkg] = None
    return v


# ---------------------------------------------------------------------------------
# Baseline


def default_ratios(samples, workloads):
    out = {}
    for w in workloads:
        g, d = cell(samples, w.name, "glibc"), cell(samples, w.name, "default")
        if g and d and g["ok"] and d["ok"]:
            out[w.name] = {"wall_ratio": round(d["time"] / g["time"], 3),
                           "cpu_ratio": round(d["cpu"] / g["cpu"], 3),
                           "glibc_wall_s": round(g["time"], 4), "default_wall_s": round(d["time"], 4),
                           "glibc_cpu_s": round(g["cpu"], 4), "default_cpu_s": round(d["cpu"], 4),
                           "reps": d["reps"]}
        else:
            bad = d if d and not d["ok"] else g
            out[w.name] = {"failed": (bad or {}).get("reason") or "no runs"}
    return out


def check_baseline(path, samples, workloads, modes, sizes, args, ctx):
    base = json.loads(Path(path).read_text())
    bw = base.get("workloads", {})
    threshold = float(base.get("threshold", THRESHOLD))
    metric = args.check_metric
    key = metric + "_ratio"
    differ = [w.name for w in workloads if w.name in base.get("sizes", {})
              and base["sizes"][w.name] != sizes[w.name]]
    if differ:
        print("baseline %s was recorded with other sizes for %s (%s); re-record it with "
              "--record-baseline" % (path, ", ".join(differ), base["sizes"]), file=sys.stderr)
        return 1
    if not bw:
        print("baseline %s holds no workloads; record it with --record-baseline" % path, file=sys.stderr)
        return 1

    # A workload may carry its own threshold (the 2-thread one needs both CPUs at once
    # and swings more than the others on a shared machine).
    limit_of = {w.name: float(base.get("thresholds", {}).get(w.name, threshold)) for w in workloads}

    def over_limit(now):
        return [w for w in workloads if w.name in bw and
                (now[w.name].get("failed") or now[w.name][key] > limit_of[w.name] * bw[w.name][key])]

    now = default_ratios(samples, workloads)
    over = over_limit(now)
    if over:
        # One more set of repetitions for those, judged on all of them: a burst of noise
        # from another process should not fail the check, a real regression still does.
        print("over the limit: %s; running them again (%d repetitions)"
              % (", ".join(w.name for w in over), args.reps), file=sys.stderr)
        samples = run_matrix(over, modes, args.reps, sizes, args, ctx, samples)
        now = default_ratios(samples, workloads)
    status = 0
    print("regression check against %s: default/glibc %s-time ratio may be at most %.2fx the "
          "recorded one" % (path, metric.upper() if metric == "cpu" else metric, threshold))
    print("%-13s %9s %9s %9s  %-10s %s" % ("workload", "baseline", "now", "limit", "verdict",
                                         "(other ratio; medians glibc/default, s)"))
    other = "wall" if metric == "cpu" else "cpu"
    for w in workloads:
        if w.name not in bw:
            print("%-13s %9s %9s %9s  %s" % (w.name, "-", "-", "-", "not in baseline"))
            continue
        b = bw[w.name][key]
        n = now[w.name]
        if n.get("failed"):
            print("%-13s %9.2f %9s %9.2f  FAIL: %s" % (w.name, b, "-", limit_of[w.name] * b, n["failed"]))
            status = 1
            continue
        ok = n[key] <= limit_of[w.name] * b
        print("%-13s %9.2f %9.2f %9.2f  %-10s (%s %.2f, baseline %.2f; %s %.3f/%.3f, %d reps)"
              % (w.name, b, n[key], limit_of[w.name] * b, "ok" if ok else "REGRESSION", other,
                 n[other + "_ratio"], bw[w.name].get(other + "_ratio", float("nan")), metric,
                 n["glibc_%s_s" % metric], n["default_%s_s" % metric], n["reps"]))
        if not ok:
            status = 1
    print("bench_regression: %s" % ("FAILED" if status else "passed"))
    return status


def record_baseline(path, samples, workloads, sizes, args):
    now = default_ratios(samples, workloads)
    bad = [w for w, v in now.items() if v.get("failed")]
    if bad:
        print("not recording: %s failed" % ", ".join(bad), file=sys.stderr)
        return 1
    load = os.getloadavg()
    try:
        kept = json.loads(Path(path).read_text()).get("thresholds")
    except (OSError, ValueError):
        kept = None
    doc = {
        "what": "dbgalloc default-mode time ratio against glibc per synthetic workload "
                "(run.py --quick); the CI check fails above threshold x ratio",
        "threshold": THRESHOLD,
        # Kept from the file being replaced: per-workload thresholds are a decision, not a
        # measurement.
        "thresholds": kept if kept is not None else {"prodcons": 1.5},
        "recorded": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "dbgalloc": git_rev(),
        "load_average_at_end": [round(x, 2) for x in load],
        "sizes": {w.name: sizes[w.name] for w in workloads},
        "workloads": now,
    }
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")
    print("baseline written to %s" % path)
    return 0


# ---------------------------------------------------------------------------------


def install_peers():
    pkgs = ["libjemalloc2", "electric-fence", "duma"]
    cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + pkgs
    if os.geteuid() != 0:
        cmd = ["sudo"] + cmd
    print("--install-peers: %s" % " ".join(cmd), file=sys.stderr)
    r = subprocess.run(cmd)
    if r.returncode != 0:
        print("--install-peers: apt-get failed (exit %d); running with what is installed"
              % r.returncode, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default=str(REPO / "build" / "src" / "libdbgalloc.so"),
                    help="libdbgalloc.so to preload (default: %(default)s)")
    ap.add_argument("--workload-dir", help="where meson built wl_* (default: "
                    "LIB's build directory/tools/bench/suite)")
    ap.add_argument("--reps", type=int, help="repetitions (default 5; 3 with --quick)")
    ap.add_argument("--valgrind-reps", type=int, default=1, help="repetitions under valgrind (default 1)")
    ap.add_argument("--timeout", type=int, default=300, help="most seconds a run may take before "
                    "it counts as failed (default %(default)s; valgrind: at least 900)")
    ap.add_argument("--timeout-factor", type=float, default=30, help="a run is also stopped after "
                    "this many times glibc's time on the same workload, but not before "
                    "--min-timeout (default %(default)s)")
    ap.add_argument("--valgrind-timeout-factor", type=float, default=120, help="the same for "
                    "valgrind (default %(default)s)")
    ap.add_argument("--min-timeout", type=float, default=20, help="(default %(default)s s)")
    ap.add_argument("--quick", action="store_true", help="CI mode: synthetic workloads, small, "
                    "glibc and default only, 3 repetitions")
    ap.add_argument("--workloads", help="comma-separated subset of: " + ",".join(w.name for w in WORKLOADS))
    ap.add_argument("--modes", help="comma-separated subset of the modes (glibc is always run)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every workload size (default 1)")
    ap.add_argument("--check-baseline", metavar="FILE", help="fail when a default-mode ratio "
                    "is above %.2fx its ratio in FILE" % THRESHOLD)
    ap.add_argument("--check-metric", choices=("cpu", "wall"), default="cpu",
                    help="which time the check compares: the child's CPU time (user+system, "
                    "default: waiting for a busy machine's CPUs does not count) or wall time")
    ap.add_argument("--record-baseline", metavar="FILE", help="write the default-mode ratios to FILE")
    ap.add_argument("--write-docs", action="store_true", help="write docs/performance.md and "
                    "docs/performance.svg")
    ap.add_argument("--docs-dir", default=str(REPO / "docs"), help="(default: %(default)s)")
    ap.add_argument("--json", metavar="FILE", help="also write every sample to FILE")
    ap.add_argument("--install-peers", action="store_true", help="apt-get install jemalloc, "
                    "Electric Fence and DUMA first (never done without this flag)")
    ap.add_argument("--list", action="store_true", help="list workloads and modes (and why a "
                    "mode is unavailable), then exit")
    args = ap.parse_args()

    if not Path(args.lib).exists():
        ap.error("no library at %s (build it, or pass --lib)" % args.lib)
    if not args.workload_dir:
        # --lib may name a symlink (build/src/libdbgalloc.so -> .so.0 -> .so.0.1.0): the
        # build directory is the one that holds the name given.
        args.workload_dir = str(Path(os.path.abspath(args.lib)).parent.parent / "tools" / "bench" / "suite")
    reps = args.reps or (3 if args.quick else 5)
    args.reps = reps
    if args.install_peers:
        install_peers()

    # Run a copy of the library: a rebuild during the run (ninja in a shared build
    # directory) must neither change the figures half-way nor break the runs.
    tmp = tempfile.mkdtemp(prefix="dbgalloc-bench-")
    args.lib_given = args.lib
    args.lib = str(shutil.copy2(os.path.realpath(args.lib), Path(tmp) / "libdbgalloc.so"))
    try:
        return run(ap, args, reps, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(ap, args, reps, tmp):
    modes = build_modes(args)
    workloads = list(WORKLOADS)
    if args.quick:
        workloads = [w for w in workloads if w.quick]
        modes = [m for m in modes if m.quick]
    if args.workloads:
        names = args.workloads.split(",")
        unknown = set(names) - {w.name for w in WORKLOADS}
        if unknown:
            ap.error("unknown workloads: %s" % ", ".join(sorted(unknown)))
        workloads = [w for w in workloads if w.name in names]
    if args.modes:
        names = set(args.modes.split(",")) | {"glibc"}
        unknown = names - {m.name for m in build_modes(args)}
        if unknown:
            ap.error("unknown modes: %s" % ", ".join(sorted(unknown)))
        modes = [m for m in modes if m.name in names]
    if args.check_baseline or args.record_baseline:
        if not any(m.name == "default" for m in modes):
            ap.error("the baseline is about the default mode: do not leave it out")

    if args.list:
        for w in workloads:
            print("workload %-13s %-9s size %s%s  %s" % (w.name, w.kind, w.full,
                  " (quick %s)" % w.quick if w.quick else "", w.label))
        for m in modes:
            print("mode     %-13s %s%s" % (m.name, m.label, "  UNAVAILABLE: " + m.missing if m.missing else ""))
        return 0

    missing_wl = [w.name for w in workloads if w.kind in ("synthetic", "process")
                  and not (Path(args.workload_dir) / ("wl_" + w.name)).exists()]
    if not (Path(args.workload_dir) / "bench_spawn").exists():
        missing_wl.insert(0, "bench_spawn")
    if missing_wl:
        ap.error("workloads not built in %s: %s (ninja -C BUILD, or pass --workload-dir)"
                 % (args.workload_dir, ", ".join(missing_wl)))
    for m in modes:
        if m.missing:
            print("not run: %s: %s" % (m.name, m.missing), file=sys.stderr)

    sizes = {}
    for w in workloads:
        base = w.quick if args.quick else w.full
        sizes[w.name] = max(1, int(round(base * args.scale))) if w.name != "g++" else base

    started = datetime.datetime.now(datetime.timezone.utc)
    load0 = os.getloadavg()
    ctx = Context(args.workload_dir, tmp)
    samples = run_matrix(workloads, modes, reps, sizes, args, ctx)
    status = 0
    if args.check_baseline:
        status = check_baseline(args.check_baseline, samples, workloads, modes, sizes, args, ctx)
    load1 = os.getloadavg()
    elapsed = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()

    table = ratios(samples, workloads, modes)
    if not args.check_baseline:
        print(render_tables(table, workloads, modes, markdown=False))
        t = targets(table, workloads)
        if t:
            print("targets of issue 8:\n" + t.replace("**", ""))
        t = targets_issue14(table, workloads, sizes)
        if t:
            print("targets of issue 14 (CPU time):\n" + t.replace("**", ""))
        t = metrics_table(table, workloads, modes)
        if t:
            print("printed by the workloads (medians):\n" + t.replace("`", ""))
        a = anatomy(table, workloads)
        if a:
            print("where the default mode's extra CPU time goes (shares):\n" + a)
    if args.record_baseline:
        status = record_baseline(args.record_baseline, samples, workloads, sizes, args) or status
    if args.json:
        Path(args.json).write_text(json.dumps({
            "%s/%s" % k: [r.__dict__ for r in v] for k, v in samples.items()}, indent=1) + "\n")
    if args.write_docs:
        write_docs(args, table, workloads, modes, sizes, reps, started, elapsed, load0, load1)
    return status


def write_docs(args, table, workloads, modes, sizes, reps, started, elapsed, load0, load1):
    docs = Path(args.docs_dir)
    docs.mkdir(parents=True, exist_ok=True)
    mach = machine()
    vers = tool_versions()
    date = started.strftime("%Y-%m-%d %H:%M UTC")
    cmd = "tools/bench/suite/run.py " + " ".join(
        a if not a.startswith("/") else os.path.relpath(a, REPO) if a.startswith(str(REPO)) else a
        for a in sys.argv[1:])
    (docs / "performance.svg").write_text(svg_chart(table, workloads, modes,
                                                    "dbgalloc and peers: wall time / glibc, median of %d (%s)"
                                                    % (reps, date)))
    missing = [m for m in build_modes(args) if m.missing]
    wl_lines = "\n".join("- `%s` (%s, size %s): %s" % (w.name, w.kind, sizes[w.name], w.label)
                         for w in workloads)
    md = """## Measured: the benchmark suite

Measured by the benchmark suite (`tools/bench/suite/`, issue 8): the same work under
glibc, under dbgalloc's modes and under every peer installed on the machine, in one run.
Every repetition runs every workload under every mode, round robin (the order rotated
from one repetition to the next), so machine noise falls on all modes alike; each figure
is the median over the repetitions, and the tables give ratios against glibc's median on
the same workload. Peak RSS is the child's `ru_maxrss` from `wait4` (for `g++` the
largest process of the tree, `cc1plus`).

![time ratios against glibc](performance.svg)

### Results

Run on %(date)s: %(reps)d repetition(s), %(elapsed)s.

```
%(cmd)s
```

%(tables)s
`-`: does not apply (ASan needs the workload rebuilt, so only the synthetic workloads
have it; valgrind runs the real programs only). `FAIL[n]`: the mode did not finish the
work (crash, non-zero exit, timeout, out of mappings, or output other than glibc's);
the note gives the reason. A failure is a result, not a gap.

### Targets of issue 14 (CPU time, user+system, medians)

%(targets14)s

Printed by the workloads themselves (medians):

%(metrics)s

### Targets of issue 8

%(targets)s

### Where the default mode's time goes

The default mode's CPU time over glibc's, split by switching its parts off one at a
time (medians of the same run): the heap core (`core`), then the block headers,
canaries and fill bytes (`checks`: no quarantine, no stacks), then the quarantine
(`nostacks`), then the allocation and free stacks (`noleak`), then the exit leak check
(`default`, which has it on, as users run it). Shares of the extra time;
differences of medians, so small shares are noise and may come out negative.

%(anatomy)s
### Noise

This machine (%(nproc)s CPUs, %(cpu)s, Linux %(kernel)s, `vm.max_map_count` %(maps)s) is
shared: other engineers were building and testing on it during the run, so absolute
times are inflated and vary from run to run. The load average was %(load0)s at the start
of the run and %(load1)s at the end (%(nproc)s CPUs). Interleaving and medians make the
*ratios* fairer than the absolute times, but a ratio within about 10%% of another is not
a difference; the 2-thread workload (`prodcons`) is the most sensitive, because it needs
both CPUs at once. The CPU-time table (user plus system time of the child) does not count
time spent waiting for a CPU, so it is the steadier of the two where the machine is busy;
where wall and CPU ratios disagree, that waiting is the reason. Re-run on a quiet machine
before reading small differences.

### What ran

Workloads:

%(workloads)s

The synthetic workloads are built by meson (`tools/bench/suite/meson.build`) with `-O2
-fomit-frame-pointer`, as distributions build programs, so dbgalloc's stacks are taken
through code without frame pointers; the ASan builds are the same sources with
`-fsanitize=address`, run with ASan's defaults (its fast frame-pointer unwinder records
short allocation stacks in code without frame pointers, where dbgalloc records the full
stack: ASan's figures are for less work). The real programs are the distribution's binaries (python3 %(py)s,
sqlite3 %(sqlite)s, gcc %(gcc)s, perl %(perl)s); the peers are Debian's packages
(%(peers)s). The dbgalloc library was built from commit %(rev)s (`%(lib)s`).

Modes:

%(modes)s

`default`, `sample` and `guardall` run as users run them, with the exit leak check
(`detect_leaks=1`, the default); `core`, `checks`, `nostacks` and `noleak` leave it out
(`detect_leaks=0`) to take the default mode apart. ASan runs with its defaults (its leak
check on, as on Linux by default). python3 runs with `PYTHONMALLOC=malloc` under every
mode, glibc's too: every object through malloc, as a memory debugger is used.
%(missing)s
### Reproduce

```
meson setup build && ninja -C build
%(cmd)s
tools/bench/suite/run.py --list     # workloads, modes, and why a mode is unavailable
```

`--install-peers` installs jemalloc, Electric Fence and DUMA with apt-get first (never
done without it); scudo comes with clang, valgrind with its package.

The timing regression check (`tools/bench/regression.sh`, or `meson test -C build
--benchmark --suite bench`: a benchmark, never run by `meson test`, `tools/test.sh` or CI,
where a busy machine would fail it) runs
`run.py --quick --check-baseline tools/bench/suite/baseline.json`: the synthetic
workloads small, 3 repetitions, glibc and default mode only; it fails when a workload's
default/glibc ratio of CPU time (user+system: on a shared machine, time spent waiting for
a CPU does not count; `--check-metric wall` compares wall time) is above 1.25x the ratio
recorded in `baseline.json` (1.5x for `prodcons`, whose two threads need both CPUs at
once: its per-workload `thresholds` entry). A workload over the limit is run again (3 more repetitions)
and judged on all six, so one burst of noise does not fail the check. `--record-baseline
FILE` rewrites the baseline; do it on a quiet machine, with more repetitions (`--quick
--reps 7 --record-baseline tools/bench/suite/baseline.json`).
""" % {
        "date": date, "reps": reps, "elapsed": "%d min %d s of runs" % (elapsed // 60, elapsed % 60),
        "cmd": cmd, "tables": render_tables(table, workloads, modes, markdown=True),
        "targets": targets(table, workloads) or "(no figures)",
        "targets14": targets_issue14(table, workloads, sizes) or "(no figures)",
        "metrics": metrics_table(table, workloads, modes) or "(none in this run)",
        "anatomy": anatomy(table, workloads) or "(not measured in this run: it needs the core, checks, "
                                                "nostacks and default modes)\n",
        "nproc": mach["nproc"], "cpu": mach["cpu"], "kernel": mach["kernel"], "maps": mach["max_map_count"],
        "load0": " / ".join("%.1f" % x for x in load0), "load1": " / ".join("%.1f" % x for x in load1),
        "workloads": wl_lines, "py": vers["python3"], "sqlite": vers["sqlite3"], "gcc": vers["gcc"],
        "perl": vers["perl"], "rev": git_rev(), "lib": os.path.relpath(os.path.abspath(args.lib_given), REPO)
        if os.path.abspath(args.lib_given).startswith(str(REPO)) else args.lib_given,
        "modes": legend_modes(modes, args),
        "peers": ", ".join("%s %s" % (k, vers[k]) for k in ("libjemalloc2", "electric-fence", "duma",
                                                            "valgrind", "clang") if vers.get(k))
        or "none installed",
        "missing": ("\nNot available on this machine, so not measured:\n\n" + "\n".join(
            "- `%s`: %s" % (m.name, m.missing) for m in missing) + "\n") if missing else "",
    }
    begin = "<!-- bench-suite:begin (written by tools/bench/suite/run.py --write-docs; edits here are overwritten) -->"
    end = "<!-- bench-suite:end -->"
    block = begin + "\n" + md.rstrip("\n") + "\n" + end + "\n"
    page = docs / "performance.md"
    old = page.read_text() if page.exists() else ""
    # The placeholder the page was started with says the figures are to come: they are here.
    old = old.replace("<!-- A stub: the benchmark issue fills this page with measured figures. -->\n\n", "")
    if begin.split(" (")[0] in old and end in old:
        # Replace the suite's part of the page; what others wrote stays as it is.
        a = old.index(begin.split(" (")[0])
        b = old.index(end) + len(end)
        text = old[:a] + block.rstrip("\n") + old[b:]
    elif old.strip():
        text = old.rstrip("\n") + "\n\n" + block
    else:
        text = "# Performance\n\n" + block
    page.write_text(text)
    print("wrote %s and %s" % (docs / "performance.md", docs / "performance.svg"))


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
