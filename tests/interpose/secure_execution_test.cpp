// Secure execution: a setuid-root program linked with libdbgalloc.a, run by an
// unprivileged user (setpriv) with DBGALLOC_OPTIONS asking for a log file, a root-only
// suppressions file and another exit status. The kernel marks such a run AT_SECURE;
// dbgalloc must ignore those options, say so once, and echo nothing of the file.
// Needs root (to make the copy setuid-root) and setpriv; skipped otherwise.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "../support/child.hpp"

namespace {

std::string cases_path;

struct Sandbox {
  std::string dir;
  std::string program;
  std::string secret;
  std::string logs;
  bool made = false;

  Sandbox() {
    char name[] = "/tmp/dbgalloc-secure-XXXXXX";
    if (mkdtemp(name) == nullptr) return;
    dir = name;
    program = dir + "/output_cases";
    secret = dir + "/secret";
    logs = dir + "/logs";
    std::ifstream in(cases_path, std::ios::binary);
    std::ofstream out(program, std::ios::binary);
    out << in.rdbuf();
    out.close();
    // A root-only file with a line an attacker would like echoed.
    std::ofstream(secret) << "leak:harmless\nroot-only SECRET-CONTENT line\n";
    made = chmod(dir.c_str(), 0755) == 0 && chown(program.c_str(), 0, 0) == 0 &&
           chmod(program.c_str(), 04755) == 0 && chmod(secret.c_str(), 0600) == 0 &&
           mkdir(logs.c_str(), 0777) == 0 && chmod(logs.c_str(), 0777) == 0;
  }
  ~Sandbox() {
    if (!dir.empty()) test_support::run({"/bin/rm", "-rf", dir}, {});
  }
  std::string options() const {
    return "log_path=" + logs + "/report:suppressions=" + secret + ":exitcode=7:halt_on_error=0:verbosity=1";
  }
  std::size_t log_files() const {
    std::size_t count = 0;
    if (DIR* d = opendir(logs.c_str())) {
      while (dirent* e = readdir(d)) count += e->d_name[0] != '.';
      closedir(d);
    }
    return count;
  }
};

const char* kSetpriv = "/usr/bin/setpriv";

TEST(SecureExecution, a_setuid_run_ignores_file_output_and_exit_options_and_says_so) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a setuid-root copy";
  if (access(kSetpriv, X_OK) != 0) GTEST_SKIP() << "needs " << kSetpriv;
  Sandbox box;
  ASSERT_TRUE(box.made) << box.dir;

  test_support::Outcome run = test_support::run(
      {kSetpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", box.program, "leak"},
      {{"DBGALLOC_OPTIONS", box.options()}});
  if (test_support::has(run, "secure=0")) GTEST_SKIP() << "the kernel did not mark the setuid run secure (nosuid mount?)";
  ASSERT_TRUE(test_support::has(run, "secure=1 euid=0")) << run.output;

  EXPECT_EQ(test_support::occurrences(run.output,
                                      "dbgalloc: secure execution (setuid/setgid/capabilities): ignored options from "
                                      "DBGALLOC_OPTIONS: log_path suppressions exitcode halt_on_error\n"),
            1u)
      << run.output;
  // The report still comes, on stderr, with the default exit status.
  EXPECT_TRUE(test_support::has(run, "ERROR: dbgalloc: detected memory leaks")) << run.output;
  EXPECT_TRUE(test_support::has(run, "Direct leak of 40 byte(s) in 1 object(s)")) << run.output;
  EXPECT_EQ(run.exit_code, 23) << run.output;
  EXPECT_FALSE(test_support::has(run, "SECRET-CONTENT")) << run.output;
  EXPECT_FALSE(test_support::has(run, "suppressions file")) << "the file is not even opened\n" << run.output;
  EXPECT_EQ(box.log_files(), 0u) << "no log file created";
}

// The same copy run by root is not secure: the same options take effect, so the test
// above fails if dbgalloc ignored nothing.
TEST(SecureExecution, the_same_options_take_effect_when_the_run_is_not_secure) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a setuid-root copy";
  Sandbox box;
  ASSERT_TRUE(box.made) << box.dir;
  test_support::Outcome run = test_support::run({box.program, "leak"}, {{"DBGALLOC_OPTIONS", box.options()}});
  ASSERT_TRUE(test_support::has(run, "secure=0 euid=0")) << run.output;
  EXPECT_FALSE(test_support::has(run, "ignored options")) << run.output;
  EXPECT_EQ(run.exit_code, 7) << run.output;
  EXPECT_EQ(box.log_files(), 1u) << run.output;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: secure_execution_test OUTPUT_CASES\n");
    return 2;
  }
  cases_path = argv[1];
  return RUN_ALL_TESTS();
}
