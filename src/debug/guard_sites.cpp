#include "debug/guard_sites.hpp"

#include <atomic>
#include <cstddef>
#include <string_view>

#include "stacks/frame_info.hpp"

namespace dbgalloc::debug {

namespace {

constexpr std::size_t kMaxSites = 16;
constexpr std::size_t kModuleNameBytes = 128;
// While a site's module is missing, look again after this many allocations.
constexpr std::uint32_t kRetryInterval = 4096;

struct Site {
  char module[kModuleNameBytes] = {};
  std::uintptr_t offset = 0;
  std::atomic<std::uintptr_t> address;  // module base + offset; 0 until resolved
};

constinit Site sites[kMaxSites];
constinit std::atomic<std::size_t> site_count{0};
constinit std::atomic<std::size_t> unresolved{0};
constinit std::atomic<std::uint32_t> until_retry{0};

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

void resolve_all() {
  std::size_t missing = 0;
  std::size_t count = site_count.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < count; ++i) {
    if (sites[i].address.load(std::memory_order_relaxed) != 0) continue;
    std::uintptr_t base = 0;
    if (stacks::module_base(sites[i].module, &base)) {
      sites[i].address.store(base + sites[i].offset, std::memory_order_relaxed);
    } else {
      ++missing;
    }
  }
  unresolved.store(missing, std::memory_order_relaxed);
  until_retry.store(kRetryInterval, std::memory_order_relaxed);
}

}  // namespace

bool configure_guard_sites(const char* text) {
  site_count.store(0, std::memory_order_release);
  std::string_view rest(text == nullptr ? "" : text);
  std::size_t count = 0;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    std::size_t plus = item.rfind('+');
    if (plus == std::string_view::npos || plus == 0 || plus >= kModuleNameBytes || count == kMaxSites) return false;
    std::uintptr_t offset = 0;
    if (!parse_hex(item.substr(plus + 1), &offset)) return false;
    Site& site = sites[count++];
    item.copy(site.module, plus);
    site.module[plus] = '\0';
    site.offset = offset;
    site.address.store(0, std::memory_order_relaxed);
  }
  unresolved.store(count, std::memory_order_relaxed);
  until_retry.store(0, std::memory_order_relaxed);
  site_count.store(count, std::memory_order_release);
  return true;
}

bool guard_site_matches(std::uintptr_t caller) {
  std::size_t count = site_count.load(std::memory_order_acquire);
  if (count == 0 || caller == 0) return false;
  if (unresolved.load(std::memory_order_relaxed) != 0) {
    std::uint32_t left = until_retry.load(std::memory_order_relaxed);
    if (left == 0) {
      resolve_all();
    } else {
      until_retry.store(left - 1, std::memory_order_relaxed);
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (sites[i].address.load(std::memory_order_relaxed) == caller) return true;
  }
  return false;
}

}  // namespace dbgalloc::debug
