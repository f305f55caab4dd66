"""The suite's workloads: the synthetic and process ones meson builds (wl_NAME, and
wl_NAME_asan with -fsanitize=address) and the distribution's programs."""

import shutil
from pathlib import Path

from .paths import PROGRAMS, SYSTEM_PYTHON


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
