// guard_sites (src/debug/guard_sites.cpp) and the module names it shares with reports
// (src/stacks/frame_info.cpp): MODULE+0xOFFSET names one address in any run.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "debug/guard_sites.hpp"
#include "stacks/frame_info.hpp"

namespace {

using dbgalloc::debug::configure_guard_sites;
using dbgalloc::debug::guard_site_matches;

__attribute__((noinline)) int site_function(int x) { return x * 3 + 1; }

std::uintptr_t address_of_site_function() { return reinterpret_cast<std::uintptr_t>(&site_function); }

std::string site_name(std::uintptr_t address) {
  char module[256];
  std::uintptr_t offset = 0;
  EXPECT_TRUE(dbgalloc::stacks::module_of(address, module, sizeof module, &offset));
  char text[300];
  std::snprintf(text, sizeof text, "%s+0x%lx", module, static_cast<unsigned long>(offset));
  return text;
}

TEST(GuardSites, a_site_in_the_main_program_matches_exactly_its_address) {
  std::uintptr_t address = address_of_site_function();
  std::string site = site_name(address);
  EXPECT_EQ(site.rfind("dbgalloc_guard_sites_test+0x", 0), 0u) << site;
  ASSERT_TRUE(configure_guard_sites(site.c_str()));
  EXPECT_TRUE(guard_site_matches(address));
  EXPECT_FALSE(guard_site_matches(address + 1));
  EXPECT_FALSE(guard_site_matches(address - 1));
  EXPECT_FALSE(guard_site_matches(0));
  configure_guard_sites("");
  EXPECT_FALSE(guard_site_matches(address));
}

TEST(GuardSites, a_site_in_a_shared_library_matches_under_aslr) {
  std::uintptr_t address = reinterpret_cast<std::uintptr_t>(&std::abort);
  std::string site = site_name(address);
  EXPECT_EQ(site.rfind("libc.so.6+0x", 0), 0u) << site;
  ASSERT_TRUE(configure_guard_sites(("other.so+0x10," + site).c_str()));
  EXPECT_TRUE(guard_site_matches(address));
  configure_guard_sites("");
}

TEST(GuardSites, a_site_in_a_module_never_loaded_never_matches) {
  ASSERT_TRUE(configure_guard_sites("libnot-there.so+0x0"));
  for (int i = 0; i < 10000; ++i) EXPECT_FALSE(guard_site_matches(address_of_site_function() + i)) << i;
  configure_guard_sites("");
}

TEST(GuardSites, malformed_lists_are_refused) {
  for (const char* bad : {"module", "+0x10", "a.out+", "a.out+0xzz", "a.out+0x12345678901234567"}) {
    EXPECT_FALSE(configure_guard_sites(bad)) << bad;
  }
  std::string seventeen;
  for (int i = 0; i < 17; ++i) seventeen += "m+0x" + std::to_string(i) + ",";
  EXPECT_FALSE(configure_guard_sites(seventeen.c_str()));
  EXPECT_TRUE(configure_guard_sites("a.out+0x10,,libc.so.6+ABC"));
  configure_guard_sites("");
}

TEST(FrameInfo, describes_a_frame_with_function_file_line_module_and_offset) {
  dbgalloc::stacks::FrameInfo info;
  ASSERT_TRUE(dbgalloc::stacks::describe_frame(address_of_site_function(), true, &info));
  EXPECT_NE(std::string(info.function).find("site_function"), std::string::npos) << info.function;
  EXPECT_NE(std::string(info.file).find("guard_sites_test.cpp"), std::string::npos) << info.file;
  EXPECT_GT(info.line, 0u);
  EXPECT_STREQ(info.module, "dbgalloc_guard_sites_test");
  std::uintptr_t base = 0;
  ASSERT_TRUE(dbgalloc::stacks::module_base(info.module, &base));
  EXPECT_EQ(base + info.offset, address_of_site_function());
  EXPECT_EQ(site_function(1), 4);
}

}  // namespace
