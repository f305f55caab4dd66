// Symbolization: a stack recorded at the leaf of the known chain prints the chain's
// functions by name with file:line, in code built with and without frame pointers,
// in the sanitizer layout "    #N 0xADDR in func file:line".
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <regex>
#include <string>

#include "platform/format.hpp"
#include "platform/platform.hpp"
#include "stack_test_support.hpp"
#include "stacks/stacks.hpp"

namespace {

using namespace dbgalloc;
using namespace dbgalloc::stacks;

// Everything print() flushes goes to the report descriptor; point it at a memfd.
std::string print_to_string(StackId id) {
  int fd = memfd_create("stacks-report", 0);
  int saved = platform::report_fd();
  platform::set_report_fd(fd);
  platform::StackText<4096> out;
  print(id, out);
  out.flush();
  platform::set_report_fd(saved);
  std::string text;
  char chunk[4096];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;) text.append(chunk, static_cast<std::size_t>(n));
  close(fd);
  return text;
}

StackId recorded_stack;
__attribute__((noinline)) std::size_t record_at_leaf(void*) {
  recorded_stack = record(0);
  asm volatile("" ::: "memory");
  return 0;
}

std::string record_through_chain(bool with_frame_pointers, Unwinder unwinder) {
  configure(unwinder, 32);
  if (with_frame_pointers) {
    chain_with_fp::outer(3, 0, record_at_leaf, nullptr);
  } else {
    chain_without_fp::outer(3, 0, record_at_leaf, nullptr);
  }
  configure(Unwinder::cfi_cached, kDefaultDepth);
  return print_to_string(recorded_stack);
}

void expect_chain_named(const std::string& report, const std::string& ns) {
  for (const char* function : {"inner_leaf", "descend", "middle", "outer"}) {
    std::regex line("    #[0-9]+ 0x[0-9a-f]+ in " + ns + "::" + function + R"(\(.*\) .*call_chain\.cpp:[0-9]+\n)");
    EXPECT_TRUE(std::regex_search(report, line)) << ns << "::" << function << " missing in\n" << report;
  }
  EXPECT_TRUE(report.rfind("    #0 0x", 0) == 0) << report;
  EXPECT_NE(report.find("record_at_leaf"), std::string::npos) << "frame 0 is the recording function";
}

TEST(Symbolize, chain_with_frame_pointers_by_frame_pointer_walk) {
  expect_chain_named(record_through_chain(true, Unwinder::frame_pointer), "chain_with_fp");
}

TEST(Symbolize, chain_without_frame_pointers_by_cached_cfi) {
  expect_chain_named(record_through_chain(false, Unwinder::cfi_cached), "chain_without_fp");
}

TEST(Symbolize, chain_without_frame_pointers_by_cfi) {
  expect_chain_named(record_through_chain(false, Unwinder::cfi), "chain_without_fp");
}

TEST(Symbolize, frames_are_numbered_and_libc_frames_have_a_location) {
  std::string report = record_through_chain(true, Unwinder::cfi_cached);
  std::size_t lines = 0;
  for (std::size_t pos = 0; (pos = report.find("    #" + std::to_string(lines) + " 0x", pos)) != std::string::npos;)
    ++lines;
  EXPECT_GE(lines, 8u);
  // Every line is either "in func file:line", "in func (module+0x..)" or "(module+0x..)".
  std::regex frame_line(R"(    #[0-9]+ 0x[0-9a-f]+ (in .+ \S+:[0-9]+|in .+ \(.+\+0x[0-9a-f]+\)|\(.+\+0x[0-9a-f]+\)|\(<unknown module>\))\n)");
  static const std::regex any_line(".*\n");
  auto begin = std::sregex_iterator(report.begin(), report.end(), any_line);
  for (auto it = begin; it != std::sregex_iterator(); ++it)
    EXPECT_TRUE(std::regex_match(it->str(), frame_line)) << it->str();
}

// Printed through print_frames with an exact PC: its own first instruction.
__attribute__((noinline)) int exact_pc_marker(int x) {
  asm volatile("" : "+r"(x));
  return x + 1;
}

std::string print_frames_to_string(const std::uintptr_t* frames, std::size_t count, bool exact) {
  int fd = memfd_create("stacks-report", 0);
  int saved = platform::report_fd();
  platform::set_report_fd(fd);
  platform::StackText<4096> out;
  print_frames(frames, count, out, exact);
  out.flush();
  platform::set_report_fd(saved);
  std::string text(8192, '\0');
  ssize_t n = pread(fd, text.data(), text.size(), 0);
  close(fd);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return text;
}

TEST(Symbolize, exact_first_pc_is_not_treated_as_a_return_address) {
  std::uintptr_t frames[] = {reinterpret_cast<std::uintptr_t>(&exact_pc_marker)};
  // A fault PC at a function's first byte belongs to that function...
  EXPECT_NE(print_frames_to_string(frames, 1, true).find("exact_pc_marker"), std::string::npos);
  // ...while a return address there would mean a call ending just before it.
  EXPECT_EQ(print_frames_to_string(frames, 1, false).find("exact_pc_marker"), std::string::npos);
}

TEST(Symbolize, stored_frames_print_like_recorded_ones) {
  std::uintptr_t frames[] = {reinterpret_cast<std::uintptr_t>(&exact_pc_marker) + 1};
  StackId id = store(frames, 1);
  ASSERT_NE(id, kNoStack);
  EXPECT_EQ(store(frames, 1), id);
  EXPECT_NE(print_to_string(id).find("exact_pc_marker"), std::string::npos);
}

TEST(Symbolize, special_ids_print_a_reason) {
  EXPECT_EQ(print_to_string(kNoStack), "    <no stack recorded>\n");
  EXPECT_EQ(print_to_string(0x7ffffff0), "    <unknown stack id 2147483632>\n");
}

}  // namespace
