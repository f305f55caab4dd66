#include "debug/guard_sites.hpp"

#include <atomic>
#include <cstddef>
#include <string_view>

#include "options/guard_sites.hpp"
#include "stacks/frame_info.hpp"

namespace dbgalloc::debug {

namespace {

constexpr std::size_t kMaxSites = options::kMaxGuardSites;
constexpr std::size_t kModuleNameBytes = options::kMaxGuardSiteModule + 1;
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
  options::GuardSite parsed[options::kMaxGuardSites];
  std::size_t count = 0;
  if (!options::parse_guard_sites(text == nullptr ? "" : text, parsed, &count)) return false;
  for (std::size_t i = 0; i < count; ++i) {
    Site& site = sites[i];
    parsed[i].module.copy(site.module, parsed[i].module.size());
    site.module[parsed[i].module.size()] = '\0';
    site.offset = parsed[i].offset;
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
