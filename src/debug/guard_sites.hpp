// Guard sites: guard-page blocks for allocations made from chosen call sites only
// (option guard_sites=MODULE+0xOFFSET[,MODULE+0xOFFSET...]), which is how
// `dbgalloc-run --pinpoint` turns a deferred report (a canary found overwritten at
// free, a write after free found at quarantine eviction) into a fault at the
// instruction that did it, in a second run of the same program.
//
// A site is the return address into the program that an allocation call returns to
// (the allocation stack's frame 0), named relative to its module (see
// stacks/frame_info.hpp) so that it survives ASLR. Module bases are resolved lazily
// with dl_iterate_phdr (no allocation): at the first allocation, then again now and
// then while some site's module is not loaded yet (dlopen).
#pragma once

#include <cstdint>

namespace dbgalloc::debug {

// Parses the option's value; false (and nothing configured) when it is malformed.
// "" clears every site.
bool configure_guard_sites(const char* text);

// True when `caller` is one of the configured sites. A single relaxed load when no
// site is configured.
bool guard_site_matches(std::uintptr_t caller);

}  // namespace dbgalloc::debug
