// Leak suppressions, as LeakSanitizer reads them: a file of lines
//
//   # comment
//   leak:<template>
//
// where a template is matched against the function name, the source file and the
// module path of every frame of a leak's allocation stack. A template matches a
// substring; '*' matches any run of characters, a leading '^' anchors it at the start
// and a trailing '$' at the end (LeakSanitizer's TemplateMatch). Lines of other types
// (interceptor_via_fun:, …) are accepted and ignored.
//
// The file is read once, at the first leak check, into private mappings (no malloc):
// the whole file and a table that grows to fit its templates, however many. It must be
// a regular file (a FIFO or device is refused, never waited on).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "platform/format.hpp"
#include "stacks/stacks.hpp"

namespace dbgalloc::leaks::suppressions {

struct Suppression {
  std::string_view templ;
  std::uint64_t hits = 0;     // leak groups... counted per leaked block
  std::uint64_t bytes = 0;
};

// Loads `path` (once; later calls return the same result). False when the file cannot
// be read or has a malformed line; `error` then says why.
bool load(const char* path, platform::TextBuffer& error);
std::size_t count();
Suppression& at(std::size_t index);

// LeakSanitizer's template match.
bool template_match(std::string_view templ, std::string_view text);

// The first suppression matching any frame of the stack, or -1. Symbolizes the stack
// (allocates: call inside an InternalScope).
long match_stack(stacks::StackId id);

}  // namespace dbgalloc::leaks::suppressions
