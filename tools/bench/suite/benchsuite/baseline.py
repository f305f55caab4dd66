"""The timing regression check against baseline.json, and recording the baseline."""

import datetime
import json
import os
import sys
from pathlib import Path

from .machine import git_rev, machine
from .runner import run_matrix
from .tables import cell

THRESHOLD = 1.25  # default-mode ratio may grow this much over the baseline ratio


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
