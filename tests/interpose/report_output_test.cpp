// Where reports go: log files (created afresh, never through a planted link or into an
// existing file), log_path=stdout/stderr, the suppressions file (a regular file only,
// any number of entries). Each case runs output_cases (linked with libdbgalloc.a) in
// its own process, its stdout and stderr captured apart.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace {

std::string cases_path;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct Scratch {
  std::string dir;
  Scratch() {
    char name[] = "/tmp/dbgalloc-output-XXXXXX";
    if (mkdtemp(name) != nullptr) dir = name;
  }
  ~Scratch() {
    if (dir.empty()) return;
    pid_t child = fork();
    if (child == 0) {
      execl("/bin/rm", "rm", "-rf", dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    waitpid(child, nullptr, 0);
  }
  std::string path(const std::string& name) const { return dir + "/" + name; }
  std::vector<std::string> names() const {
    std::vector<std::string> found;
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d)) if (e->d_name[0] != '.') found.push_back(e->d_name);
      closedir(d);
    }
    return found;
  }
};

struct Outcome {
  std::string out;
  std::string err;
  int exit_code = -1;
  int pid = 0;
};

// Runs `output_cases CASE ARGS...` with DBGALLOC_OPTIONS=options in `box`'s directory;
// before_exec runs in the child (its pid is the program's: exec keeps it).
Outcome run_case(const Scratch& box, std::vector<std::string> args, const std::string& options,
             const std::function<void(int pid)>& before_exec = {}) {
  std::string out_path = box.path("stdout.txt"), err_path = box.path("stderr.txt");
  args.insert(args.begin(), cases_path);
  pid_t child = fork();
  if (child == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    if (chdir(box.dir.c_str()) != 0) _exit(126);
    setenv("DBGALLOC_OPTIONS", options.c_str(), 1);
    if (before_exec) before_exec(getpid());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  Outcome run;
  run.pid = child;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_all(out_path);
  run.err = read_all(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return run;
}

std::size_t test_support_count(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

const char kLeakReport[] = "Direct leak of 40 byte(s) in 1 object(s)";

TEST(LogFiles, a_log_file_is_created_afresh_with_mode_0600_and_holds_the_report) {
  Scratch box;
  Outcome run = run_case(box, {"leak"}, "log_path=" + box.path("report"));
  EXPECT_EQ(run.exit_code, 23);
  std::string log = box.path("report." + std::to_string(run.pid));
  struct stat st{};
  ASSERT_EQ(stat(log.c_str(), &st), 0) << run.err;
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(has(read_all(log), kLeakReport)) << read_all(log);
  EXPECT_FALSE(has(run.err, "dbgalloc")) << run.err;
}

TEST(LogFiles, a_symbolic_link_planted_at_the_log_name_is_refused_and_the_report_goes_to_stderr) {
  Scratch box;
  std::string target = box.path("victim");
  std::ofstream(target) << "precious\n";
  std::string prefix = box.path("report");
  Outcome run = run_case(box, {"leak"}, "log_path=" + prefix, [&](int pid) {
    if (symlink(target.c_str(), (prefix + "." + std::to_string(pid)).c_str()) != 0) _exit(125);
  });
  EXPECT_EQ(run.exit_code, 23) << run.err;
  EXPECT_EQ(read_all(target), "precious\n") << "the link was followed";
  EXPECT_TRUE(has(run.err, "dbgalloc: cannot create log file '" + prefix + "." + std::to_string(run.pid) +
                               "': it already exists (dbgalloc never writes into an existing file); reports go to stderr"))
      << run.err;
  EXPECT_TRUE(has(run.err, kLeakReport)) << run.err;
}

TEST(LogFiles, a_dangling_symbolic_link_is_not_followed_to_create_its_target) {
  Scratch box;
  std::string target = box.path("created-through-link");
  std::string prefix = box.path("report");
  Outcome run = run_case(box, {"leak"}, "log_path=" + prefix, [&](int pid) {
    if (symlink(target.c_str(), (prefix + "." + std::to_string(pid)).c_str()) != 0) _exit(125);
  });
  EXPECT_NE(access(target.c_str(), F_OK), 0) << "the link's target was created";
  EXPECT_TRUE(has(run.err, "cannot create log file")) << run.err;
  EXPECT_TRUE(has(run.err, kLeakReport)) << run.err;
}

TEST(LogFiles, an_existing_file_at_the_log_name_is_left_alone) {
  Scratch box;
  std::string prefix = box.path("report");
  std::string planted;
  Outcome run = run_case(box, {"leak"}, "log_path=" + prefix, [&](int pid) {
    std::ofstream(prefix + "." + std::to_string(pid)) << "someone else's file\n";
  });
  EXPECT_EQ(read_all(prefix + "." + std::to_string(run.pid)), "someone else's file\n");
  EXPECT_TRUE(has(run.err, "it already exists")) << run.err;
  EXPECT_TRUE(has(run.err, kLeakReport)) << run.err;
}

TEST(LogFiles, log_path_stdout_and_stderr_mean_the_streams) {
  Scratch box;
  Outcome to_stdout = run_case(box, {"leak"}, "log_path=stdout");
  EXPECT_TRUE(has(to_stdout.out, kLeakReport)) << to_stdout.out;
  EXPECT_FALSE(has(to_stdout.err, kLeakReport)) << to_stdout.err;
  Outcome to_stderr = run_case(box, {"leak"}, "log_path=stderr");
  EXPECT_TRUE(has(to_stderr.err, kLeakReport)) << to_stderr.err;
  EXPECT_TRUE(box.names().empty()) << "a file named after the stream: " << box.names().front();
}

TEST(Suppressions, a_fifo_is_refused_without_waiting_for_a_writer) {
  Scratch box;
  std::string fifo = box.path("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Outcome run = run_case(box, {"leak"}, "suppressions=" + fifo);
  EXPECT_TRUE(has(run.err, "dbgalloc: suppressions file '" + fifo + "' is not a regular file: not read")) << run.err;
  EXPECT_TRUE(has(run.err, kLeakReport)) << run.err;
  EXPECT_EQ(run.exit_code, 23);
}

TEST(Suppressions, the_five_thousandth_entry_of_a_file_is_used) {
  Scratch box;
  std::string file = box.path("many.supp");
  {
    std::ofstream out(file);
    for (int i = 1; i < 5000; ++i) out << "leak:no_function_is_called_" << i << "\n";
    out << "leak:leak_40_bytes\n";
  }
  Outcome run = run_case(box, {"leak"}, "suppressions=" + file + ":verbosity=1");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_FALSE(has(run.err, kLeakReport)) << run.err;
  EXPECT_TRUE(has(run.err, "suppressed: 40 byte(s) in 1 block(s)")) << run.err;
}

TEST(ReportDescriptor, the_program_sees_no_descriptor_of_dbgalloc) {
  Scratch box;
  Outcome run = run_case(box, {"list_fds"}, "");
  EXPECT_EQ(run.out, "fds: 0 1 2\n") << run.err;
}

TEST(ReportDescriptor, a_data_file_that_took_number_2_never_gets_a_report) {
  Scratch box;
  std::string data = box.path("data");
  Outcome run = run_case(box, {"stderr_replaced", data}, "");
  EXPECT_EQ(run.exit_code, 23) << "the report halted the program";
  EXPECT_EQ(read_all(data), "the program's own data\n");
  // stderr was a file at start-up: the report went there, reopened by name.
  EXPECT_TRUE(has(run.err, "ERROR: dbgalloc: heap-buffer-overflow")) << run.err;
  EXPECT_TRUE(has(run.err, "24-byte region")) << run.err;
}

// Runs `output_cases stderr_replaced DATA` with stderr a pipe (and stdout too when
// `stdout_too`, as 2>&1 does; else stdout is /dev/null): what came through the pipe.
std::string run_with_stderr_a_pipe(const std::string& data, bool stdout_too, int* exit_code) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  pid_t child = fork();
  if (child == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(stdout_too ? fds[1] : null, 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    execl(cases_path.c_str(), cases_path.c_str(), "stderr_replaced", data.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string piped;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) piped.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return piped;
}

// The pipe was only on fd 2, which the program closed: nothing can reach it any more.
TEST(ReportDescriptor, with_stderr_a_pipe_the_report_is_dropped_rather_than_written_into_the_data_file) {
  Scratch box;
  std::string data = box.path("data");
  int exit_code = -1;
  std::string piped = run_with_stderr_a_pipe(data, false, &exit_code);
  EXPECT_EQ(exit_code, 23);
  EXPECT_EQ(read_all(data), "the program's own data\n");
  EXPECT_EQ(piped, "");
}

// As a CI job or a test runner capturing both streams into one pipe: the pipe is still
// open on fd 1, and the report goes there (was dropped).
TEST(ReportDescriptor, with_stderr_a_pipe_still_open_as_stdout_the_report_reaches_the_pipe) {
  Scratch box;
  std::string data = box.path("data");
  int exit_code = -1;
  std::string piped = run_with_stderr_a_pipe(data, true, &exit_code);
  EXPECT_EQ(exit_code, 23);
  EXPECT_EQ(read_all(data), "the program's own data\n");
  EXPECT_TRUE(has(piped, "ERROR: dbgalloc: heap-buffer-overflow on address")) << piped;
  EXPECT_TRUE(has(piped, "is located 0 bytes to the right of 24-byte region")) << piped;
  EXPECT_TRUE(has(piped, "overflow_and_free")) << piped;
  EXPECT_TRUE(has(piped, "SUMMARY: dbgalloc: heap-buffer-overflow")) << piped;
}

TEST(ReportDescriptor, the_exit_report_survives_a_program_closing_stderr_at_exit) {
  Scratch box;
  Outcome run = run_case(box, {"stderr_closed_at_exit"}, "");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_TRUE(has(run.err, kLeakReport)) << run.err;
}

// Every stream is flushed, as exit() would (was: stdout and stderr only).
TEST(ExitStatus, a_file_the_program_wrote_through_stdio_is_complete_when_the_leak_report_sets_the_exit_status) {
  Scratch box;
  std::string file = box.path("own_file");
  Outcome run = run_case(box, {"unflushed_file", file}, "");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_TRUE(has(run.err, kLeakReport)) << run.err;
  EXPECT_EQ(read_all(file), "data the program wrote to its own file");
}

TEST(ExitStatus, output_the_program_buffered_arrives_when_the_leak_report_sets_the_exit_status) {
  Scratch box;
  Outcome run = run_case(box, {"unflushed_output"}, "");
  EXPECT_EQ(run.exit_code, 23);
  EXPECT_TRUE(has(run.err, kLeakReport)) << run.err;
  EXPECT_EQ(run.out, "output the program wrote without a newline");
}

TEST(Reporter, two_hundred_reporting_threads_share_one_symbolizer) {
  Scratch box;
  Outcome run = run_case(box, {"reports_from_200_threads"}, "halt_on_error=0");
  EXPECT_EQ(run.exit_code, 23);
  std::size_t reports = 0;
  for (std::size_t at = run.err.find("ERROR: dbgalloc: heap-buffer-overflow"); at != std::string::npos;
       at = run.err.find("ERROR: dbgalloc: heap-buffer-overflow", at + 1))
    ++reports;
  EXPECT_EQ(reports, 200u);
  // Boost.Stacktrace kept a libbacktrace state of about 23 MB per reporting thread.
  std::size_t at = run.out.find("VmRSS after 200 reporting threads: ");
  ASSERT_NE(at, std::string::npos) << run.out;
  long rss_kib = std::atol(run.out.c_str() + at + 35);
  EXPECT_GT(rss_kib, 0);
  EXPECT_LT(rss_kib, 150 * 1024) << run.out;
}

TEST(Reporter, a_double_free_is_reported_while_memory_is_exhausted) {
  Scratch box;
  Outcome run = run_case(box, {"double_free_out_of_memory"}, "");
  ASSERT_TRUE(has(run.out, "memory exhausted")) << run.out << run.err;
  EXPECT_EQ(run.exit_code, 23) << run.err;
  EXPECT_FALSE(has(run.err, "terminate called")) << run.err;
  EXPECT_TRUE(has(run.err, "ERROR: dbgalloc: double-free on address")) << run.err;
  EXPECT_TRUE(has(run.err, "is located 0 bytes inside of 64-byte region")) << run.err;
  // The stack is there; names need libbacktrace's tables, which may not fit any more.
  EXPECT_TRUE(has(run.err, "found by free in thread T")) << run.err;
  EXPECT_TRUE(has(run.err, "    #2 0x")) << run.err;
  EXPECT_TRUE(has(run.err, "freed by thread T")) << run.err;
  EXPECT_TRUE(has(run.err, "SUMMARY: dbgalloc: double-free ")) << run.err;
}

// Every report, from its rule line to its SUMMARY line, is one thread's: the finding
// thread, the allocating thread and the block size (100 + the thread's index) agree.
TEST(Reporter, reports_from_threads_at_once_come_out_whole) {
  Scratch box;
  Outcome run = run_case(box, {"threads_reporting_at_once"}, "halt_on_error=0");
  EXPECT_EQ(run.exit_code, 23);
  const std::string rule = "=================================================================\n";
  std::size_t reports = 0;
  for (std::size_t at = run.err.find(rule); at != std::string::npos;) {
    std::size_t next = run.err.find(rule, at + rule.size());
    std::string report = run.err.substr(at, next == std::string::npos ? std::string::npos : next - at);
    at = next;
    if (!has(report, "heap-buffer-overflow")) continue;
    ++reports;
    SCOPED_TRACE(report);
    EXPECT_EQ(report.find("ERROR: dbgalloc: heap-buffer-overflow"), report.find("ERROR:"));
    EXPECT_EQ(report.find("ERROR:", report.find("ERROR:") + 1), std::string::npos);
    std::size_t summary = report.find("SUMMARY: dbgalloc: heap-buffer-overflow");
    ASSERT_NE(summary, std::string::npos);
    EXPECT_EQ(report.find('\n', summary), report.size() - 1) << "SUMMARY ends the report";
    std::size_t found = report.find("found by free in thread T");
    std::size_t allocated = report.find("allocated by thread T");
    ASSERT_NE(found, std::string::npos);
    ASSERT_NE(allocated, std::string::npos);
    long finder = std::atol(report.c_str() + found + 25);
    long allocator = std::atol(report.c_str() + allocated + 21);
    EXPECT_EQ(finder, allocator);
    std::size_t region = report.find("-byte region");
    ASSERT_NE(region, std::string::npos);
    std::size_t digits = report.rfind(' ', region) + 1;
    long size = std::atol(report.c_str() + digits);
    EXPECT_GE(size, 100);
    EXPECT_LT(size, 108);
    // The reporting thread's own creation, and nothing from another report.
    std::string creation = "Thread T" + std::to_string(finder) + " created by T";
    EXPECT_EQ(test_support_count(report, creation), 1u);
    EXPECT_EQ(test_support_count(report, "    #0 "), 3u) << "one stack found, one allocation stack, one creation stack";
  }
  EXPECT_EQ(reports, 200u);
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: report_output_test OUTPUT_CASES\n");
    return 2;
  }
  cases_path = argv[1];
  return RUN_ALL_TESTS();
}
