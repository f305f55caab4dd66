// Reports: one function per error class, one wording each, in the sanitizer layout:
//
//   ==PID==ERROR: dbgalloc: heap-buffer-overflow on address 0x... at pc 0x...
//   WRITE of size 1 at 0x... thread T123
//       #0 ... (the access, or the free/realloc that found it)
//   0x... is located 3 bytes after 13-byte region [0x...,0x...)
//   allocated by thread T123 here:
//       #0 ...
//   freed by thread T123 here:          (when freed)
//   SUMMARY: dbgalloc: heap-buffer-overflow file.c:12 in main
//
// Describing what went wrong (a Finding) is kept apart from printing it. Everything
// formats into fixed buffers and goes out through write(2); symbolization runs inside
// an InternalScope so its allocations stay out of tracking. A block is described by
// plain values (BlockFacts), as scudo's report.h takes them: this layer sits below
// debug and knows none of its types, so any layer above may report.
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/format.hpp"
#include "stacks/stacks.hpp"
#include "stacks/thread_origins.hpp"

namespace dbgalloc::report {

enum class ErrorClass : std::uint8_t {
  heap_buffer_overflow,
  heap_buffer_underflow,
  heap_use_after_free,
  double_free,
  bad_free,
  alloc_dealloc_mismatch,
  new_delete_type_mismatch,
  header_corruption,
  guard_fault_unknown,
  // A deadly signal outside our guard pages (handle_segv & co.), named as ASan names them.
  segv,
  bus,
  fpe,
  ill,
  stack_overflow,
  // Requests the allocator refuses (reported with allocator_may_return_null=0):
  calloc_overflow,
  reallocarray_overflow,
  pvalloc_overflow,
  allocation_size_too_big,
  invalid_allocation_alignment,
  invalid_aligned_alloc_alignment,
  invalid_posix_memalign_alignment,
};
// True for the refused-request classes: no block, no address; the headline says what
// was asked for.
bool is_bad_request(ErrorClass error);

inline bool is_deadly_signal(ErrorClass error) {
  return error >= ErrorClass::segv && error <= ErrorClass::stack_overflow;
}

const char* class_name(ErrorClass error);

// The tool named in the ERROR: and SUMMARY: lines: "dbgalloc", or with report_style=asan
// "AddressSanitizer" ("LeakSanitizer" for the leak report's ERROR: line), the names
// ASan triage tools (ClusterFuzz's stack analyzer, asan_symbolize) key on.
const char* tool_name();
const char* leak_tool_name();

// Which family allocated a block (or is freeing one), so a mismatch names both.
enum class Family : std::uint8_t { malloc, new_scalar, new_array };
enum class BlockState : std::uint8_t { unknown, live, quarantined, freed };

// A heap block as a report describes it, read by the debug layer from the block's
// verified header.
struct BlockFacts {
  std::uintptr_t user = 0;           // its first byte
  std::size_t size = 0;              // the size asked for
  Family family = Family::malloc;
  bool aligned_new = false;          // operator new(align_val_t)
  BlockState state = BlockState::unknown;
  bool guard = false;                // a guard block
  bool left_guard = false;           // whose guard page is before it
  stacks::StackId alloc_stack = stacks::kNoStack;
  stacks::StackId free_stack = stacks::kNoStack;
  std::uint32_t alloc_thread = 0;
  std::uint32_t free_thread = 0;
  bool freed() const { return state == BlockState::quarantined || state == BlockState::freed; }
};

struct Finding {
  ErrorClass error = ErrorClass::bad_free;
  std::uintptr_t address = 0;          // the bad byte or pointer
  std::uintptr_t pc = 0;               // faulting instruction, for faults
  const char* access = nullptr;        // "READ" / "WRITE" for faults
  std::size_t access_size = 0;         // bytes the faulting instruction accesses; 0: unknown
  const char* operation = nullptr;     // "free", "realloc", "delete", "heap check", ...
  stacks::StackId current_stack = 0;   // where it was found (free, realloc, check)
  const std::uintptr_t* frames = nullptr;  // or raw frames (fault handler)
  std::size_t frame_count = 0;
  bool has_block = false;
  BlockFacts block;                    // valid when has_block
  Family dealloc_family = Family::malloc;
  bool dealloc_aligned = false;
  std::size_t sized_delete = 0;
  const char* note = nullptr;          // one extra line of explanation
  bool fault = false;                  // from the fault handler: it re-raises instead of exiting
  std::uintptr_t sp = 0, bp = 0;       // deadly signals: the faulting frame's registers
  const char* hint = nullptr;          // deadly signals: "address points to the zero page", ...
};

// For every thread `finding` names (the reporting, allocating and freeing threads) and
// their creators in turn, whose origin is known (stacks/thread_origins.hpp; never the
// main thread): visit(thread, origin, context). Reports print them as ASan does,
// "Thread T12 created by T10 here:" and the pthread_create stack.
using OriginVisitor = void (*)(int thread, const stacks::ThreadOrigin& origin, void* context);
void visit_thread_origins(const Finding& finding, OriginVisitor visit, void* context);

// Prints the report, counts it, and halts when halt_on_error is set.
void emit(const Finding& finding);

// Held while a report is printed, so reports from several threads come out whole, one
// at a time (emit and the leak report take it). A thread already holding it (a report
// inside a report, from a signal) goes on without it.
class ReportScope {
 public:
  ReportScope();
  ~ReportScope();
  ReportScope(const ReportScope&) = delete;
  ReportScope& operator=(const ReportScope&) = delete;

 private:
  bool held_ = false;
};
// fork: taken first in the prepare handler (a report then takes the symbolizer's and
// the allocator's locks), released in the parent, reset in the child.
void lock_reports_for_fork();
void unlock_reports_after_fork();
void reset_reports_after_fork();

// Fuzz harnesses and tests: findings go to `callback` instead of being printed, and
// never halt. nullptr restores printing.
using FindingCallback = void (*)(const Finding& finding);
void set_finding_callback(FindingCallback callback);

// One function per class; each fills a Finding and emits it.
void heap_buffer_overflow(const BlockFacts& block, std::uintptr_t bad, const char* operation,
                          stacks::StackId current);
void heap_use_after_free_write(const BlockFacts& block, std::uintptr_t bad, const char* operation);
void double_free(const BlockFacts& block, const char* operation, stacks::StackId current);
void bad_free(std::uintptr_t address, const char* operation, stacks::StackId current, const char* why);
void interior_free(const BlockFacts& block, std::uintptr_t address, const char* operation, stacks::StackId current);
void alloc_dealloc_mismatch(const BlockFacts& block, Family dealloc, bool aligned, const char* operation,
                            stacks::StackId current);
void new_delete_type_mismatch(const BlockFacts& block, std::size_t sized, stacks::StackId current);
void header_corruption(std::uintptr_t user, const char* operation, stacks::StackId current);
// A refused request (calloc-overflow, allocation-size-too-big, ...): `what` says what
// was asked for ("count * size (A * B) cannot be represented in type size_t"),
// `operation` names the call, `current` is its stack.
void bad_request(ErrorClass error, const char* what, const char* operation, stacks::StackId current);
// The heap's own metadata (chunk size word, previous-size word, bin links) at `chunk`
// failed its integrity check (heap/integrity.hpp) while `operation` ran; `block` names
// the block being handled when there is one (else nullptr).
void heap_metadata_corruption(const BlockFacts* block, std::uintptr_t chunk, const char* problem,
                              const char* operation, stacks::StackId current);

// The descriptor reports go to: opens LOG_PATH.PID at the first call when log_path is
// set (and makes it platform::report_fd()), else platform::report_fd().
int output_fd();

// The text of a report, formatted on the stack: it opens the output (output_fd) when
// made, and writes what it holds when room() finds it nearly full and when it goes.
class ReportText : public platform::StackText<4096> {
 public:
  ReportText() { output_fd(); }
  ~ReportText() { flush(); }
  ReportText& room() {
    if (size() > 3000) flush();
    return *this;
  }
};

// The name a report gives the deallocator of a family ("operator delete[]").
const char* deallocator_name(Family family, bool aligned);

// json_log_path: while one lives, reports go to JSON_LOG_PATH.PID (created afresh, as
// log_path's file, by the first report of each process; opened for each report and
// closed after, so no descriptor is kept). active() is false when the option is unset
// or the file cannot be opened. Taken inside a ReportScope.
class JsonLogScope {
 public:
  JsonLogScope();
  ~JsonLogScope();
  JsonLogScope(const JsonLogScope&) = delete;
  JsonLogScope& operator=(const JsonLogScope&) = delete;
  bool active() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  int previous_ = -1;
};

// Number of reports made so far (drives the exit code).
std::uint64_t error_count();

// Halting: the callback (if any) runs before the process exits.
void set_death_callback(void (*callback)());
[[noreturn]] void die();
// Only the callback: a guard-page fault runs it before re-raising its signal, so a
// tool that registered one (libFuzzer saves the crashing input) still hears of it.
void run_death_callback();

}  // namespace dbgalloc::report
