"""Running the matrix: one run of a workload under a mode through the bench_spawn
launcher (wall time, CPU time, peak RSS), every repetition round robin."""

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


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
