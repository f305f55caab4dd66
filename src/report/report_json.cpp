// JSON reports: see report_json.hpp for the shape. Every frame is described with
// stacks::describe_frame (function, file, line, module, offset); everything is
// formatted into fixed buffers and written with write(2).
#include "report/report_json.hpp"

#include <cstring>

#include "platform/platform.hpp"
#include "report/frame_keys.hpp"
#include "stacks/frame_info.hpp"
#include "stacks/stacks.hpp"

namespace dbgalloc::report {

namespace {

// Appends `piece`, flushing what is already there first when both would not fit.
void append_piece(platform::TextBuffer& out, const platform::TextBuffer& piece, std::size_t capacity) {
  if (out.size() + piece.size() > capacity) out.flush();
  out.text(piece.view());
}

}  // namespace

bool is_deferred(const Finding& f) {
  if (f.fault || f.access != nullptr) return false;
  switch (f.error) {
    case ErrorClass::heap_buffer_overflow:
    case ErrorClass::heap_buffer_underflow:
    case ErrorClass::heap_use_after_free:
    case ErrorClass::header_corruption:
      return true;
    default:
      return false;
  }
}

namespace {

const char* state_name(BlockState state) {
  switch (state) {
    case BlockState::live: return "live";
    case BlockState::quarantined: return "quarantined";
    case BlockState::freed: return "freed";
    default: return "unknown";
  }
}

// "class--f0--f1--f2": the class and the first three key frames' function names (see
// frame_keys.hpp), as sanitizers' DEDUP_TOKEN.
void append_dedup_function(const stacks::FrameInfo& frame, void* context) {
  auto* out = static_cast<platform::TextBuffer*>(context);
  out->text("--");
  append_json_escaped(*out, frame.function[0] != '\0' ? frame.function : frame.module);
}

// "key_frame": the frame the SUMMARY line names (frame_keys.hpp), where SARIF puts it.
void append_key_member(const stacks::FrameInfo& frame, void* context) {
  auto* out = static_cast<platform::TextBuffer*>(context);
  out->text(",\"key_frame\":{\"function\":\"");
  append_json_escaped(*out, frame.function);
  out->character('"');
  if (frame.file[0] != '\0' && frame.line != 0) {
    out->text(",\"file\":\"");
    append_json_escaped(*out, frame.file);
    out->text("\",\"line\":").dec(frame.line);
  }
  if (frame.module[0] != '\0') {
    out->text(",\"module\":\"");
    append_json_escaped(*out, frame.module);
    out->text("\",\"offset\":\"").hex(frame.offset).character('"');
  }
  out->character('}');
}

void append_key_frame(platform::TextBuffer& out, const Finding& f) {
  if (out.size() > 2048) out.flush();
  key_frames(f, 1, append_key_member, &out);
}

void append_dedup_key(platform::TextBuffer& out, const Finding& f) {
  out.text(class_name(f.error));
  key_frames(f, 3, append_dedup_function, &out);
}

void append_stack_member(platform::TextBuffer& out, const char* key, stacks::StackId id) {
  std::uintptr_t frames[stacks::kMaxFrames];
  std::size_t n = stacks::lookup(id, frames, stacks::kMaxFrames);
  out.text(",\"").text(key).text("\":");
  append_json_frames(out, frames, n, false);
}

}  // namespace

namespace {
// Length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), or 0 when the bytes there are not one.
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
  auto tail = [&](std::size_t k, unsigned low, unsigned high) { return byte(k) >= low && byte(k) <= high; };
  unsigned c = byte(0);
  if (c >= 0xc2 && c <= 0xdf) return tail(1, 0x80, 0xbf) ? 2 : 0;
  if (c == 0xe0) return tail(1, 0xa0, 0xbf) && tail(2, 0x80, 0xbf) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return tail(1, 0x80, 0xbf) && tail(2, 0x80, 0xbf) ? 3 : 0;
  if (c == 0xed) return tail(1, 0x80, 0x9f) && tail(2, 0x80, 0xbf) ? 3 : 0;
  if (c == 0xf0) return tail(1, 0x90, 0xbf) && tail(2, 0x80, 0xbf) && tail(3, 0x80, 0xbf) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return tail(1, 0x80, 0xbf) && tail(2, 0x80, 0xbf) && tail(3, 0x80, 0xbf) ? 4 : 0;
  if (c == 0xf4) return tail(1, 0x80, 0x8f) && tail(2, 0x80, 0xbf) && tail(3, 0x80, 0xbf) ? 4 : 0;
  return 0;
}
// "threads":[{"thread":..,"created_by":..,"frames":[..]},..] for the threads whose
// origin the text report prints.
struct ThreadList {
  platform::TextBuffer* out;
  bool first;
};

void append_thread_origin(int thread, const stacks::ThreadOrigin& origin, void* context) {
  auto* list = static_cast<ThreadList*>(context);
  platform::TextBuffer& out = *list->out;
  out.text(list->first ? ",\"threads\":[" : ",");
  list->first = false;
  out.text("{\"thread\":").dec(static_cast<std::uint64_t>(thread)).text(",\"created_by\":")
      .dec(static_cast<std::uint64_t>(origin.parent)).text(",\"frames\":");
  std::uintptr_t frames[stacks::kMaxFrames];
  std::size_t n = stacks::lookup(origin.creation, frames, stacks::kMaxFrames);
  append_json_frames(out, frames, n, false);
  out.character('}');
}

}  // namespace

void append_json_escaped(platform::TextBuffer& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.character('\\').character(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out.text("\\u00").character(kHex[c >> 4]).character(kHex[c & 15]);
    } else if (c < 0x80) {
      out.character(static_cast<char>(c));
    } else if (std::size_t n = utf8_sequence(text, i); n != 0) {
      out.text(text.substr(i, n));
      i += n;
      continue;
    } else {
      // A byte that is no UTF-8 (a Latin-1 path, a mangled symbol): U+00XX, so the
      // line stays valid JSON and the byte's value can still be read back.
      out.text("\\u00").character(kHex[c >> 4]).character(kHex[c & 15]);
    }
    ++i;
  }
}

namespace {
struct JsonFrames {
  platform::TextBuffer* out;
  std::uintptr_t pc;
  bool first;
};

// One frame object per source frame (inline levels included, marked "inlined").
void append_json_frame(const stacks::FrameInfo& info, void* context) {
  auto* frames = static_cast<JsonFrames*>(context);
  platform::StackText<3072> piece;
  if (!frames->first) piece.character(',');
  frames->first = false;
  piece.text("{\"pc\":\"").hex(frames->pc).character('"');
  if (info.function[0] != '\0') {
    piece.text(",\"function\":\"");
    append_json_escaped(piece, info.function);
    piece.character('"');
  }
  if (info.file[0] != '\0' && info.line != 0) {
    piece.text(",\"file\":\"");
    append_json_escaped(piece, info.file);
    piece.text("\",\"line\":").dec(info.line);
  }
  if (info.module[0] != '\0') {
    piece.text(",\"module\":\"");
    append_json_escaped(piece, info.module);
    piece.text("\",\"offset\":\"").hex(info.offset).character('"');
  }
  if (info.inlined) piece.text(",\"inlined\":true");
  if (is_system_frame(info)) piece.text(",\"system\":true");
  piece.character('}');
  append_piece(*frames->out, piece, 4096);
}
}  // namespace

void append_json_frames(platform::TextBuffer& out, const std::uintptr_t* frames, std::size_t count,
                        bool first_is_pc) {
  out.character('[');
  JsonFrames state{&out, 0, true};
  for (std::size_t i = 0; i < count; ++i) {
    state.pc = frames[i];
    stacks::describe_levels(frames[i], first_is_pc && i == 0, append_json_frame, &state);
  }
  out.character(']');
}

bool allocation_site(const Finding& f, platform::TextBuffer& out) {
  if (!f.has_block) return false;
  std::uintptr_t frame = 0;
  if (stacks::lookup(f.block.alloc_stack, &frame, 1) == 0) return false;
  char module[256];
  std::uintptr_t offset = 0;
  if (!stacks::module_of(frame, module, sizeof module, &offset)) return false;
  out.text(module).character('+').hex(offset);
  return true;
}

void append_dedup_token(platform::TextBuffer& out, const Finding& f) { append_dedup_key(out, f); }

void render_json(const Finding& f) {
  ReportText out;
  out.text("{\"tool\":\"dbgalloc\",\"format_version\":").dec(kJsonFormatVersion).text(",\"pid\":")
      .dec(static_cast<std::uint64_t>(platform::process_id())).text(",\"class\":\"").text(class_name(f.error)).text("\",\"deferred\":")
      .text(is_deferred(f) ? "true" : "false").text(",\"address\":\"").hex(f.address).character('"');
  if (f.pc != 0) out.text(",\"pc\":\"").hex(f.pc).character('"');
  if (f.access != nullptr) out.text(",\"access\":\"").text(f.access).character('"');
  if (f.access != nullptr && f.access_size != 0) out.text(",\"access_size\":").dec(f.access_size);
  if (f.operation != nullptr) out.text(",\"operation\":\"").text(f.operation).character('"');
  out.text(",\"thread\":").dec(static_cast<std::uint64_t>(platform::thread_id()));
  if (f.note != nullptr) {
    out.text(",\"note\":\"");
    append_json_escaped(out, f.note);
    out.character('"');
  }
  if (f.error == ErrorClass::new_delete_type_mismatch) out.text(",\"deallocated_size\":").dec(f.sized_delete);
  const bool freed = f.has_block && f.block.freed();
  if (f.has_block) {
    out.text(",\"block\":{\"begin\":\"").hex(f.block.user).text("\",\"size\":").dec(f.block.size)
        .text(",\"offset\":").sdec(static_cast<std::int64_t>(f.address - f.block.user))
        .text(",\"state\":\"").text(state_name(f.block.state))
        .text("\",\"allocated_by\":").dec(f.block.alloc_thread).text(",\"alloc_stack\":").dec(f.block.alloc_stack);
    if (f.block.guard) out.text(",\"guard_side\":\"").text(f.block.left_guard ? "left" : "right").character('"');
    if (freed) out.text(",\"freed_by\":").dec(f.block.free_thread).text(",\"free_stack\":").dec(f.block.free_stack);
    out.character('}');
    platform::StackText<300> site;
    if (allocation_site(f, site)) {
      out.text(",\"allocation_site\":\"");
      append_json_escaped(out, site.view());
      out.character('"');
    }
  }
  std::uintptr_t frames[stacks::kMaxFrames];
  bool exact_first = false;
  std::size_t n = current_frames(f, frames, &exact_first);
  out.text(",\"dedup_key\":\"");
  append_dedup_key(out, f);
  out.character('"');
  append_key_frame(out, f);
  out.text(",\"frames\":");
  append_json_frames(out, frames, n, exact_first);
  if (f.has_block) {
    append_stack_member(out, "alloc_frames", f.block.alloc_stack);
    if (freed) append_stack_member(out, "free_frames", f.block.free_stack);
  }
  ThreadList threads{&out, true};
  visit_thread_origins(f, append_thread_origin, &threads);
  if (!threads.first) out.character(']');
  out.text("}\n");
}

}  // namespace dbgalloc::report
