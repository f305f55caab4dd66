// Machine-readable reports: report_format=json writes one JSON object per report, on
// one line, to the report stream (stderr or LOG_PATH.PID); json_log_path writes the
// same lines to JSON_LOG_PATH.PID besides. The members are documented in
// docs/reports.md ("JSON"); "format_version" changes when one changes meaning or goes:
//
//   {"tool":"dbgalloc","format_version":1,"pid":..,"class":"heap-buffer-overflow",
//    "deferred":true,"address":"0x..","pc":"0x..","access":"WRITE","operation":"free",
//    "note":"..","block":{"begin":"0x..","size":13,"offset":13,"state":"live",..},
//    "allocation_site":"bug_cases+0x12ec","dedup_key":"heap-buffer-overflow--f--g--h",
//    "key_frame":{"function":..,"file":..,"line":..,"module":..,"offset":..},
//    "frames":[{"pc":"0x..","function":"..","file":"..","line":20,"module":"..","offset":"0x..",
//               "inlined":true,"system":true},..],
//    "alloc_frames":[..],"free_frames":[..]}
//
// "frames" is where the bug was found (the faulting access, or the free/realloc/check
// that found it), one object per source frame (inline levels marked "inlined"; frames
// the keys skip, dbgalloc's and libc's, marked "system"). "deferred" is true when that
// is not the bug's own instruction (a canary or free fill found changed later):
// `dbgalloc-run --pinpoint` re-runs with guard_sites=<allocation_site> to get the
// instruction. tools/dbgalloc-sarif turns these lines into a SARIF 2.1.0 log. Every
// string is valid UTF-8: bytes that are not become \u00XX (append_json_escaped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "platform/format.hpp"
#include "report/report.hpp"

namespace dbgalloc::report {

// The "format_version" of every JSON report (error and leak reports alike).
inline constexpr int kJsonFormatVersion = 1;

// Prints `finding` as one JSON line (symbolizes: report time only).
void render_json(const Finding& finding);

// Appends `[{"pc":..,"function":..,..},..]` for raw frames; flushes `out` between frames
// so any stack fits. first_is_pc: frames[0] is an exact PC (a fault), not a return
// address.
void append_json_frames(platform::TextBuffer& out, const std::uintptr_t* frames, std::size_t count,
                        bool first_is_pc);

// Appends the dedup key ("class--f0--f1--f2", the JSON "dedup_key"): text reports
// print it as "DEDUP_TOKEN: ...", the line fuzzing infrastructure groups crashes by.
void append_dedup_token(platform::TextBuffer& out, const Finding& finding);

// Appends `text` as a JSON string body (no quotes): escapes '"', '\\', control bytes and
// DEL as \uXXXX; well-formed UTF-8 passes through; any other byte B (not UTF-8: a Latin-1
// file name, a corrupt symbol) becomes \u00BB, so the output is always valid JSON.
void append_json_escaped(platform::TextBuffer& out, std::string_view text);

// True for reports found after the fact (a canary or free fill found changed by a
// free, realloc, heap check or quarantine eviction), whose stack is not the bug's.
bool is_deferred(const Finding& finding);

// "MODULE+0xOFFSET" of the allocation site (the allocation stack's frame 0) into
// `out`; false when the block has no recorded stack or no module holds the frame.
bool allocation_site(const Finding& finding, platform::TextBuffer& out);

}  // namespace dbgalloc::report
