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
# The command line and the order of the work; the work itself is in benchsuite/
# (workloads, modes, runner, tables and figures, baseline, docs and its template).
import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from benchsuite.baseline import THRESHOLD, check_baseline, record_baseline
from benchsuite.docs import write_docs
from benchsuite.figures import anatomy, metrics_table, targets, targets_issue14
from benchsuite.modes import build_modes
from benchsuite.paths import REPO
from benchsuite.runner import Context, run_matrix
from benchsuite.tables import ratios, render_tables
from benchsuite.workloads import WORKLOADS


def install_peers():
    """The peers' packages, installed by the set-up script (the suite installs nothing)."""
    cmd = [str(REPO / "tools" / "setup.sh"), "--bench-peers", "--no-build"]
    print("--install-peers: %s" % " ".join(cmd), file=sys.stderr)
    r = subprocess.run(cmd)
    if r.returncode != 0:
        print("--install-peers: setup.sh failed (exit %d); running with what is installed"
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
        write_docs(args, table, workloads, modes, build_modes(args), sizes, reps, started, elapsed, load0, load1)
    return status


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
