#include "report/report.hpp"

#include <errno.h>

#include <atomic>

#include "options/options.hpp"
#include "platform/files.hpp"
#include "platform/format.hpp"
#include "platform/lock.hpp"
#include "platform/platform.hpp"
#include "platform/process.hpp"
#include "platform/reentry.hpp"
#include "report/frame_keys.hpp"
#include "report/report_json.hpp"
#include "stacks/thread_origins.hpp"

namespace dbgalloc::report {

namespace {
std::atomic<std::uint64_t> errors{0};
std::atomic<void (*)()> death_callback{nullptr};
std::atomic<bool> log_looked_at{false};  // log_path opened (or refused) once per process
std::atomic<FindingCallback> finding_callback{nullptr};

const char* alloc_name(Family family, bool aligned) {
  switch (family) {
    case Family::malloc: return "malloc";
    case Family::new_scalar: return aligned ? "operator new(align_val_t)" : "operator new";
    case Family::new_array: return aligned ? "operator new[](align_val_t)" : "operator new[]";
  }
  return "?";
}

}  // namespace

const char* deallocator_name(Family family, bool aligned) {
  switch (family) {
    case Family::malloc: return "free";
    case Family::new_scalar: return aligned ? "operator delete(align_val_t)" : "operator delete";
    case Family::new_array: return aligned ? "operator delete[](align_val_t)" : "operator delete[]";
  }
  return "?";
}

namespace {
const char* create_failure(int error) {
  switch (error) {
    case EEXIST: return "it already exists (dbgalloc never writes into an existing file)";
    case ELOOP: return "it is a symbolic link (not followed)";
    case EACCES: return "permission denied";
    case ENOENT: return "no such directory";
    default: return "it cannot be created";
  }
}

// PATH.PID, created afresh: O_EXCL refuses a file (or a symbolic link, even a dangling
// one) planted at the predictable name, O_NOFOLLOW any symbolic link, mode 0600. -1,
// with a note on stderr, when it cannot be created.
int create_log_file(const char* path, const char* what) {
  platform::StackText<300> name;
  name.text(path).character('.').dec(static_cast<std::uint64_t>(platform::process_id())).character('\0');
  int fd = platform::create_new_file(name.data());
  if (fd >= 0) return fd;
  int error = errno;
  platform::StackText<512> note;
  note.text("dbgalloc: cannot create ").text(what).text(" '").text(std::string_view(name.data(), name.size() - 1))
      .text("': ").text(create_failure(error)).text("; reports go to stderr\n");
  platform::write_report(note.data(), note.size());
  return -1;
}

void open_log_file(const char* path) {
  int fd = create_log_file(path, "log file");
  if (fd >= 0) platform::set_report_fd(fd);
}

std::atomic<int> json_log_created_for{0};  // the process that created JSON_LOG_PATH.PID
}  // namespace

// Reports go to LOG_PATH.PID when log_path is set (created at the first report, and
// made the descriptor every flush uses), to stdout for log_path=stdout, else to stderr.
int output_fd() {
  const char* path = options::current().log_path.c_str();
  bool expected = false;
  // The first report opens it; one racing with it goes to stderr meanwhile.
  if (path[0] != '\0' && !log_looked_at.load(std::memory_order_acquire) &&
      log_looked_at.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
    std::string_view name(path);
    if (name == "stdout") platform::set_report_fd(1);
    else if (name != "stderr") open_log_file(path);
  }
  return platform::report_fd();
}

JsonLogScope::JsonLogScope() {
  const char* path = options::current().json_log_path.c_str();
  if (path[0] == '\0') return;
  int pid = platform::process_id();
  if (json_log_created_for.load(std::memory_order_acquire) != pid) {
    fd_ = create_log_file(path, "JSON log file");
    if (fd_ < 0) return;
    json_log_created_for.store(pid, std::memory_order_release);
  } else {
    platform::StackText<300> name;
    name.text(path).character('.').dec(static_cast<std::uint64_t>(pid)).character('\0');
    fd_ = platform::open_for_appending(name.data());
    if (fd_ < 0) return;
  }
  previous_ = platform::chosen_report_fd();
  platform::set_report_fd(fd_);
}

JsonLogScope::~JsonLogScope() {
  if (fd_ < 0) return;
  platform::set_report_fd(previous_);
  platform::close_file(fd_);
}

namespace {
void print_stack(ReportText& out, stacks::StackId id) {
  if (id == stacks::kNoStack) {
    out.text("    <no stack recorded>\n");
    return;
  }
  stacks::print(id, out);
}

void print_current(ReportText& out, const Finding& f) {
  if (f.frames != nullptr && f.frame_count > 0) {
    stacks::print_frames(f.frames, f.frame_count, out, f.fault);
  } else if (f.current_stack != stacks::kNoStack) {
    print_stack(out, f.current_stack);
  }
}

// " FILE:LINE in FUNCTION" of the first key frame (frame_keys.hpp), for the SUMMARY
// line: the file before the function, as ASan prints it; " (MODULE+0xOFFSET) in
// FUNCTION" without line information.
void append_summary_frame(const stacks::FrameInfo& frame, void* context) {
  auto* out = static_cast<platform::TextBuffer*>(context);
  if (frame.file[0] != '\0' && frame.line != 0) {
    out->character(' ').text(frame.file).character(':').dec(frame.line);
  } else if (frame.module[0] != '\0') {
    out->text(" (").text(frame.module).character('+').hex(frame.offset).character(')');
  }
  if (frame.function[0] != '\0') out->text(" in ").text(frame.function);
}

void append_top_frame(ReportText& out, const Finding& f) { key_frames(f, 1, append_summary_frame, &out); }

void describe_location(ReportText& out, const Finding& f) {
  std::uintptr_t begin = f.block.user;
  std::uintptr_t end = begin + f.block.size;
  out.hex(f.address).text(" is located ");
  if (f.address >= end) {
    out.dec(f.address - end).text(" bytes to the right of ");
  } else if (f.address < begin) {
    out.dec(begin - f.address).text(" bytes to the left of ");
  } else {
    out.dec(f.address - begin).text(" bytes inside of ");
  }
  out.dec(f.block.size).text("-byte region [").hex(begin).character(',').hex(end).text(")\n");
}

void print_block_and_tail(ReportText& out, const Finding& f);

void render_text(const Finding& f) {
  ReportText out;
  std::uint64_t pid = static_cast<std::uint64_t>(platform::process_id());
  out.text("=================================================================\n");
  out.text("==").dec(pid).text("==ERROR: ").text(tool_name()).text(": ").text(class_name(f.error));
  const bool request = is_bad_request(f.error);
  if (request) {
    out.text(": ").text(f.note != nullptr ? f.note : "");
  } else {
    out.text(" on address ").hex(f.address);
  }
  if (f.pc != 0) out.text(" at pc ").hex(f.pc);
  out.character('\n');
  switch (f.error) {
    case ErrorClass::alloc_dealloc_mismatch:
      out.text("  (").text(alloc_name(f.block.family, f.block.aligned_new))
          .text(" vs ").text(deallocator_name(f.dealloc_family, f.dealloc_aligned)).text(")\n");
      break;
    case ErrorClass::new_delete_type_mismatch:
      out.text("  object passed to delete has wrong type: size of the allocated type: ").dec(f.block.size)
          .text(" bytes; size of the deallocated type: ").dec(f.sized_delete).text(" bytes.\n");
      break;
    default:
      break;
  }
  if (f.access != nullptr) {
    out.text(f.access);
    if (f.access_size != 0) {
      out.text(" of size ").dec(f.access_size);
    } else {
      out.text(" of unknown size");
    }
    out.text(" at ").hex(f.address).text(" thread T").dec(static_cast<std::uint64_t>(platform::thread_id()))
        .character('\n');
  } else if (f.operation != nullptr) {
    out.text("found by ").text(f.operation).text(" in thread T").dec(static_cast<std::uint64_t>(platform::thread_id()));
    out.text(f.current_stack != stacks::kNoStack || f.frames != nullptr ? ":\n" : "\n");
  }
  print_current(out, f);
  if (f.note != nullptr && !request) out.text(f.note).character('\n');
  print_block_and_tail(out, f);
}

// ASan's layout for a deadly signal: the registers on the first line, the access kind
// and a hint as "==PID==" lines, the stack, and the block when the address is in or
// near one.
void render_deadly_signal(const Finding& f) {
  ReportText out;
  std::uint64_t pid = static_cast<std::uint64_t>(platform::process_id());
  out.text("=================================================================\n");
  out.text("==").dec(pid).text("==ERROR: ").text(tool_name()).text(": ").text(class_name(f.error))
      .text(f.error == ErrorClass::stack_overflow ? " on address " : " on unknown address ").hex(f.address)
      .text(" (pc ").hex(f.pc).text(" bp ").hex(f.bp).text(" sp ").hex(f.sp).text(" T")
      .dec(static_cast<std::uint64_t>(platform::thread_id())).text(")\n");
  if (f.error == ErrorClass::segv || f.error == ErrorClass::bus || f.error == ErrorClass::stack_overflow) {
    out.text("==").dec(pid).text("==The signal is caused by a ").text(f.access != nullptr ? f.access : "UNKNOWN")
        .text(" memory access.\n");
  }
  if (f.hint != nullptr) out.text("==").dec(pid).text("==Hint: ").text(f.hint).character('\n');
  print_current(out, f);
  if (!f.has_block) out.text("dbgalloc can not provide additional info.\n");
  print_block_and_tail(out, f);
}

// guard_side=random: which side this block got, so the reader knows what this run
// could and could not have caught around it.
void describe_random_side(ReportText& out, const Finding& f) {
  if (options::current().guard_side != options::guard_side_choice::random || !f.block.guard) return;
  if (f.block.left_guard) {
    out.text("guard_side=random put this block's guard page on its left: accesses before its start fault\n");
  } else {
    out.text("guard_side=random put this block's guard page on its right: accesses past its end fault\n");
  }
}

void print_origin(int thread, const stacks::ThreadOrigin& origin, void* context) {
  ReportText& out = *static_cast<ReportText*>(context);
  out.text("Thread T").dec(static_cast<std::uint64_t>(thread)).text(" created by T")
      .dec(static_cast<std::uint64_t>(origin.parent)).text(" here:\n");
  print_stack(out, origin.creation);
}

void print_block_and_tail(ReportText& out, const Finding& f) {
  if (f.has_block) {
    describe_location(out, f);
    describe_random_side(out, f);
    out.text("allocated by thread T").dec(f.block.alloc_thread).text(" here:\n");
    print_stack(out, f.block.alloc_stack);
    // Machine-findable for dbgalloc-run --pinpoint (guard_sites=...).
    platform::StackText<300> site;
    if (is_deferred(f) && allocation_site(f, site)) out.text("allocation site: ").text(site.view()).character('\n');
    if (f.block.freed()) {
      out.text("freed by thread T").dec(f.block.free_thread).text(" here:\n");
      print_stack(out, f.block.free_stack);
    }
  }
  visit_thread_origins(f, print_origin, &out);
  out.text("DEDUP_TOKEN: ");
  append_dedup_token(out, f);
  out.character('\n');
  out.text("SUMMARY: ").text(tool_name()).text(": ").text(class_name(f.error));
  append_top_frame(out, f);
  out.character('\n');
}
}  // namespace

void visit_thread_origins(const Finding& f, OriginVisitor visit, void* context) {
  int threads[8];
  std::size_t count = 0;
  const int main_thread = platform::process_id();
  auto name = [&](int thread) {
    if (thread <= 0 || thread == main_thread || count == sizeof threads / sizeof threads[0]) return;
    for (std::size_t i = 0; i < count; ++i)
      if (threads[i] == thread) return;
    threads[count++] = thread;
  };
  name(platform::thread_id());
  if (f.has_block) {
    name(static_cast<int>(f.block.alloc_thread));
    if (f.block.freed()) name(static_cast<int>(f.block.free_thread));
  }
  for (std::size_t i = 0; i < count; ++i) {
    stacks::ThreadOrigin origin{};
    if (!stacks::thread_origin(threads[i], &origin)) continue;
    visit(threads[i], origin, context);
    name(origin.parent);
  }
}

const char* tool_name() { return options::current().report_style == options::report_style_choice::asan ? "AddressSanitizer" : "dbgalloc"; }
const char* leak_tool_name() { return options::current().report_style == options::report_style_choice::asan ? "LeakSanitizer" : "dbgalloc"; }

const char* class_name(ErrorClass error) {
  switch (error) {
    case ErrorClass::heap_buffer_overflow: return "heap-buffer-overflow";
    case ErrorClass::heap_buffer_underflow: return "heap-buffer-underflow";
    case ErrorClass::heap_use_after_free: return "heap-use-after-free";
    case ErrorClass::double_free: return "double-free";
    case ErrorClass::bad_free: return "bad-free";
    case ErrorClass::alloc_dealloc_mismatch: return "alloc-dealloc-mismatch";
    case ErrorClass::new_delete_type_mismatch: return "new-delete-type-mismatch";
    case ErrorClass::header_corruption: return "heap-header-corruption";
    case ErrorClass::guard_fault_unknown: return "guard-page-fault";
    case ErrorClass::segv: return "SEGV";
    case ErrorClass::bus: return "BUS";
    case ErrorClass::fpe: return "FPE";
    case ErrorClass::ill: return "ILL";
    case ErrorClass::stack_overflow: return "stack-overflow";
    case ErrorClass::calloc_overflow: return "calloc-overflow";
    case ErrorClass::reallocarray_overflow: return "reallocarray-overflow";
    case ErrorClass::pvalloc_overflow: return "pvalloc-overflow";
    case ErrorClass::allocation_size_too_big: return "allocation-size-too-big";
    case ErrorClass::invalid_allocation_alignment: return "invalid-allocation-alignment";
    case ErrorClass::invalid_aligned_alloc_alignment: return "invalid-aligned-alloc-alignment";
    case ErrorClass::invalid_posix_memalign_alignment: return "invalid-posix-memalign-alignment";
  }
  return "unknown";
}

bool is_bad_request(ErrorClass error) {
  return error >= ErrorClass::calloc_overflow && error <= ErrorClass::invalid_posix_memalign_alignment;
}

void set_finding_callback(FindingCallback callback) { finding_callback.store(callback); }

namespace {
constinit platform::Lock report_lock;
std::atomic<int> report_owner{0};
}  // namespace

ReportScope::ReportScope() {
  int self = platform::thread_id();
  // A report inside a report (a signal during one) carries on rather than wait for itself.
  if (report_owner.load(std::memory_order_relaxed) == self) return;
  report_lock.lock();
  report_owner.store(self, std::memory_order_relaxed);
  held_ = true;
}

ReportScope::~ReportScope() {
  if (!held_) return;
  report_owner.store(0, std::memory_order_relaxed);
  report_lock.unlock();
}

namespace {
bool taken_for_fork = false;
}
// A fork from inside a report (a death callback that forks) must not wait for itself.
void lock_reports_for_fork() {
  taken_for_fork = report_owner.load(std::memory_order_relaxed) != platform::thread_id();
  if (taken_for_fork) report_lock.lock();
}
void unlock_reports_after_fork() {
  if (taken_for_fork) report_lock.unlock();
}
void reset_reports_after_fork() {
  report_owner.store(0, std::memory_order_relaxed);
  report_lock.reset();
}

void emit(const Finding& finding) {
  errors.fetch_add(1, std::memory_order_relaxed);
  if (FindingCallback callback = finding_callback.load()) {
    callback(finding);
    return;
  }
  // Whole reports one at a time; a halting one keeps the others out until the exit.
  ReportScope one_at_a_time;
  {
    platform::InternalScope internal;
    if (options::current().report_format == options::report_format_choice::json) {
      render_json(finding);
    } else if (is_deadly_signal(finding.error)) {
      render_deadly_signal(finding);
    } else {
      render_text(finding);
    }
    JsonLogScope json_log;
    if (json_log.active()) render_json(finding);
  }
  if (options::current().halt_on_error && !finding.fault) die();
}

void run_death_callback() {
  if (void (*callback)() = death_callback.load()) callback();
}

void die() {
  run_death_callback();
  platform::exit_now(static_cast<int>(options::current().exitcode));
}

void set_death_callback(void (*callback)()) { death_callback.store(callback); }

std::uint64_t error_count() { return errors.load(std::memory_order_relaxed); }

namespace {
Finding block_finding(ErrorClass error, const BlockFacts& block, std::uintptr_t address, const char* operation,
                      stacks::StackId current) {
  Finding f;
  f.error = error;
  f.address = address;
  f.operation = operation;
  f.current_stack = current;
  f.has_block = true;
  f.block = block;
  return f;
}
}  // namespace

void bad_request(ErrorClass error, const char* what, const char* operation, stacks::StackId current) {
  Finding f;
  f.error = error;
  f.operation = operation;
  f.current_stack = current;
  f.note = what;
  emit(f);
}

void heap_buffer_overflow(const BlockFacts& block, std::uintptr_t bad, const char* operation,
                          stacks::StackId current) {
  ErrorClass error = bad < block.user ? ErrorClass::heap_buffer_underflow : ErrorClass::heap_buffer_overflow;
  Finding f = block_finding(error, block, bad, operation, current);
  f.note = bad < block.user ? "the canary before the block was overwritten" : "the canary after the block was overwritten";
  emit(f);
}

void heap_use_after_free_write(const BlockFacts& block, std::uintptr_t bad, const char* operation) {
  Finding f = block_finding(ErrorClass::heap_use_after_free, block, bad, operation, stacks::kNoStack);
  f.note = "WRITE after free: the freed block's fill pattern was changed after the free below";
  emit(f);
}

void double_free(const BlockFacts& block, const char* operation, stacks::StackId current) {
  emit(block_finding(ErrorClass::double_free, block, block.user, operation, current));
}

void bad_free(std::uintptr_t address, const char* operation, stacks::StackId current, const char* why) {
  Finding f;
  f.error = ErrorClass::bad_free;
  f.address = address;
  f.operation = operation;
  f.current_stack = current;
  f.note = why;
  emit(f);
}

void interior_free(const BlockFacts& block, std::uintptr_t address, const char* operation, stacks::StackId current) {
  Finding f = block_finding(ErrorClass::bad_free, block, address, operation, current);
  f.note = "the pointer points inside a live block, not at its start";
  emit(f);
}

void alloc_dealloc_mismatch(const BlockFacts& block, Family dealloc, bool aligned, const char* operation,
                            stacks::StackId current) {
  Finding f = block_finding(ErrorClass::alloc_dealloc_mismatch, block, block.user, operation, current);
  f.dealloc_family = dealloc;
  f.dealloc_aligned = aligned;
  emit(f);
}

void new_delete_type_mismatch(const BlockFacts& block, std::size_t sized, stacks::StackId current) {
  Finding f = block_finding(ErrorClass::new_delete_type_mismatch, block, block.user, "delete", current);
  f.sized_delete = sized;
  emit(f);
}

void header_corruption(std::uintptr_t user, const char* operation, stacks::StackId current) {
  Finding f;
  f.error = ErrorClass::header_corruption;
  f.address = user;
  f.operation = operation;
  f.current_stack = current;
  f.note = "the block's header fails its checksum: something wrote before the block (an underflow past its canary)";
  emit(f);
}

void heap_metadata_corruption(const BlockFacts* block, std::uintptr_t chunk, const char* problem,
                              const char* operation, stacks::StackId current) {
  Finding f;
  if (block != nullptr) f = block_finding(ErrorClass::header_corruption, *block, chunk, operation, current);
  f.error = ErrorClass::header_corruption;
  f.address = chunk;
  f.operation = operation;
  f.current_stack = current;
  f.note = problem;
  emit(f);
}

}  // namespace dbgalloc::report
