// Runs a program in a child process, stdout and stderr captured together: the tests
// that check what dbgalloc reports about a program run it this way.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace test_support {

struct Outcome {
  std::string output;  // stdout and stderr
  int exit_code = -1;  // -1 when killed
  int signal = 0;
};

// env: extra NAME=VALUE settings for the child.
inline Outcome run(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& env) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t child = fork();
  if (child == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  Outcome outcome;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0) outcome.output.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  return outcome;
}

inline bool has(const Outcome& outcome, const std::string& text) { return outcome.output.find(text) != std::string::npos; }

inline std::size_t occurrences(const std::string& haystack, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++count;
  return count;
}

// Runs case `name` of the cases program under the preloaded library with DBGALLOC_OPTIONS.
inline Outcome run_preloaded(const std::string& cases, const std::string& preload, const std::string& name,
                             const std::string& options) {
  return run({cases, name}, {{"LD_PRELOAD", preload}, {"DBGALLOC_OPTIONS", options}});
}

}  // namespace test_support
