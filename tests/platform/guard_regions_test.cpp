// platform::guard_install / guard_remove / guard_regions_supported (Linux 6.13+). On an
// older kernel the probe must say no and the tests that need the feature are skipped.
#include <sys/utsname.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "platform/platform.hpp"
#include "../support/maps.hpp"

namespace dbgalloc::platform {
namespace {

const std::size_t kPage = page_size();

using test_support::mappings_over;

bool kernel_at_least(int major, int minor) {
  utsname name{};
  if (uname(&name) != 0) return false;
  int have_major = 0, have_minor = 0;
  if (std::sscanf(name.release, "%d.%d", &have_major, &have_minor) != 2) return false;
  return have_major > major || (have_major == major && have_minor >= minor);
}

TEST(GuardRegions, the_probe_agrees_with_the_kernel_version) {
  EXPECT_EQ(guard_regions_supported(), kernel_at_least(6, 13));
  EXPECT_EQ(guard_regions_supported(), guard_regions_supported());  // asked once, same answer
}

TEST(GuardRegions, a_guard_page_faults_on_read_and_write_without_splitting_the_mapping) {
  if (!guard_regions_supported()) GTEST_SKIP() << "kernel without guard regions";
  auto* area = static_cast<char*>(map(8 * kPage));
  ASSERT_NE(area, nullptr);
  auto begin = reinterpret_cast<std::uintptr_t>(area);
  std::memset(area, 7, 8 * kPage);
  ASSERT_TRUE(guard_install(area + 3 * kPage, kPage));
  ASSERT_TRUE(guard_install(area + 5 * kPage, 2 * kPage));
  EXPECT_EQ(mappings_over(begin, begin + 8 * kPage), 1u);  // mprotect would make five
  EXPECT_EQ(area[3 * kPage - 1], 7);
  EXPECT_EQ(area[4 * kPage], 7);
  EXPECT_DEATH((void)*static_cast<volatile char*>(area + 3 * kPage), "");
  EXPECT_DEATH(*static_cast<volatile char*>(area + 6 * kPage + 100) = 1, "");
  unmap(area, 8 * kPage);
}

TEST(GuardRegions, removing_a_guard_gives_back_an_empty_page_and_installing_discards) {
  if (!guard_regions_supported()) GTEST_SKIP() << "kernel without guard regions";
  auto* area = static_cast<char*>(map(2 * kPage));
  ASSERT_NE(area, nullptr);
  std::memset(area, 9, 2 * kPage);
  ASSERT_TRUE(guard_install(area, kPage));
  ASSERT_TRUE(guard_remove(area, kPage));
  EXPECT_EQ(area[0], 0);            // the old contents are gone
  EXPECT_EQ(area[kPage - 1], 0);
  EXPECT_EQ(area[kPage], 9);        // the neighbour kept its own
  area[0] = 1;                      // and it is writable again
  EXPECT_EQ(area[0], 1);
  unmap(area, 2 * kPage);
}

TEST(GuardRegions, a_guard_on_a_mapping_that_cannot_have_one_is_refused) {
  if (!guard_regions_supported()) GTEST_SKIP() << "kernel without guard regions";
  // Not mapped at all: refused.
  void* nowhere = map(kPage);
  ASSERT_NE(nowhere, nullptr);
  unmap(nowhere, kPage);
  EXPECT_FALSE(guard_install(nowhere, kPage));
}

}  // namespace
}  // namespace dbgalloc::platform
