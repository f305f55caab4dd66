// The guard_sites grammar, one parser for the option check and debug/guard_sites.cpp:
// "" or MODULE+0xHEX[,MODULE+0xHEX...] (empty items skipped; the 0x is optional).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dbgalloc::options {

inline constexpr std::size_t kMaxGuardSites = 16;
inline constexpr std::size_t kMaxGuardSiteModule = 127;  // bytes of MODULE

struct GuardSite {
  std::string_view module;  // points into the parsed text
  std::uintptr_t offset = 0;
};

// Fills sites[0, *count) from `text` (sites: room for kMaxGuardSites). False when `text`
// breaks the grammar: no '+', an empty or too long MODULE, a bad or over 16-digit
// offset, more than kMaxGuardSites items.
bool parse_guard_sites(std::string_view text, GuardSite* sites, std::size_t* count);

}  // namespace dbgalloc::options
