#include "leaks/memory_profile.hpp"

#include "debug/allocator.hpp"
#include "platform/format.hpp"
#include "platform/lock.hpp"
#include "stacks/stacks.hpp"

namespace dbgalloc::leaks {

namespace {
// Stacks beyond the table are counted as "other".
struct ProfileEntry {
  stacks::StackId stack;
  std::size_t bytes;
  std::size_t blocks;
};
constexpr std::size_t kProfileSlots = 256;
struct Profile {
  ProfileEntry entries[kProfileSlots];
  std::size_t used = 0;
  std::size_t total_bytes = 0;
  std::size_t total_blocks = 0;
  std::size_t other_bytes = 0;
  std::size_t other_blocks = 0;
};

void add_to_profile(const debug::BlockView& block, void* context) {
  auto* profile = static_cast<Profile*>(context);
  profile->total_bytes += block.size;
  ++profile->total_blocks;
  for (std::size_t i = 0; i < profile->used; ++i) {
    if (profile->entries[i].stack == block.alloc_stack) {
      profile->entries[i].bytes += block.size;
      ++profile->entries[i].blocks;
      return;
    }
  }
  if (profile->used < kProfileSlots) {
    profile->entries[profile->used++] = {block.alloc_stack, block.size, 1};
  } else {
    profile->other_bytes += block.size;
    ++profile->other_blocks;
  }
}

Profile profile;  // large; libFuzzer asks for it once, at an out-of-memory
constinit platform::Lock profile_lock;
}  // namespace

void print_memory_profile(std::size_t top_percent, std::size_t max_contexts) {
  platform::LockGuard serial(profile_lock);
  profile = {};
  debug::for_each_live_block(add_to_profile, &profile);
  debug::DebugStats debug_stats = debug::stats();
  platform::StackText<4096> out;
  out.text("Live Heap Allocations: ").dec(profile.total_bytes).text(" bytes in ").dec(profile.total_blocks)
      .text(" chunks; quarantined: ").dec(debug_stats.quarantined_bytes).text(" bytes in ")
      .dec(debug_stats.quarantined_blocks).text(" chunks\n");
  if (top_percent == 0 || top_percent > 100) top_percent = 100;
  std::size_t wanted = profile.total_bytes / 100 * top_percent;
  std::size_t shown_bytes = 0;
  for (std::size_t shown = 0; shown < max_contexts && shown < profile.used && shown_bytes < wanted; ++shown) {
    // Selection of the largest remaining site: the table is small and this runs once.
    std::size_t best = shown;
    for (std::size_t i = shown + 1; i < profile.used; ++i)
      if (profile.entries[i].bytes > profile.entries[best].bytes) best = i;
    ProfileEntry entry = profile.entries[best];
    profile.entries[best] = profile.entries[shown];
    profile.entries[shown] = entry;
    shown_bytes += entry.bytes;
    std::size_t percent = profile.total_bytes == 0 ? 0 : entry.bytes * 100 / profile.total_bytes;
    out.dec(entry.bytes).text(" byte(s) (").dec(percent).text("%) in ").dec(entry.blocks).text(" allocation(s)\n");
    stacks::print(entry.stack, out);
    out.character('\n');
  }
  if (profile.other_blocks > 0)
    out.dec(profile.other_bytes).text(" byte(s) in ").dec(profile.other_blocks).text(" allocation(s) from other sites\n");
  out.flush();
}

}  // namespace dbgalloc::leaks
