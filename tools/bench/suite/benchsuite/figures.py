"""Figures the benchmark suite derives from its measurements (run.py): the targets of
issues 8 and 14 checked against a run, where the default mode's time goes, the
per-workload metrics the workloads print, and the SVG chart. Python 3 standard library
only."""

import html
import math

def fmt_ratio(x):
    if x >= 100:
        return "%.0fx" % x
    if x >= 10:
        return "%.1fx" % x
    return "%.2fx" % x


# ---------------------------------------------------------------------------------
# Targets of issue 8, checked against the figures

QUARANTINE_MB = 64  # default quarantine_mb


def targets(table, workloads):
    syn = [w.name for w in workloads if w.kind == "synthetic"]
    prog = [w.name for w in workloads if w.kind == "program"]
    out = []

    def get(w, m, k):
        c = table.get(w, {}).get(m, {})
        return c.get(k) if c.get("ok") else None

    def line(ok, text):
        if ok is None:
            return  # no figure for it in this run
        out.append("- %s %s" % ({True: "**met**", False: "**not met**", None: "n/a"}[ok], text))

    for w in ("mix",):
        if w in table:
            r = get(w, "core", "tr")
            line(None if r is None else r <= 1.2,
                 "heap core <= 1.2x glibc, single thread (`%s`): %s" % (w, fmt_ratio(r) if r else "no figure"))
    if "prodcons" in table:
        r = get("prodcons", "core", "tr")
        line(None if r is None else r <= 1.0,
             "heap core with 2 threads and cross-thread frees at least as good as glibc (`prodcons`): %s"
             % (fmt_ratio(r) if r else "no figure"))
    parts, oks = [], []
    for w in syn:
        d, a = get(w, "default", "time"), get(w, "asan", "time")
        dc, ac = get(w, "default", "cpu"), get(w, "asan", "cpu")
        if d and a:
            parts.append("%s %.2f (CPU %.2f)" % (w, d / a, dc / ac))
            oks.append(d <= a)
    if parts:
        line(all(oks), "default mode no slower than ASan on the synthetic workloads "
             "(default/ASan wall time: %s)" % ", ".join(parts))
    parts, oks = [], []
    for w in prog:
        if table.get(w, {}).get("default", {}).get("missing") or "default" not in table.get(w, {}):
            continue
        r, rc = get(w, "default", "tr"), get(w, "default", "cr")
        parts.append("%s %s" % (w, "%s (CPU %s)" % (fmt_ratio(r), fmt_ratio(rc)) if r else "FAIL"))
        oks.append(r is not None and r <= 1.5)
    if parts:
        line(all(oks), "default mode <= 1.5x glibc (wall) on the real programs: %s" % ", ".join(parts))
    parts, oks = [], []
    for w in syn + prog:
        s, d = get(w, "sample", "time"), get(w, "default", "time")
        if s and d:
            parts.append("%s %+.0f%%" % (w, 100 * (s / d - 1)))
            oks.append(s <= 1.05 * d)
    if parts:
        line(all(oks), "guard=sample:1000 within 5%% of default: %s" % ", ".join(parts))
    parts, oks = [], []
    for w in syn + prog:
        d, g = get(w, "default", "rss"), get(w, "glibc", "rss")
        if d and g:
            limit = 1.5 * g + QUARANTINE_MB * 1024
            parts.append("%s %.0f/%.0f MiB" % (w, d / 1024, limit / 1024))
            oks.append(d <= limit)
    if parts:
        line(all(oks), "default peak RSS <= 1.5x glibc + %d MiB quarantine (measured/limit: %s)"
             % (QUARANTINE_MB, ", ".join(parts)))
    parts, oks = [], []
    for w in prog:
        c = table.get(w, {}).get("guardall")
        if c is None or c.get("missing") or c.get("na"):
            continue
        parts.append("%s %s" % (w, "ok" if c.get("ok") else "FAIL (%s)" % c.get("reason")))
        oks.append(bool(c.get("ok")))
    if parts:
        line(all(oks), "guard=all finishes the real programs: %s" % ", ".join(parts))
    return "\n".join(out)


def anatomy(table, workloads):
    """Where the default mode's CPU time goes: glibc -> core -> checks -> quarantine ->
    stacks -> exit leak check, as shares of the default mode's time over glibc's."""
    rows = []
    for w in workloads:
        def cpu(m):
            c = table.get(w.name, {}).get(m, {})
            return c.get("cpu") if c.get("ok") else None
        g, core, checks, nost, noleak, dflt = (cpu(m) for m in ("glibc", "core", "checks", "nostacks",
                                                                 "noleak", "default"))
        if None in (g, core, checks, nost, noleak, dflt) or dflt <= g:
            continue
        extra = dflt - g
        pieces = [core - g, checks - core, nost - checks, noleak - nost, dflt - noleak]
        rows.append("| %s | %.2fx | %s |" % (w.name, dflt / g, " | ".join(
            "%+.0f%%" % (100 * p / extra) for p in pieces)))
    if not rows:
        return ""
    return ("| workload | default CPU / glibc | heap core | headers, canaries, fills | quarantine "
            "| alloc and free stacks | exit leak check |\n|---|---:|---:|---:|---:|---:|---:|\n"
            + "\n".join(rows) + "\n")


def metrics_table(table, workloads, modes):
    """What the workloads print themselves ("bench-metric NAME=VALUE" on stderr, e.g.
    tls_scale's 2-thread/1-thread throughput), median per mode."""
    out = []
    for w in workloads:
        names = sorted(set(k for m in modes for k in table.get(w.name, {}).get(m.name, {}).get("metrics", {})))
        for name in names:
            parts = []
            for m in modes:
                v = table.get(w.name, {}).get(m.name, {}).get("metrics", {}).get(name)
                if v is not None:
                    parts.append("%s %.2f" % (m.name, v))
            out.append("- `%s` %s: %s" % (w.name, name, ", ".join(parts)))
    return "\n".join(out)


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def targets_issue14(table, workloads, sizes):
    """The targets of issue 14, on CPU time (user+system) medians."""
    out = []

    def get(w, m, k="cpu"):
        c = table.get(w, {}).get(m, {})
        return c.get(k) if c.get("ok") else None

    def line(ok, text):
        out.append("- %s %s" % ("**met**" if ok else "**not met**", text))

    syn = [w.name for w in workloads if w.kind == "synthetic"]
    parts, vals = [], []
    for w in syn:
        d, a = get(w, "default"), get(w, "asan")
        if d and a:
            parts.append("%s %.2f" % (w, d / a))
            vals.append(d / a)
    if vals:
        g = geomean(vals)
        line(g <= 1.0 and max(vals) <= 1.3, "default mode at most 1.0x ASan's CPU time in geometric mean "
             "(%.2fx), none above 1.3x (default/ASan: %s)" % (g, ", ".join(parts)))
    parts, oks = [], []
    for w in [w.name for w in workloads if w.kind == "program"]:
        limit = 2.0 if w == "python3" else 1.5
        if "default" not in table.get(w, {}) or table[w]["default"].get("missing"):
            continue
        r = get(w, "default", "cr")
        parts.append("%s %s (limit %.1fx)" % (w, fmt_ratio(r) if r else "FAIL", limit))
        oks.append(r is not None and r <= limit)
    if parts:
        line(all(oks), "default mode CPU time / glibc's on the real programs, exit leak check included, "
             "python3 with PYTHONMALLOC=malloc: %s" % ", ".join(parts))
    sc = get("tls_scale", "default", "metrics")
    if sc and "scaling" in sc:
        others = ", ".join("%s %.2f" % (m, get("tls_scale", m, "metrics")["scaling"]) for m in ("glibc", "asan")
                           if get("tls_scale", m, "metrics") and "scaling" in get("tls_scale", m, "metrics"))
        line(sc["scaling"] >= 1.6, "two threads with thread-local data at least 1.6x one thread's throughput "
             "(`tls_scale`, default mode): %.2fx (%s)" % (sc["scaling"], others))
    parts, vals = [], []
    for w in syn:
        r = get(w, "core", "cr")
        if r:
            parts.append("%s %s" % (w, fmt_ratio(r)))
            vals.append(r)
    if vals:
        g = geomean(vals)
        line(g <= 1.2, "heap core (canaries=0) at most 1.2x glibc in geometric mean: %.2fx (%s)"
             % (g, ", ".join(parts)))
    d = get("exec_true", "default")
    if d:
        runs = sizes.get("exec_true", 1)
        others = ", ".join("%s %.1f" % (m, get("exec_true", m) / runs * 1000) for m in ("glibc", "noleak", "asan")
                           if get("exec_true", m))
        line(d / runs <= 0.005, "a program that allocates nothing: at most 5 ms CPU start to exit in default "
             "mode: %.1f ms (ms per run: %s)" % (d / runs * 1000, others))
    r = get("fork_heavy", "default", "cr")
    if r:
        line(r <= 2.0, "the fork-heavy program at most 2x glibc (CPU) in default mode: %s (wall %s; ASan %s)"
             % (fmt_ratio(r), fmt_ratio(get("fork_heavy", "default", "tr")),
                fmt_ratio(get("fork_heavy", "asan", "cr")) if get("fork_heavy", "asan", "cr") else "-"))
    parts, oks = [], []
    for w in workloads:
        d, g = get(w.name, "default", "rss"), get(w.name, "glibc", "rss")
        if d and g:
            limit = 1.5 * g + QUARANTINE_MB * 1024
            parts.append("%s %.0f/%.0f" % (w.name, d / 1024, limit / 1024))
            oks.append(d <= limit)
    if parts:
        line(all(oks), "default peak RSS at most 1.5x glibc + %d MiB quarantine (MiB measured/limit: %s)"
             % (QUARANTINE_MB, ", ".join(parts)))
    return "\n".join(out)


# ---------------------------------------------------------------------------------
# SVG bar chart of the time ratios (log scale)

COLORS = {
    "core": "#9ecae1", "default": "#2171b5", "sample": "#6baed6", "guardall": "#08306b",
    "asan": "#e6550d", "jemalloc": "#74c476", "efence": "#9e9ac8", "duma": "#756bb1",
    "scudo": "#31a354", "valgrind": "#bd0026",
}


def svg_chart(table, workloads, modes, title):
    shown = [m for m in modes if not m.missing and m.name not in ("glibc", "checks", "nostacks")]
    bar, gap, left, top, height = 9, 18, 60, 40, 300
    group_w = [len([m for m in shown if m.applies_to(w)]) * bar for w in workloads]
    width = left + sum(group_w) + gap * (len(workloads) + 1) + 190
    total_h = top + height + 90
    lo, hi = 0.5, 2.0
    for w in workloads:
        for m in shown:
            c = table[w.name].get(m.name, {})
            if c.get("tr"):
                hi = max(hi, c["tr"])
                lo = min(lo, c["tr"])
    hi = 10 ** math.ceil(math.log10(hi) + 0.3)  # room above the tallest bar for its label
    lo = min(lo, 0.5)
    llo, lhi = math.log10(lo), math.log10(hi)

    def y(v):
        return top + height - (math.log10(v) - llo) / (lhi - llo) * height

    e = html.escape
    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'font-family="sans-serif" font-size="11">' % (width, total_h),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>' % (left, e(title))]
    ticks = []
    t = 10 ** math.floor(llo)
    while t <= hi * 1.0001:
        for k in (1, 2, 5):
            v = t * k
            if lo * 0.999 <= v <= hi * 1.0001:
                ticks.append(v)
        t *= 10
    for v in ticks:
        yy = y(v)
        s.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"/>'
                 % (left, width - 190, yy, yy, "#444" if v == 1 else "#ddd"))
        s.append('<text x="%d" y="%.1f" text-anchor="end">%sx</text>' % (left - 4, yy + 4, ("%g" % v)))
    s.append('<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">'
             'time / glibc (log scale)</text>' % (top + height // 2, top + height // 2))
    x = left + gap
    for w, gw in zip(workloads, group_w):
        for m in shown:
            if not m.applies_to(w):
                continue
            c = table[w.name].get(m.name, {})
            color = COLORS.get(m.name, "#888")
            if c.get("tr"):
                yy, base = y(c["tr"]), y(1.0)
                y0, y1 = min(yy, base), max(yy, base)
                s.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s">'
                         '<title>%s under %s: %s</title></rect>'
                         % (x, y0, bar - 1, max(y1 - y0, 1), color, e(w.name), e(m.name),
                            fmt_ratio(c["tr"])))
                lx_, ly_ = x + bar // 2 + 3, y0 - 3
                s.append('<text x="%d" y="%.1f" font-size="8" transform="rotate(-90 %d %.1f)">%s</text>'
                         % (lx_, ly_, lx_, ly_, fmt_ratio(c["tr"])))
            elif c.get("ok") is False:
                s.append('<text x="%d" y="%.1f" fill="#c00" font-weight="bold" text-anchor="middle">'
                         'x<title>%s under %s failed: %s</title></text>'
                         % (x + bar // 2, y(1.0) - 4, e(w.name), e(m.name), e(c.get("reason") or "")))
            x += bar
        s.append('<text x="%d" y="%d" text-anchor="middle">%s</text>'
                 % (x - gw // 2, top + height + 16, e(w.name)))
        x += gap
    lx, ly = width - 180, top
    for m in shown:
        s.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (lx, ly, COLORS.get(m.name, "#888")))
        s.append('<text x="%d" y="%d">%s</text>' % (lx + 14, ly + 9, e(m.name)))
        ly += 16
    s.append('<text x="%d" y="%d" fill="#c00" font-weight="bold">x</text>' % (lx + 1, ly + 9))
    s.append('<text x="%d" y="%d">failed (see table)</text>' % (lx + 14, ly + 9))
    s.append('<text x="%d" y="%d" fill="#555">bars start at 1x (glibc); a bar below the line is faster than glibc</text>'
             % (left, top + height + 40))
    s.append("</svg>")
    return "\n".join(s) + "\n"
