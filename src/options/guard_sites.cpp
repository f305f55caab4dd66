#include "options/guard_sites.hpp"

namespace dbgalloc::options {

namespace {
bool parse_hex(std::string_view text, std::uintptr_t* out) {
  if (text.substr(0, 2) == "0x" || text.substr(0, 2) == "0X") text.remove_prefix(2);
  if (text.empty() || text.size() > 16) return false;
  std::uintptr_t value = 0;
  for (char c : text) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return false;
    value = value * 16 + static_cast<std::uintptr_t>(digit);
  }
  *out = value;
  return true;
}
}  // namespace

bool parse_guard_sites(std::string_view text, GuardSite* sites, std::size_t* count) {
  *count = 0;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    std::size_t plus = item.rfind('+');
    if (plus == std::string_view::npos || plus == 0 || plus > kMaxGuardSiteModule || *count == kMaxGuardSites) {
      return false;
    }
    GuardSite& site = sites[*count];
    if (!parse_hex(item.substr(plus + 1), &site.offset)) return false;
    site.module = item.substr(0, plus);
    ++*count;
  }
  return true;
}

}  // namespace dbgalloc::options
