// The sanitizer interface functions (sanitizer/allocator_interface.h and
// common_interface_defs.h) that tools such as libFuzzer look up weakly, served by
// dbgalloc. The __lsan_* functions live in lsan_api.cpp.
//
// A fuzz target must be linked without clang's UBSan-standalone runtime, which defines
// seven of these too (see docs/fuzzing.md, "Linking"): otherwise the link fails
// (static) or libFuzzer binds to UBSan's copies and never calls ours (shared).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "debug/allocator.hpp"
#include "debug/block.hpp"
#include "debug/locate.hpp"
#include "heap/arenas.hpp"
#include "interpose/hooks.hpp"
#include "interpose/runtime.hpp"
#include "pages/pages.hpp"
#include "platform/format.hpp"
#include "platform/lock.hpp"
#include "platform/platform.hpp"
#include "platform/reentry.hpp"
#include "report/report.hpp"
#include "stacks/frame_info.hpp"
#include "stacks/stacks.hpp"

namespace dbgalloc::interpose {

constinit std::atomic<MallocHook> malloc_hook{nullptr};
constinit std::atomic<FreeHook> free_hook{nullptr};

namespace {
// Set while this thread runs a hook: an allocation made by the hook itself (libFuzzer
// prints from it) does not call the hooks again.
thread_local bool tls_in_hook __attribute__((tls_model("initial-exec"))) = false;

class HookScope {
 public:
  HookScope() { tls_in_hook = true; }
  ~HookScope() { tls_in_hook = false; }
  HookScope(const HookScope&) = delete;
  HookScope& operator=(const HookScope&) = delete;
};
}  // namespace

void call_malloc_hook(MallocHook hook, const void* p, std::size_t size) {
  if (tls_in_hook || platform::in_internal_code()) return;
  HookScope scope;
  hook(p, size);
}

void call_free_hook(FreeHook hook, const void* p) {
  if (tls_in_hook || platform::in_internal_code()) return;
  HookScope scope;
  hook(p);
}

namespace {
// The live block starting at p, or false.
bool live_block(const volatile void* p, debug::Located* out) {
  if (p == nullptr) return false;
  auto address = reinterpret_cast<std::uintptr_t>(const_cast<const void*>(p));
  if (debug::locate(address, out) != debug::Lookup::ok) return false;
  return out->header->state() == debug::State::live && !out->header->has(debug::BlockHeader::kInternalFlag);
}

// Memory profile: live blocks grouped by allocation stack, without allocating (the
// walk holds the arena locks). Stacks beyond the table are counted as "other".
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

}  // namespace

}  // namespace dbgalloc::interpose

using dbgalloc::interpose::ensure_started;
namespace debug = dbgalloc::debug;
namespace platform = dbgalloc::platform;
namespace stacks = dbgalloc::stacks;

DBGALLOC_EXPORT int __sanitizer_install_malloc_and_free_hooks(dbgalloc::interpose::MallocHook malloc_hook,
                                                              dbgalloc::interpose::FreeHook free_hook) {
  // One pair, as libFuzzer needs; a second call replaces it.
  dbgalloc::interpose::malloc_hook.store(malloc_hook, std::memory_order_release);
  dbgalloc::interpose::free_hook.store(free_hook, std::memory_order_release);
  return 1;
}

DBGALLOC_EXPORT std::size_t __sanitizer_get_estimated_allocated_size(std::size_t size) { return size; }

DBGALLOC_EXPORT int __sanitizer_get_ownership(const volatile void* p) {
  ensure_started();
  debug::Located block;
  return dbgalloc::interpose::live_block(p, &block) ? 1 : 0;
}

DBGALLOC_EXPORT std::size_t __sanitizer_get_allocated_size(const volatile void* p) {
  ensure_started();
  debug::Located block;
  return dbgalloc::interpose::live_block(p, &block) ? block.header->size() : 0;
}

DBGALLOC_EXPORT std::size_t __sanitizer_get_current_allocated_bytes() {
  ensure_started();
  // Guard blocks (every large block where the kernel has guard regions) are not heap chunks.
  return dbgalloc::heap::arenas().stats().heap.in_use_bytes + debug::stats().guard_bytes;
}

DBGALLOC_EXPORT std::size_t __sanitizer_get_heap_size() {
  ensure_started();
  return dbgalloc::pages::page_allocator().stats().mapped_bytes;
}

DBGALLOC_EXPORT std::size_t __sanitizer_get_free_bytes() {
  ensure_started();
  return dbgalloc::heap::arenas().stats().heap.free_bytes;
}

DBGALLOC_EXPORT std::size_t __sanitizer_get_unmapped_bytes() { return 0; }

DBGALLOC_EXPORT __attribute__((noinline)) void __sanitizer_print_stack_trace() {
  std::uintptr_t frames[stacks::kMaxFrames];
  // skip = 1: the first frame is our caller, as in ASan's traces.
  std::size_t count = stacks::capture(frames, stacks::kMaxFrames, 1);
  platform::StackText<2048> out;
  if (count == 0) out.text("    <empty stack>\n");
  stacks::print_frames(frames, count, out);
  out.character('\n');
  out.flush();
}

DBGALLOC_EXPORT void __sanitizer_set_death_callback(void (*callback)()) {
  dbgalloc::report::set_death_callback(callback);
}

// Whoever gets 1 owns the crash and must report it; later callers (another thread, or
// a second crash while reporting) get 0. dbgalloc's own reports never take it, so a
// tool's crash handler (libFuzzer's, which saves the input) still runs when
// report::die() calls the death callback.
DBGALLOC_EXPORT int __sanitizer_acquire_crash_state() {
  static std::atomic<int> taken{0};
  return taken.exchange(1) == 0 ? 1 : 0;
}

DBGALLOC_EXPORT void __sanitizer_purge_allocator() {
  ensure_started();
  debug::purge_quarantine();
  dbgalloc::heap::arenas().trim();
}

DBGALLOC_EXPORT void __sanitizer_print_memory_profile(std::size_t top_percent, std::size_t max_contexts) {
  ensure_started();
  static dbgalloc::interpose::Profile profile;  // large; libFuzzer calls this once, at an OOM
  static constinit dbgalloc::platform::Lock profile_lock;
  dbgalloc::platform::LockGuard serial(profile_lock);
  profile = {};
  debug::for_each_live_block(dbgalloc::interpose::add_to_profile, &profile);
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
    dbgalloc::interpose::ProfileEntry entry = profile.entries[best];
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

DBGALLOC_EXPORT void __sanitizer_set_report_fd(void* fd) {
  platform::set_report_fd(static_cast<int>(reinterpret_cast<std::intptr_t>(fd)));
}

// The formats libFuzzer uses: %p pc, %F "in function", %f function, %L "file:line" (or
// "(module+0xoffset)"), %s file, %l line, %m module, %o offset, %% percent.
DBGALLOC_EXPORT void __sanitizer_symbolize_pc(void* pc, const char* format, char* out, std::size_t out_size) {
  if (out == nullptr || out_size == 0) return;
  out[0] = '\0';
  if (format == nullptr) return;
  auto address = reinterpret_cast<std::uintptr_t>(pc);
  stacks::FrameInfo frame{};
  stacks::describe_frame(address, true, &frame);
  platform::StackText<2048> text;
  for (const char* c = format; *c != '\0'; ++c) {
    if (*c != '%' || c[1] == '\0') {
      text.character(*c);
      continue;
    }
    switch (*++c) {
      case 'p': text.hex(address); break;
      case 'F': if (frame.function[0] != '\0') text.text("in ").text(frame.function); break;
      case 'f': text.text(frame.function); break;
      case 'L':
        if (frame.file[0] != '\0' && frame.line != 0) {
          text.text(frame.file).character(':').dec(frame.line);
        } else {
          text.character('(').text(frame.module).character('+').hex(frame.offset).character(')');
        }
        break;
      case 's': text.text(frame.file); break;
      case 'l': if (frame.line != 0) text.dec(frame.line); break;
      case 'm': text.text(frame.module); break;
      case 'o': text.hex(frame.offset); break;
      case '%': text.character('%'); break;
      default: text.character('%').character(*c); break;
    }
  }
  std::size_t n = text.size() < out_size - 1 ? text.size() : out_size - 1;
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}
