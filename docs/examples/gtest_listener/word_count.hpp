// The code under test: a tiny word counter.
#pragma once

#include <cstddef>

// Number of words (runs of non-space characters) in text.
std::size_t word_count(const char* text);
