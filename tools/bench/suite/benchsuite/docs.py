"""--write-docs: the suite's part of docs/performance.md (its prose is the template
performance.md.in, next to this file) and docs/performance.svg."""

import os
import string
import sys
from pathlib import Path

from .figures import anatomy, metrics_table, svg_chart, targets, targets_issue14
from .machine import git_rev, machine, tool_versions
from .paths import REPO
from .tables import legend_modes, render_tables

TEMPLATE = Path(__file__).resolve().parent / "performance.md.in"
BEGIN = "<!-- bench-suite:begin (written by tools/bench/suite/run.py --write-docs; edits here are overwritten) -->"
END = "<!-- bench-suite:end -->"


def shown_path(path):
    """A path inside the repository relative to it, any other as given."""
    return os.path.relpath(os.path.abspath(path), REPO) if os.path.abspath(path).startswith(str(REPO)) else path


def write_docs(args, table, workloads, modes, all_modes, sizes, reps, started, elapsed, load0, load1):
    """all_modes: every mode, those left out of the run included (for the unavailable ones)."""
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
    missing = [m for m in all_modes if m.missing]
    wl_lines = "\n".join("- `%s` (%s, size %s): %s" % (w.name, w.kind, sizes[w.name], w.label)
                         for w in workloads)
    md = string.Template(TEMPLATE.read_text()).substitute({
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
        "perl": vers["perl"], "rev": git_rev(), "lib": shown_path(args.lib_given),
        "modes": legend_modes(modes, args),
        "peers": ", ".join("%s %s" % (k, vers[k]) for k in ("libjemalloc2", "electric-fence", "duma",
                                                            "valgrind", "clang") if vers.get(k))
        or "none installed",
        "missing": ("\nNot available on this machine, so not measured:\n\n" + "\n".join(
            "- `%s`: %s" % (m.name, m.missing) for m in missing) + "\n") if missing else "",
    })
    page = docs / "performance.md"
    page.write_text(merged_page(page.read_text() if page.exists() else "", md))
    print("wrote %s and %s" % (docs / "performance.md", docs / "performance.svg"))


def merged_page(old, md):
    """The page with the suite's block replaced (what others wrote stays as it is)."""
    block = BEGIN + "\n" + md.rstrip("\n") + "\n" + END + "\n"
    # The placeholder the page was started with says the figures are to come: they are here.
    old = old.replace("<!-- A stub: the benchmark issue fills this page with measured figures. -->\n\n", "")
    if BEGIN.split(" (")[0] in old and END in old:
        a = old.index(BEGIN.split(" (")[0])
        b = old.index(END) + len(END)
        return old[:a] + block.rstrip("\n") + old[b:]
    if old.strip():
        return old.rstrip("\n") + "\n\n" + block
    return "# Performance\n\n" + block
