// The options layer on its own: the table's types, ranges and choices as the parser
// applies them, the messages a bad value gets, secure execution, and the guard_sites
// grammar.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "options/guard_sites.hpp"
#include "options/options.hpp"
#include "platform/format.hpp"

namespace {

namespace options = dbgalloc::options;
using dbgalloc::platform::StackText;

struct Parsed {
  bool ok = false;
  options::Options values;
  std::string error;
};

Parsed parse(const char* text) {
  Parsed parsed;
  StackText<4096> error;
  parsed.ok = options::parse(text, &parsed.values, error);
  parsed.error = std::string(error.view());
  return parsed;
}

const options::OptionInfo& info(std::string_view name) {
  std::size_t count = 0;
  const options::OptionInfo* table = options::table(&count);
  for (std::size_t i = 0; i < count; ++i)
    if (name == table[i].name) return table[i];
  ADD_FAILURE() << "no option " << name;
  return table[0];
}

std::string accepted(std::string_view name) {
  StackText<512> out;
  options::describe_accepted(info(name), out);
  return std::string(out.view());
}

TEST(OptionsParse, defaults_are_the_tables) {
  Parsed parsed = parse("");
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_TRUE(parsed.values.halt_on_error);
  EXPECT_EQ(parsed.values.exitcode, 23);
  EXPECT_EQ(parsed.values.guard, options::guard_choice::none);
  EXPECT_EQ(parsed.values.guard_side, options::guard_side_choice::right);
  EXPECT_EQ(parsed.values.unwinder, options::unwinder_choice::cfi_cached);
  EXPECT_EQ(parsed.values.report_format, options::report_format_choice::text);
  EXPECT_STREQ(parsed.values.log_path.c_str(), "");
}

TEST(OptionsParse, pairs_split_on_colons_and_white_space) {
  Parsed parsed = parse("exitcode=7:print_stats=yes verbosity=2\tlog_path=/tmp/x\nhalt_on_error=false");
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.values.exitcode, 7);
  EXPECT_TRUE(parsed.values.print_stats);
  EXPECT_EQ(parsed.values.verbosity, 2);
  EXPECT_STREQ(parsed.values.log_path.c_str(), "/tmp/x");
  EXPECT_FALSE(parsed.values.halt_on_error);
}

TEST(OptionsParse, integers_outside_the_tables_range_are_refused_naming_it) {
  Parsed parsed = parse("exitcode=256");
  EXPECT_FALSE(parsed.ok);
  EXPECT_EQ(parsed.error, "dbgalloc: bad value '256' for option 'exitcode': expected an integer from 0 to 255\n");
  EXPECT_TRUE(parse("malloc_fill=-1").ok);
  EXPECT_FALSE(parse("malloc_fill=-2").ok);
  EXPECT_FALSE(parse("arenas=4x").ok);
}

TEST(OptionsParse, a_boolean_takes_one_zero_and_their_words) {
  EXPECT_EQ(parse("canaries=maybe").error, "dbgalloc: bad value 'maybe' for option 'canaries': expected 0 or 1\n");
  EXPECT_FALSE(parse("canaries=no").values.canaries);
}

TEST(OptionsParse, a_choice_is_stored_as_its_enum) {
  Parsed parsed = parse("unwinder=frame_pointer:guard_side=random:report_format=json:report_style=asan:guard=all");
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.values.unwinder, options::unwinder_choice::frame_pointer);
  EXPECT_EQ(parsed.values.guard_side, options::guard_side_choice::random);
  EXPECT_EQ(parsed.values.report_format, options::report_format_choice::json);
  EXPECT_EQ(parsed.values.report_style, options::report_style_choice::asan);
  EXPECT_EQ(parsed.values.guard, options::guard_choice::all);
}

TEST(OptionsParse, a_bad_choice_lists_the_tables_values) {
  EXPECT_EQ(parse("unwinder=libunwind").error,
            "dbgalloc: bad value 'libunwind' for option 'unwinder': expected frame_pointer, cfi or cfi_cached\n");
  EXPECT_EQ(parse("guard_side=both").error,
            "dbgalloc: bad value 'both' for option 'guard_side': expected right, left or random\n");
}

TEST(OptionsParse, guard_sample_keeps_its_colon_and_its_argument) {
  Parsed parsed = parse("guard=sample:100:exitcode=3");
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.values.guard, options::guard_choice::sample);
  EXPECT_EQ(parsed.values.guard_argument, 100);
  EXPECT_EQ(parsed.values.exitcode, 3);
  const char* expected = "none, all or sample:N with N >= 1";
  EXPECT_EQ(accepted("guard"), expected);
  for (const char* bad : {"guard=sample", "guard=sample:0", "guard=sample:", "guard=sample:1000000000000000000"}) {
    Parsed refused = parse(bad);
    EXPECT_FALSE(refused.ok) << bad;
    EXPECT_NE(refused.error.find(std::string("for option 'guard': expected ") + expected), std::string::npos)
        << bad << ": " << refused.error;
  }
  // Only that value keeps the colon: after another the digits are a pair of their own.
  EXPECT_EQ(parse("guard=all:5").error.rfind("dbgalloc: unknown option '5'", 0), 0u);
}

TEST(OptionsParse, the_last_value_of_an_option_wins_even_after_a_bad_one) {
  Parsed parsed = parse("guard=sometimes:guard=sample:8:guard=all:unwinder=cfi");
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.values.guard, options::guard_choice::all);
  EXPECT_EQ(parsed.values.guard_argument, 0);
  EXPECT_EQ(parsed.values.unwinder, options::unwinder_choice::cfi);
}

TEST(OptionsParse, unknown_names_and_missing_values_are_refused) {
  Parsed unknown = parse("quarantine=5");
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.error.rfind("dbgalloc: unknown option 'quarantine' in DBGALLOC_OPTIONS; known options: halt_on_error", 0), 0u)
      << unknown.error;
  EXPECT_EQ(parse("print_stats").error, "dbgalloc: option 'print_stats' needs a value (print_stats=...)\n");
}

TEST(OptionsParse, text_over_255_characters_is_refused) {
  std::string text = "log_path=" + std::string(256, 'a');
  EXPECT_EQ(parse(text.c_str()).error,
            "dbgalloc: bad value '(too long)' for option 'log_path': expected at most 255 characters\n");
  text.pop_back();
  EXPECT_TRUE(parse(text.c_str()).ok);
}

TEST(OptionsParse, guard_alignment_must_be_a_power_of_two) {
  EXPECT_TRUE(parse("guard_alignment=64").ok);
  EXPECT_EQ(parse("guard_alignment=48").error,
            "dbgalloc: bad value 'not a power of two' for option 'guard_alignment': expected 0 (flush) or a power of "
            "two from 1 to 4096\n");
}

TEST(OptionsParse, secure_execution_keeps_the_defaults_of_ignored_options_and_names_them_once) {
  options::Options values;
  StackText<1024> error;
  StackText<1024> ignored;
  ASSERT_TRUE(options::parse("log_path=/x:exitcode=9:verbosity=2:log_path=/y", &values, error, &ignored));
  EXPECT_STREQ(values.log_path.c_str(), "");
  EXPECT_EQ(values.exitcode, 23);
  EXPECT_EQ(values.verbosity, 2);
  EXPECT_EQ(ignored.view(), "log_path exitcode");
}

TEST(OptionsTable, a_choices_values_are_listed_in_order) {
  const options::OptionInfo& unwinder = info("unwinder");
  EXPECT_STREQ(unwinder.type, "choice");
  EXPECT_EQ(options::choice_value(unwinder, 0), "frame_pointer");
  EXPECT_EQ(options::choice_value(unwinder, 2), "cfi_cached");
  EXPECT_EQ(options::choice_value(unwinder, 3), "");
  EXPECT_EQ(options::choice_value(info("exitcode"), 0), "");
  EXPECT_STREQ(unwinder.default_text, "cfi_cached");
  EXPECT_EQ(accepted("exitcode"), "an integer from 0 to 255");
  EXPECT_EQ(accepted("report_style"), "dbgalloc or asan");
}

TEST(GuardSites, the_grammar_is_module_plus_hex_offsets_separated_by_commas) {
  options::GuardSite sites[options::kMaxGuardSites];
  std::size_t count = 0;
  ASSERT_TRUE(options::parse_guard_sites("a.out+0x11d6,,libfoo.so.1+ff", sites, &count));
  ASSERT_EQ(count, 2u);
  EXPECT_EQ(sites[0].module, "a.out");
  EXPECT_EQ(sites[0].offset, 0x11d6u);
  EXPECT_EQ(sites[1].module, "libfoo.so.1");
  EXPECT_EQ(sites[1].offset, 0xffu);
  ASSERT_TRUE(options::parse_guard_sites("", sites, &count));
  EXPECT_EQ(count, 0u);
  for (const char* bad : {"a.out", "+0x10", "a.out+", "a.out+0x", "a.out+0xg1", "a.out+0x12345678901234567"})
    EXPECT_FALSE(options::parse_guard_sites(bad, sites, &count)) << bad;
}

TEST(GuardSites, at_most_sixteen_sites_and_127_byte_module_names) {
  options::GuardSite sites[options::kMaxGuardSites];
  std::size_t count = 0;
  std::string list;
  for (int i = 0; i < 16; ++i) list += "m+" + std::to_string(i) + ",";
  EXPECT_TRUE(options::parse_guard_sites(list, sites, &count));
  EXPECT_EQ(count, 16u);
  EXPECT_FALSE(options::parse_guard_sites(list + "m+1", sites, &count));
  EXPECT_TRUE(options::parse_guard_sites(std::string(127, 'm') + "+1", sites, &count));
  EXPECT_FALSE(options::parse_guard_sites(std::string(128, 'm') + "+1", sites, &count));
  Parsed refused = parse("guard_sites=a.out");
  EXPECT_EQ(refused.error.rfind("dbgalloc: bad value 'a.out' for option 'guard_sites': expected a comma-separated list", 0),
            0u)
      << refused.error;
}

}  // namespace
