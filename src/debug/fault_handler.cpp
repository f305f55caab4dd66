// The deadly-signal handler. A SIGSEGV/SIGBUS inside a guard block's span becomes a
// heap report (overflow or underflow into the guard page, or any access to a
// quarantined block). Any other SIGSEGV, SIGBUS, SIGFPE or SIGILL raised by a fault (a
// wild or null pointer, a division by zero) becomes a report in ASan's layout ("SEGV on
// unknown address"), naming the heap block the address is in or near, when the
// handle_* option for it is on and the program had no handler of its own before us:
// such a handler (a JIT, a garbage collector, a crash reporter) is called instead,
// unchanged; one the program installs after us replaces ours. After a report the
// previous disposition is restored and the fault re-raised by returning, so core dumps
// and fuzzers' crash handlers still see it.
#include "debug/fault_handler.hpp"

#include <signal.h>
#include <ucontext.h>

#include "debug/block_facts.hpp"
#include "debug/guard_blocks.hpp"
#include "debug/locate.hpp"
#include "options/options.hpp"
#include "pages/pages.hpp"
#include "platform/platform.hpp"
#include "platform/signals.hpp"
#include "report/report.hpp"
#include "report/x86_access.hpp"
#include "stacks/cfi_unwinder.hpp"

namespace dbgalloc::debug {

namespace {
using report::ErrorClass;
using report::Finding;
using report::DecodedAccess;
using report::MemoryAccess;
constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
constexpr std::size_t kSignalCount = sizeof kSignals / sizeof kSignals[0];
struct sigaction previous_actions[kSignalCount];
bool report_signal[kSignalCount];  // handle_segv, handle_sigbus, handle_sigfpe, handle_sigill
constexpr std::size_t kAltStackSize = 64 * 1024;
// How far from an unmapped address a block's mapping may end or start for the report
// to name that block.
constexpr std::size_t kNearBlockReach = 64 * 1024;
thread_local bool tls_has_alt_stack __attribute__((tls_model("initial-exec"))) = false;
thread_local bool tls_in_handler __attribute__((tls_model("initial-exec"))) = false;
// Part of the thread's TLS block, so it goes away with the thread: no mapping per thread.
alignas(16) thread_local char tls_alt_stack[kAltStackSize] __attribute__((tls_model("initial-exec")));

std::size_t index_of(int sig) {
  for (std::size_t i = 0; i < kSignalCount; ++i) {
    if (kSignals[i] == sig) return i;
  }
  return 0;
}

struct sigaction* previous_for(int sig) { return &previous_actions[index_of(sig)]; }

// A handler of the program's own (not the default, not ignore).
bool program_has_handler(const struct sigaction* previous) {
  if ((previous->sa_flags & SA_SIGINFO) != 0) return previous->sa_sigaction != nullptr;
  return previous->sa_handler != SIG_DFL && previous->sa_handler != SIG_IGN && previous->sa_handler != nullptr;
}

// Sent by kill(), raise() or sigqueue() rather than raised by a faulting instruction:
// returning would not raise it again.
bool sent_by_a_process(const siginfo_t* info) { return info->si_code <= 0; }

void pass_on(int sig, siginfo_t* info, void* context) {
  struct sigaction* previous = previous_for(sig);
  if (program_has_handler(previous)) {
    if ((previous->sa_flags & SA_SIGINFO) != 0) {
      previous->sa_sigaction(sig, info, context);
    } else {
      previous->sa_handler(sig);
    }
    return;
  }
  // Default action: restore it and return, so the faulting instruction faults again.
  platform::default_signal_action(sig);
  if (sent_by_a_process(info)) platform::raise_signal(sig);
}

// After a report: the previous disposition again. The program's own handler gets the
// fault when the instruction runs again; otherwise the default action is taken here and
// now, since the instruction might not fault again (the report's own memory may have
// been mapped where a wild pointer pointed).
void restore_and_raise(int sig) {
  platform::restore_signal_handler(sig, *previous_for(sig));
  if (program_has_handler(previous_for(sig))) return;
  platform::default_signal_action(sig);
  platform::raise_signal(sig);
}

// The stack of the faulting code. _Unwind_Backtrace from here crosses the signal
// frame (the kernel's trampoline has unwind information), so it finds the faulting
// function even when that is a leaf without a frame of its own; frames above the
// faulting PC are the handler's and are dropped. Without a match (no unwind
// information), the PC and the frame-pointer chain from the faulting frame.
std::size_t frames_from_context(const ucontext_t* context, std::uintptr_t* frames, std::size_t max) {
  auto pc = static_cast<std::uintptr_t>(context->uc_mcontext.gregs[REG_RIP]);
  std::uintptr_t all[stacks::kMaxFrames];
  std::size_t n = stacks::cfi_unwinder::capture(all, stacks::kMaxFrames, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (all[i] != pc && all[i] != pc + 1) continue;
    std::size_t count = 0;
    for (std::size_t j = i; j < n && count < max; ++j) frames[count++] = all[j];
    frames[0] = pc;
    return count;
  }
  std::size_t count = 0;
  frames[count++] = pc;
  std::uintptr_t low = 0, high = 0;
  if (!platform::thread_stack_bounds(&low, &high)) return count;
  auto fp = static_cast<std::uintptr_t>(context->uc_mcontext.gregs[REG_RBP]);
  while (count < max && fp >= low && fp <= high && high - fp >= 16 && (fp & 7) == 0) {
    auto* frame = reinterpret_cast<const std::uintptr_t*>(fp);
    if (frame[1] == 0) break;
    frames[count++] = frame[1];
    if (frame[0] <= fp) break;
    fp = frame[0];
  }
  return count;
}

constexpr long long kPageFaultTrap = 14;
constexpr long long kWriteBit = 2;
constexpr long long kFetchBit = 16;

// What the faulting instruction did: READ or WRITE from the page-fault error code (the
// CPU's own word), the size from decoding the instruction at the PC. A fault on the
// instruction fetch itself (a jump to a bad address) has no instruction to decode.
void describe_access(const ucontext_t* context, Finding* f) {
  const auto& regs = context->uc_mcontext.gregs;
  bool page_fault = regs[REG_TRAPNO] == kPageFaultTrap;
  bool fetch = page_fault && (regs[REG_ERR] & kFetchBit) != 0;
  auto pc = static_cast<std::uintptr_t>(regs[REG_RIP]);
  DecodedAccess decoded;
  bool known = false;
  if (!fetch && pc != 0) {
    std::uint8_t code[report::kMaxInstructionBytes];
    std::size_t n = platform::copy_own_memory(code, pc, sizeof code);
    known = report::decode_x86_access(code, n, &decoded);
  }
  if (page_fault) {
    f->access = (regs[REG_ERR] & kWriteBit) != 0 ? "WRITE" : "READ";
  } else if (known && decoded.access != MemoryAccess::unknown) {
    // No error code (a general protection fault): what the instruction does.
    f->access = decoded.access == MemoryAccess::read ? "READ" : "WRITE";
  }
  if (known) f->access_size = decoded.size;
}

Finding fault_finding(const ucontext_t* context, std::uintptr_t address, std::uintptr_t* frames) {
  Finding f;
  f.frame_count = frames_from_context(context, frames, stacks::configured_depth() + 1);
  f.frames = frames;
  f.address = address;
  f.pc = frames[0];
  f.fault = true;
  return f;
}

void report_guard_fault(const ucontext_t* context, std::uintptr_t address, const GuardRecord* record) {
  std::uintptr_t frames[stacks::kMaxFrames];
  Finding f = fault_finding(context, address, frames);
  describe_access(context, &f);
  f.has_block = true;
  f.block = facts_of(record->header, record->user);
  switch (classify_guard_hit(*record, address)) {
    case GuardHit::use_after_free: f.error = ErrorClass::heap_use_after_free; break;
    case GuardHit::underflow: f.error = ErrorClass::heap_buffer_underflow; break;
    case GuardHit::overflow: f.error = ErrorClass::heap_buffer_overflow; break;
  }
  report::emit(f);
}

// ASan's test: an access a little below the stack pointer or not far above it.
bool looks_like_stack_overflow(int sig, const siginfo_t* info, std::uintptr_t address, std::uintptr_t sp) {
  if (sig != SIGSEGV || (info->si_code != SEGV_MAPERR && info->si_code != SEGV_ACCERR)) return false;
  return address + 512 > sp && address < sp + 0xffff;
}

void report_deadly_signal(int sig, const siginfo_t* info, const ucontext_t* context) {
  const auto& regs = context->uc_mcontext.gregs;
  auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  std::uintptr_t frames[stacks::kMaxFrames];
  Finding f = fault_finding(context, address, frames);
  f.sp = static_cast<std::uintptr_t>(regs[REG_RSP]);
  f.bp = static_cast<std::uintptr_t>(regs[REG_RBP]);
  const std::size_t page = platform::page_size();
  switch (sig) {
    case SIGBUS: f.error = ErrorClass::bus; break;
    case SIGFPE: f.error = ErrorClass::fpe; break;
    case SIGILL: f.error = ErrorClass::ill; break;
    default:
      f.error = looks_like_stack_overflow(sig, info, address, f.sp) ? ErrorClass::stack_overflow : ErrorClass::segv;
      break;
  }
  if (sig == SIGSEGV || sig == SIGBUS) {
    describe_access(context, &f);
    if (regs[REG_TRAPNO] != kPageFaultTrap && address == 0) {
      f.hint = "this fault was caused by a dereference of a high value address (the kernel reports no address)";
    } else if (address < page) {
      f.hint = f.pc < page ? "pc points to the zero page." : "address points to the zero page.";
    }
    Located block;
    if (address >= page && f.error != ErrorClass::stack_overflow &&
        block_near(address, kNearBlockReach, &block) && block.header != nullptr) {
      f.has_block = true;
      f.block = facts_of(*block.header, block.user);
    } else if (const pages::Span* span = pages::page_allocator().span_of(address);
               span != nullptr && span->kind == pages::SpanKind::heap_segment && address >= span->base + span->size) {
      f.hint = "the address is the guard page after a heap segment: a write or read ran off the end of the heap's "
               "memory (a long overflow of a block below it)";
    }
  }
  report::emit(f);
}

void on_fault(int sig, siginfo_t* info, void* raw_context) {
  auto* context = static_cast<ucontext_t*>(raw_context);
  if (tls_in_handler) {  // a fault while reporting one: let it end the process
    platform::default_signal_action(sig);
    return;
  }
  bool fault = !sent_by_a_process(info);
  auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  GuardRecord* record =
      fault && (sig == SIGSEGV || sig == SIGBUS) ? GuardBlocks::record_at(address) : nullptr;
  if (record == nullptr &&
      (!fault || !report_signal[index_of(sig)] || program_has_handler(previous_for(sig)))) {
    pass_on(sig, info, raw_context);
    return;
  }
  tls_in_handler = true;
  if (record != nullptr) {
    report_guard_fault(context, address, record);
  } else {
    report_deadly_signal(sig, info, context);
  }
  report::run_death_callback();
  tls_in_handler = false;
  restore_and_raise(sig);
}
}  // namespace

void install_fault_handler() {
  const options::Options& o = options::current();
  const bool wanted[kSignalCount] = {o.handle_segv, o.handle_sigbus, o.handle_sigfpe, o.handle_sigill};
  for (std::size_t i = 0; i < kSignalCount; ++i) {
    report_signal[i] = wanted[i];
    // Guard pages need SIGSEGV and SIGBUS whatever the options say.
    if (!wanted[i] && kSignals[i] != SIGSEGV && kSignals[i] != SIGBUS) continue;
    platform::install_signal_handler(kSignals[i], on_fault, &previous_actions[i]);
  }
  // The main thread can report a stack overflow; other threads from their first
  // allocation (allocate gives them the alternate stack).
  if (o.handle_segv) ensure_alternate_stack();
}

void ensure_alternate_stack() {
  if (tls_has_alt_stack) return;
  tls_has_alt_stack = true;
  if (platform::has_alternate_stack()) return;  // the program has one
  platform::set_alternate_stack(tls_alt_stack, kAltStackSize);
}

}  // namespace dbgalloc::debug
