"""The suite's modes (the columns): glibc, dbgalloc's modes, and every peer installed
here (an unavailable one says why)."""

import os
import shutil
import subprocess
from pathlib import Path

from .workloads import WORKLOADS


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
