/* bench_spawn: runs a command and reports its wall time and peak RSS, for run.py.

   usage: bench_spawn RESULT_FD PROGRAM [ARGS...]
   Writes "STATUS WALL_SECONDS MAXRSS_KB CPU_SECONDS" (STATUS as from wait4, CPU: user
   plus system time of the child and its waited-for descendants) to file descriptor
   RESULT_FD and exits 0; exits 127 when PROGRAM cannot be started. The environment
   variable BENCH_SPAWN_LD_PRELOAD, when set, becomes the child's LD_PRELOAD (and is
   not seen by this helper itself, which must not run under the allocator measured).

   Why a helper: the kernel carries a process's peak RSS across exec, so a child forked
   by the Python runner (about 20 MiB resident) would report at least the runner's RSS.
   This helper is a few hundred KiB resident, below any real child's peak, so the child's
   ru_maxrss from wait4 is its own. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_spawn RESULT_FD PROGRAM [ARGS...]\n");
    return 2;
  }
  int fd = atoi(argv[1]);
  const char *preload = getenv("BENCH_SPAWN_LD_PRELOAD");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_spawn: fork");
    return 127;
  }
  if (pid == 0) {
    if (fd > 2) close(fd);
    if (preload) {
      setenv("LD_PRELOAD", preload, 1);
      unsetenv("BENCH_SPAWN_LD_PRELOAD");
    }
    execvp(argv[2], argv + 2);
    fprintf(stderr, "bench_spawn: cannot run %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      perror("bench_spawn: wait4");
      return 127;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  char buf[160];
  int n = snprintf(buf, sizeof buf, "%d %.6f %ld %.6f\n", status, wall, ru.ru_maxrss, cpu);
  if (write(fd, buf, (size_t)n) != n) return 127;
  return 0;
}
