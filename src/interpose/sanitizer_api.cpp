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
#include "debug/locate.hpp"
#include "heap/arenas.hpp"
#include "interpose/hooks.hpp"
#include "interpose/runtime.hpp"
#include "interpose/statistics.hpp"
#include "leaks/memory_profile.hpp"
#include "platform/format.hpp"
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

}  // namespace dbgalloc::interpose

using dbgalloc::interpose::ensure_started;
namespace debug = dbgalloc::debug;
namespace platform = dbgalloc::platform;
namespace stacks = dbgalloc::stacks;
namespace statistics = dbgalloc::interpose::statistics;

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
  std::size_t size = 0;
  return debug::live_program_block(p, &size) ? 1 : 0;
}

DBGALLOC_EXPORT std::size_t __sanitizer_get_allocated_size(const volatile void* p) {
  ensure_started();
  std::size_t size = 0;
  return debug::live_program_block(p, &size) ? size : 0;
}

DBGALLOC_EXPORT std::size_t __sanitizer_get_current_allocated_bytes() {
  ensure_started();
  return statistics::allocated_bytes();
}

DBGALLOC_EXPORT std::size_t __sanitizer_get_heap_size() {
  ensure_started();
  return statistics::mapped_bytes();
}

DBGALLOC_EXPORT std::size_t __sanitizer_get_free_bytes() {
  ensure_started();
  return statistics::free_bytes();
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
  dbgalloc::leaks::print_memory_profile(top_percent, max_contexts);
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
