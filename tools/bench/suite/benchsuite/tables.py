"""Medians and ratios against glibc per workload and mode, the text and markdown
tables, and the legend of the modes."""

import os
import statistics
from pathlib import Path

from .figures import fmt_ratio
from .paths import REPO


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
