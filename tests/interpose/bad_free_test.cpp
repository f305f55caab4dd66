// Frees of pointers that are not live blocks are reported and otherwise ignored: the
// allocator must survive them and its heap stay sound.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "dbgalloc/dbgalloc.h"
#include "platform/platform.hpp"

namespace {

// Runs fn with the report stream sent into a pipe; returns what was reported.
template <typename Fn>
std::string reported_by(Fn fn) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  int saved = dbgalloc::platform::report_fd();
  dbgalloc::platform::set_report_fd(fds[1]);
  fn();
  dbgalloc::platform::set_report_fd(saved);
  close(fds[1]);
  std::string text;
  char buffer[512];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  return text;
}

std::uint64_t errors() {
  dbgalloc_stats stats{};
  dbgalloc_get_stats(&stats);
  return stats.errors;
}

std::string hex(const void* p) {
  char buffer[32];
  snprintf(buffer, sizeof buffer, "0x%lx", static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(p)));
  return buffer;
}

TEST(BadFree, freeing_a_stack_address_is_reported_and_survived) {
  int local = 0;
  std::uint64_t before = errors();
  std::string text = reported_by([&] { free(&local); });
  EXPECT_NE(text.find("ERROR: dbgalloc: bad-free on address " + hex(&local)), std::string::npos) << text;
  EXPECT_NE(text.find("not in any heap dbgalloc manages"), std::string::npos) << text;
  EXPECT_NE(text.find("found by free in thread"), std::string::npos) << text;
  EXPECT_EQ(errors(), before + 1);
  EXPECT_EQ(dbgalloc_check_heap(), 0);
}

TEST(BadFree, double_free_is_reported_and_the_heap_stays_sound) {
  void* p = malloc(100);
  void* keep = malloc(100);
  free(p);
  std::string text = reported_by([&] { free(p); });
  EXPECT_NE(text.find("ERROR: dbgalloc: double-free on address " + hex(p)), std::string::npos) << text;
  EXPECT_NE(text.find("freed by thread"), std::string::npos) << text;
  EXPECT_NE(text.find("100-byte region"), std::string::npos) << text;
  EXPECT_EQ(dbgalloc_check_heap(), 0);
  free(keep);
}

TEST(BadFree, interior_pointer_free_is_reported) {
  char* p = static_cast<char*>(malloc(100));
  std::string text = reported_by([&] { free(p + 32); });
  EXPECT_NE(text.find("ERROR: dbgalloc: bad-free on address " + hex(p + 32)), std::string::npos) << text;
  EXPECT_NE(text.find("is located 32 bytes inside of 100-byte region"), std::string::npos) << text;
  EXPECT_EQ(dbgalloc_check_heap(), 0);
  free(p);
}

TEST(BadFree, realloc_of_a_wild_pointer_is_reported_and_returns_null) {
  std::string text = reported_by([&] { EXPECT_EQ(realloc(reinterpret_cast<void*>(0x12345670), 10), nullptr); });
  EXPECT_NE(text.find("ERROR: dbgalloc: bad-free on address 0x12345670"), std::string::npos) << text;
  EXPECT_NE(text.find("found by realloc"), std::string::npos) << text;
}

}  // namespace
