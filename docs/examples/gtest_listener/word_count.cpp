#include "word_count.hpp"

#include <cctype>
#include <cstring>
#include <string>

std::size_t word_count(const char* text) {
  std::string copy(text);  // a heap allocation, freed on return
  std::size_t words = 0;
  bool inside = false;
  for (char c : copy) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !inside) ++words;
    inside = !space;
  }
  return words;
}
