"""What the figures were measured on: the machine, the commit, the tools' versions."""

import os
import platform
import subprocess

from .paths import REPO, SYSTEM_PYTHON


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
