// Forged heap metadata (chunk size word, previous-size word, debug header) is reported
// as heap-header-corruption naming the block, and never trusted (issue 13, item 3).
// Each case runs under the preload with the quarantine off, so the heap takes the
// block back (and checks its words) at the free itself.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "../support/child.hpp"

namespace {

std::string cases_path;
std::string preload_path;

using test_support::has;
using test_support::Outcome;

Outcome run_case(const std::string& name) {
  return test_support::run_preloaded(cases_path, preload_path, name, "quarantine_mb=0:detect_leaks=0");
}

#define EXPECT_REPORT(run, text) EXPECT_TRUE(has(run, text)) << "missing: " << (text) << "\n" << (run).output

TEST(MetadataIntegrity, a_header_size_forged_with_a_crc_patched_checksum_is_reported_at_realloc) {
  Outcome run = run_case("forge_header_size_crc");
  EXPECT_EQ(run.exit_code, 23) << run.output;
  EXPECT_REPORT(run, "ERROR: dbgalloc: heap-header-corruption");
  EXPECT_REPORT(run, "found by realloc");
  EXPECT_FALSE(has(run, "realloc returned")) << run.output;
}

TEST(MetadataIntegrity, a_forged_chunk_size_word_is_reported_at_free_naming_the_block) {
  Outcome run = run_case("forge_size_word");
  EXPECT_EQ(run.exit_code, 23) << run.output;
  EXPECT_REPORT(run, "ERROR: dbgalloc: heap-header-corruption");
  EXPECT_REPORT(run, "found by free");
  EXPECT_REPORT(run, "chunk header fails its integrity check");
  EXPECT_REPORT(run, "100-byte region");
  EXPECT_REPORT(run, "allocate_bytes");  // the allocation stack
  EXPECT_FALSE(has(run, "free returned")) << run.output;
}

TEST(MetadataIntegrity, a_forged_previous_size_word_is_reported_when_the_free_would_merge) {
  Outcome run = run_case("forge_prev_size");
  EXPECT_EQ(run.exit_code, 23) << run.output;
  EXPECT_REPORT(run, "ERROR: dbgalloc: heap-header-corruption");
  EXPECT_REPORT(run, "previous-size word fails its integrity check");
  EXPECT_REPORT(run, "2000-byte region");
  EXPECT_FALSE(has(run, "free returned")) << run.output;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    fprintf(stderr, "usage: %s METADATA_CASES LIBDBGALLOC_SO\n", argv[0]);
    return 2;
  }
  cases_path = argv[1];
  preload_path = argv[2];
  return RUN_ALL_TESTS();
}
