#include "report/report.hpp"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include "options/options.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"
#include "platform/reentry.hpp"
#include "report/report_json.hpp"

namespace dbgalloc::report {

namespace {
std::atomic<std::uint64_t> errors{0};
std::atomic<void (*)()> death_callback{nullptr};
std::atomic<bool> log_looked_at{false};  // log_path opened (or refused) once per process
std::atomic<FindingCallback> finding_callback{nullptr};

using debug::Kind;

const char* kind_name(Kind kind, bool aligned) {
  switch (kind) {
    case Kind::malloc: return "malloc";
    case Kind::new_scalar: return aligned ? "operator new(align_val_t)" : "operator new";
    case Kind::new_array: return aligned ? "operator new[](align_val_t)" : "operator new[]";
  }
  return "?";
}

const char* dealloc_name(Kind kind, bool aligned) {
  switch (kind) {
    case Kind::malloc: return "free";
    case Kind::new_scalar: return aligned ? "operator delete(align_val_t)" : "operator delete";
    case Kind::new_array: return aligned ? "operator delete[](align_val_t)" : "operator delete []";
  }
  return "?";
}

}  // namespace

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

// LOG_PATH.PID, created afresh: O_EXCL refuses a file (or a symbolic link, even a
// dangling one) planted at the predictable name, O_NOFOLLOW any symbolic link, mode 0600.
void open_log_file(const char* path) {
  platform::StackText<300> name;
  name.text(path).character('.').dec(static_cast<std::uint64_t>(platform::process_id())).character('\0');
  int fd = open(name.data(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_NOCTTY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    platform::set_report_fd(fd);
    return;
  }
  int error = errno;
  platform::StackText<512> note;
  note.text("dbgalloc: cannot create log file '").text(std::string_view(name.data(), name.size() - 1)).text("': ")
      .text(create_failure(error)).text("; reports go to stderr\n");
  platform::write_report(note.data(), note.size());
}
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

namespace {
class Out : public platform::StackText<4096> {
 public:
  ~Out() { send(); }
  void send() { flush(); }
};

void print_stack(Out& out, stacks::StackId id) {
  if (id == stacks::kNoStack) {
    out.text("    <no stack recorded>\n");
    return;
  }
  stacks::print(id, out);
}

void print_current(Out& out, const Finding& f) {
  if (f.frames != nullptr && f.frame_count > 0) {
    stacks::print_frames(f.frames, f.frame_count, out, f.fault);
  } else if (f.current_stack != stacks::kNoStack) {
    print_stack(out, f.current_stack);
  }
}

// "func file:line" of the first frame, for the SUMMARY line.
void append_top_frame(Out& out, const Finding& f) {
  std::uintptr_t frames[1];
  std::size_t n = 0;
  if (f.frames != nullptr && f.frame_count > 0) {
    frames[0] = f.frames[0];
    n = 1;
  } else {
    n = stacks::lookup(f.current_stack, frames, 1);
  }
  // Found by a check with no program stack of its own: name the allocation site.
  if (n == 0 && f.has_block) {
    bool freed = f.header.state() != debug::State::live;
    n = stacks::lookup(freed ? f.header.free_stack : f.header.alloc_stack, frames, 1);
  }
  if (n == 0) return;
  platform::StackText<512> line;
  stacks::print_frames(frames, 1, line, f.fault && f.frames != nullptr);
  std::string_view text = line.view();
  std::size_t in = text.find(" in ");
  std::size_t start = in != std::string_view::npos ? in + 4 : text.find(" (");
  if (start == std::string_view::npos) return;
  std::string_view rest = text.substr(start);
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == ' ')) rest.remove_suffix(1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  out.text(" in ").text(rest);
}

void describe_location(Out& out, const Finding& f) {
  std::uintptr_t begin = f.block_user;
  std::uintptr_t end = begin + f.header.size();
  out.hex(f.address).text(" is located ");
  if (f.address >= end) {
    out.dec(f.address - end).text(" bytes to the right of ");
  } else if (f.address < begin) {
    out.dec(begin - f.address).text(" bytes to the left of ");
  } else {
    out.dec(f.address - begin).text(" bytes inside of ");
  }
  out.dec(f.header.size()).text("-byte region [").hex(begin).character(',').hex(end).text(")\n");
}

void print_block_and_tail(Out& out, const Finding& f);

void render_text(const Finding& f) {
  output_fd();
  Out out;
  std::uint64_t pid = static_cast<std::uint64_t>(platform::process_id());
  out.text("=================================================================\n");
  out.text("==").dec(pid).text("==ERROR: dbgalloc: ").text(class_name(f.error)).text(" on address ").hex(f.address);
  if (f.pc != 0) out.text(" at pc ").hex(f.pc);
  out.character('\n');
  switch (f.error) {
    case ErrorClass::alloc_dealloc_mismatch:
      out.text("  (").text(kind_name(f.header.kind(), f.header.has(debug::BlockHeader::kAlignedNewFlag)))
          .text(" vs ").text(dealloc_name(f.dealloc_kind, f.dealloc_aligned)).text(")\n");
      break;
    case ErrorClass::new_delete_type_mismatch:
      out.text("  object passed to delete has wrong type: size of the allocated type: ").dec(f.header.size())
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
  if (f.note != nullptr) out.text(f.note).character('\n');
  print_block_and_tail(out, f);
}

// ASan's layout for a deadly signal: the registers on the first line, the access kind
// and a hint as "==PID==" lines, the stack, and the block when the address is in or
// near one.
void render_deadly_signal(const Finding& f) {
  output_fd();
  Out out;
  std::uint64_t pid = static_cast<std::uint64_t>(platform::process_id());
  out.text("=================================================================\n");
  out.text("==").dec(pid).text("==ERROR: dbgalloc: ").text(class_name(f.error))
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
void describe_random_side(Out& out, const Finding& f) {
  if (!options::current().guard_random || !f.header.has(debug::BlockHeader::kGuardFlag)) return;
  if ((f.header.marks() & debug::BlockHeader::kMarkLeftGuard) != 0) {
    out.text("guard_side=random put this block's guard page on its left: accesses before its start fault\n");
  } else {
    out.text("guard_side=random put this block's guard page on its right: accesses past its end fault\n");
  }
}

void print_block_and_tail(Out& out, const Finding& f) {
  if (f.has_block) {
    describe_location(out, f);
    describe_random_side(out, f);
    out.text("allocated by thread T").dec(f.header.alloc_thread).text(" here:\n");
    print_stack(out, f.header.alloc_stack);
    // Machine-findable for dbgalloc-run --pinpoint (guard_sites=...).
    platform::StackText<300> site;
    if (is_deferred(f) && allocation_site(f, site)) out.text("allocation site: ").text(site.view()).character('\n');
    if (f.header.state() == debug::State::quarantined || f.header.state() == debug::State::freed) {
      out.text("freed by thread T").dec(f.header.free_thread).text(" here:\n");
      print_stack(out, f.header.free_stack);
    }
  }
  out.text("DEDUP_TOKEN: ");
  append_dedup_token(out, f);
  out.character('\n');
  out.text("SUMMARY: dbgalloc: ").text(class_name(f.error));
  append_top_frame(out, f);
  out.character('\n');
}
}  // namespace

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
  }
  return "unknown";
}

void set_finding_callback(FindingCallback callback) { finding_callback.store(callback); }

void emit(const Finding& finding) {
  errors.fetch_add(1, std::memory_order_relaxed);
  if (FindingCallback callback = finding_callback.load()) {
    callback(finding);
    return;
  }
  {
    platform::InternalScope internal;
    if (options::current().report_json) {
      render_json(finding);
    } else if (is_deadly_signal(finding.error)) {
      render_deadly_signal(finding);
    } else {
      render_text(finding);
    }
  }
  if (options::current().halt_on_error && !finding.fault) die();
}

void run_death_callback() {
  if (void (*callback)() = death_callback.load()) callback();
}

void die() {
  run_death_callback();
  _exit(static_cast<int>(options::current().exitcode));
}

void set_death_callback(void (*callback)()) { death_callback.store(callback); }

std::uint64_t error_count() { return errors.load(std::memory_order_relaxed); }

namespace {
Finding block_finding(ErrorClass error, const debug::BlockHeader& header, std::uintptr_t user,
                      std::uintptr_t address, const char* operation, stacks::StackId current) {
  Finding f;
  f.error = error;
  f.address = address;
  f.operation = operation;
  f.current_stack = current;
  f.has_block = true;
  f.block_user = user;
  f.header = header;
  return f;
}
}  // namespace

void heap_buffer_overflow(const debug::BlockHeader& header, std::uintptr_t user, std::uintptr_t bad,
                          const char* operation, stacks::StackId current) {
  ErrorClass error = bad < user ? ErrorClass::heap_buffer_underflow : ErrorClass::heap_buffer_overflow;
  Finding f = block_finding(error, header, user, bad, operation, current);
  f.note = bad < user ? "the canary before the block was overwritten" : "the canary after the block was overwritten";
  emit(f);
}

void heap_use_after_free_write(const debug::BlockHeader& header, std::uintptr_t user, std::uintptr_t bad,
                               const char* operation) {
  Finding f = block_finding(ErrorClass::heap_use_after_free, header, user, bad, operation, stacks::kNoStack);
  f.note = "WRITE after free: the freed block's fill pattern was changed after the free below";
  emit(f);
}

void double_free(const debug::BlockHeader& header, std::uintptr_t user, const char* operation,
                 stacks::StackId current) {
  emit(block_finding(ErrorClass::double_free, header, user, user, operation, current));
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

void interior_free(const debug::BlockHeader& header, std::uintptr_t user, std::uintptr_t address,
                   const char* operation, stacks::StackId current) {
  Finding f = block_finding(ErrorClass::bad_free, header, user, address, operation, current);
  f.note = "the pointer points inside a live block, not at its start";
  emit(f);
}

void alloc_dealloc_mismatch(const debug::BlockHeader& header, std::uintptr_t user, debug::Kind dealloc,
                            bool aligned, const char* operation, stacks::StackId current) {
  Finding f = block_finding(ErrorClass::alloc_dealloc_mismatch, header, user, user, operation, current);
  f.dealloc_kind = dealloc;
  f.dealloc_aligned = aligned;
  emit(f);
}

void new_delete_type_mismatch(const debug::BlockHeader& header, std::uintptr_t user, std::size_t sized,
                              stacks::StackId current) {
  Finding f = block_finding(ErrorClass::new_delete_type_mismatch, header, user, user, "delete", current);
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

void heap_metadata_corruption(const debug::BlockHeader* header, std::uintptr_t user, std::uintptr_t chunk,
                              const char* problem, const char* operation, stacks::StackId current) {
  Finding f;
  if (header != nullptr) f = block_finding(ErrorClass::header_corruption, *header, user, chunk, operation, current);
  f.error = ErrorClass::header_corruption;
  f.address = chunk;
  f.operation = operation;
  f.current_stack = current;
  f.note = problem;
  emit(f);
}

}  // namespace dbgalloc::report
