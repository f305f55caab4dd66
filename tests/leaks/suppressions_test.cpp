// Suppression templates, matched as LeakSanitizer matches them (leaks/suppressions.hpp),
// and the suppressions file parser.
#include "leaks/suppressions.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace {

using dbgalloc::leaks::suppressions::template_match;

TEST(Suppressions, plain_template_matches_a_substring) {
  EXPECT_TRUE(template_match("leak_for", "(anonymous namespace)::leak_for_suppression()"));
  EXPECT_TRUE(template_match("libfoo.so", "/usr/lib/x86_64-linux-gnu/libfoo.so.1"));
  EXPECT_FALSE(template_match("leak_four", "leak_for_suppression()"));
  EXPECT_FALSE(template_match("anything", ""));
}

TEST(Suppressions, caret_anchors_at_the_start_and_dollar_at_the_end) {
  EXPECT_TRUE(template_match("^MyCache::", "MyCache::instance()"));
  EXPECT_FALSE(template_match("^Cache::", "MyCache::instance()"));
  EXPECT_TRUE(template_match("instance()$", "MyCache::instance()"));
  EXPECT_FALSE(template_match("instance$", "MyCache::instance()"));
  EXPECT_TRUE(template_match("^MyCache::instance()$", "MyCache::instance()"));
  EXPECT_FALSE(template_match("^MyCache::instance$", "MyCache::instance()"));
}

TEST(Suppressions, asterisk_matches_any_run) {
  EXPECT_TRUE(template_match("parse*config", "parse_the_config_file"));
  EXPECT_TRUE(template_match("*for_supp*sion()$", "leak_for_suppression()"));
  EXPECT_TRUE(template_match("^leak*", "leak_direct()"));
  EXPECT_FALSE(template_match("parse*config", "config_parse"));
  EXPECT_TRUE(template_match("a*$", "banana"));
}

TEST(Suppressions, file_keeps_leak_lines_and_skips_comments_and_other_types) {
  std::string path = testing::TempDir() + "suppressions_test.txt";
  std::ofstream(path) << "# comment\n\n  leak:first  \ninterceptor_via_fun:ignored\nleak:^second$\n";
  dbgalloc::platform::StackText<512> error;
  ASSERT_TRUE(dbgalloc::leaks::suppressions::load(path.c_str(), error)) << error.view();
  ASSERT_EQ(dbgalloc::leaks::suppressions::count(), 2u);
  EXPECT_EQ(dbgalloc::leaks::suppressions::at(0).templ, "first");
  EXPECT_EQ(dbgalloc::leaks::suppressions::at(1).templ, "^second$");
  std::remove(path.c_str());
}

}  // namespace
