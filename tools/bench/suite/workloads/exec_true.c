/* Start-up and exit: runs a program that allocates nothing (this one, with the
   argument "child": it returns at once) N times, one after the other, with fork and
   exec, as a build system or a shell script runs thousands of small processes. Under
   a preloaded allocator every child starts it and exits with it; the ASan build's
   children are ASan programs. The runner divides the CPU time by N.
   usage: exec_true [RUNS]   (default 200) */
#include "common.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) return 0;
  long runs = arg_size(argc, argv, 200);
  int failed = 0;
  for (long i = 0; i < runs; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0) {
      execl("/proc/self/exe", argv[0], "child", (char *)NULL);
      _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
  }
  printf("exec_true %ld runs, %d failed\n", runs, failed);
  return failed != 0;
}
