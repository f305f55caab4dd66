// See frame_keys.hpp.
#include "report/frame_keys.hpp"

#include <cstring>

#include "stacks/stacks.hpp"

namespace dbgalloc::report {

namespace {

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

bool is_own_frame(const stacks::FrameInfo& frame) {
  std::string_view module(frame.module), function(frame.function), file(frame.file);
  return starts_with(module, "libdbgalloc") || starts_with(function, "dbgalloc::") ||
         starts_with(function, "dbgalloc_") || file.find("include/dbgalloc/") != std::string_view::npos;
}

bool is_libc_module(std::string_view module) {
  return starts_with(module, "libc.so") || starts_with(module, "libc-") || starts_with(module, "ld-linux");
}

struct Walk {
  std::size_t max;
  std::size_t visited;
  std::size_t seen;       // source frames looked at
  bool own_on_top;        // the first source frame was dbgalloc's own
  bool filter;
  KeyVisitor visit;
  void* context;
};

void walk_level(const stacks::FrameInfo& frame, void* context) {
  auto* walk = static_cast<Walk*>(context);
  if (walk->visited >= walk->max) return;
  if (walk->seen++ == 0 && walk->filter && is_own_frame(frame)) walk->own_on_top = true;
  if (walk->own_on_top) return;
  if (walk->filter && is_system_frame(frame)) return;
  if (!walk->filter) {
    stacks::FrameInfo named = frame;
    std::string_view name = frame.function;
    if (is_libc_module(frame.module)) name = public_function_name(name);
    std::memmove(named.function, name.data(), name.size());
    named.function[name.size()] = '\0';
    walk->visit(named, walk->context);
  } else {
    walk->visit(frame, walk->context);
  }
  ++walk->visited;
}

void walk_frames(const std::uintptr_t* frames, std::size_t n, bool exact_first, Walk* walk) {
  for (std::size_t i = 0; i < n && walk->visited < walk->max && !walk->own_on_top; ++i)
    stacks::describe_levels(frames[i], exact_first && i == 0, walk_level, walk);
}

std::size_t block_frames(const Finding& f, std::uintptr_t* frames) {
  if (!f.has_block) return 0;
  return stacks::lookup(f.block.freed() ? f.block.free_stack : f.block.alloc_stack, frames, stacks::kMaxFrames);
}

}  // namespace

bool is_system_frame(const stacks::FrameInfo& frame) { return is_own_frame(frame) || is_libc_module(frame.module); }

std::string_view public_function_name(std::string_view name) {
  if (!starts_with(name, "__") || name.size() < 3) return name;
  static constexpr std::string_view kVariants[] = {"_evex", "_avx", "_sse", "_ssse", "_erms", "_unaligned", "_rtm"};
  std::string_view base = name.substr(2);
  std::size_t cut = std::string_view::npos;
  for (std::string_view variant : kVariants) {
    for (std::size_t at = base.find(variant); at != std::string_view::npos; at = base.find(variant, at + 1)) {
      std::size_t end = at + variant.size();
      // A whole word of the name: "_avx2" and "_sse4_1" count, "_sserver" does not.
      while (end < base.size() && base[end] >= '0' && base[end] <= '9') ++end;
      bool whole = end == base.size() || base[end] == '_';
      if (whole && at > 0 && at < cut) cut = at;
    }
  }
  return cut == std::string_view::npos ? name : base.substr(0, cut);
}

std::size_t current_frames(const Finding& f, std::uintptr_t* frames, bool* exact_first) {
  *exact_first = false;
  if (f.frames != nullptr && f.frame_count > 0) {
    std::size_t n = f.frame_count < stacks::kMaxFrames ? f.frame_count : stacks::kMaxFrames;
    std::memcpy(frames, f.frames, n * sizeof frames[0]);
    *exact_first = f.fault;
    return n;
  }
  return stacks::lookup(f.current_stack, frames, stacks::kMaxFrames);
}

std::size_t key_frames(const Finding& f, std::size_t max, KeyVisitor visit, void* context) {
  std::uintptr_t frames[stacks::kMaxFrames];
  bool exact_first = false;
  std::size_t n = current_frames(f, frames, &exact_first);
  Walk walk{max, 0, 0, false, true, visit, context};
  walk_frames(frames, n, exact_first, &walk);
  if (walk.visited == 0 && (n == 0 || walk.own_on_top)) {
    // No stack of the program's own: the block's.
    n = block_frames(f, frames);
    exact_first = false;
    walk = Walk{max, 0, 0, false, true, visit, context};
    walk_frames(frames, n, false, &walk);
  }
  if (walk.visited == 0 && n > 0) {
    walk = Walk{1, 0, 0, false, false, visit, context};
    walk_frames(frames, n, exact_first, &walk);
  }
  return walk.visited;
}

}  // namespace dbgalloc::report
