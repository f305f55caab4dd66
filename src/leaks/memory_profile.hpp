// The memory profile (__sanitizer_print_memory_profile, which libFuzzer prints when an
// input runs out of memory): the live blocks grouped by allocation stack, as the leak
// report groups the leaked ones, the largest groups first.
#pragma once

#include <cstddef>

namespace dbgalloc::leaks {

// Prints, on the report descriptor, the totals (live and quarantined) and the largest
// groups until they hold `top_percent` of the live bytes (0 or over 100: all), at most
// `max_contexts` of them. Allocates nothing: the walk holds the arena locks.
void print_memory_profile(std::size_t top_percent, std::size_t max_contexts);

}  // namespace dbgalloc::leaks
