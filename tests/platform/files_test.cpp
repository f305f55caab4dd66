// platform/files.hpp: the few files dbgalloc opens itself. Log files are created afresh
// and never through a name someone planted; readers take only regular files where they
// map or size them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "platform/files.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::platform {
namespace {

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/dbgalloc_files_test.XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    for (const std::string& name : created_) unlink(name.c_str());
    rmdir(dir_.c_str());
  }
  std::string path(const char* name) {
    created_.push_back(dir_ + "/" + name);
    return created_.back();
  }
  void write_file(const std::string& name, const std::string& text) {
    int fd = open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
  }

  std::string dir_;
  std::vector<std::string> created_;
};

TEST_F(Files, a_new_file_is_created_private_and_appended_to) {
  std::string log = path("log");
  int fd = create_new_file(log.c_str());
  ASSERT_GE(fd, 0);
  struct stat st{};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  write_all(fd, "one\n", 4);
  close_file(fd);
  fd = open_for_appending(log.c_str());
  ASSERT_GE(fd, 0);
  write_all(fd, "two\n", 4);
  close_file(fd);
  char text[64];
  EXPECT_EQ(read_small_file(log.c_str(), text, sizeof text), 8);
  EXPECT_STREQ(text, "one\ntwo\n");
}

TEST_F(Files, a_new_file_is_never_one_already_there_nor_a_symbolic_link) {
  std::string existing = path("existing");
  write_file(existing, "the program's data\n");
  int fd = create_new_file(existing.c_str());
  int error = errno;
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(error, EEXIST);
  std::string target = path("target");
  std::string link = path("link");
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);  // dangling
  EXPECT_EQ(create_new_file(link.c_str()), -1);
  EXPECT_EQ(access(target.c_str(), F_OK), -1);  // nothing created through it
  write_file(target, "x");
  fd = open_for_appending(link.c_str());  // appending does not follow one either
  error = errno;
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(error, ELOOP);
}

TEST_F(Files, a_small_file_is_read_whole_and_cut_to_the_buffer) {
  std::string name = path("small");
  write_file(name, "0123456789");
  char text[6];
  EXPECT_EQ(read_small_file(name.c_str(), text, sizeof text), 5);
  EXPECT_STREQ(text, "01234");
  EXPECT_EQ(read_small_file(path("missing").c_str(), text, sizeof text), -1);
  char maps[256];
  EXPECT_GT(read_small_file("/proc/self/maps", maps, sizeof maps), 0);
}

TEST_F(Files, only_a_regular_file_has_a_size_or_is_mapped) {
  std::string name = path("elf");
  const std::string content = "\x7f" "ELF and the rest";
  write_file(name, content);
  int fd = open_for_reading(name.c_str());
  ASSERT_GE(fd, 0);
  std::size_t size = 0;
  EXPECT_TRUE(regular_file_size(fd, &size));
  EXPECT_EQ(size, content.size());
  char first[4];
  EXPECT_EQ(read_some(fd, first, sizeof first), 4);
  EXPECT_EQ(std::memcmp(first, "\x7f" "ELF", 4), 0);
  close_file(fd);
  const void* mapped = map_file(name.c_str(), &size);
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(size, content.size());
  EXPECT_EQ(std::memcmp(mapped, content.data(), content.size()), 0);
  unmap_file(mapped, size);

  int dir = open_for_reading(dir_.c_str());
  ASSERT_GE(dir, 0);
  EXPECT_FALSE(regular_file_size(dir, &size));
  close_file(dir);
  EXPECT_EQ(map_file(dir_.c_str(), &size), nullptr);
  EXPECT_EQ(map_file(path("empty").c_str(), &size), nullptr);  // missing
  write_file(created_.back(), "");
  EXPECT_EQ(map_file(created_.back().c_str(), &size), nullptr);  // empty
}

TEST_F(Files, a_fifo_without_a_writer_is_opened_without_waiting_when_asked) {
  std::string fifo = path("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int fd = open_for_reading(fifo.c_str(), /*nonblocking=*/true);
  ASSERT_GE(fd, 0);
  std::size_t size = 0;
  EXPECT_FALSE(regular_file_size(fd, &size));
  close_file(fd);
}

TEST(ExecutablePath, names_this_test_program) {
  char exe[512];
  std::size_t n = executable_path(exe, sizeof exe);
  ASSERT_GT(n, 0u);
  std::string name(exe, n);
  EXPECT_NE(name.find("dbgalloc_files_test"), std::string::npos) << name;
}

}  // namespace
}  // namespace dbgalloc::platform
