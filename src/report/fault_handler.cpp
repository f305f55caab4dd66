// The SIGSEGV/SIGBUS handler: a fault inside a guard block's span becomes a report
// (overflow or underflow into the guard page, or any access to a quarantined block).
// Faults that are not ours go to whatever handler was there before, unchanged. After a
// report the previous disposition is restored and the fault re-raised by returning, so
// core dumps and fuzzers' crash handlers still see it.
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#include "debug/guard_blocks.hpp"
#include "platform/platform.hpp"
#include "report/report.hpp"
#include "report/x86_access.hpp"
#include "stacks/cfi_unwinder.hpp"

namespace dbgalloc::report {

namespace {
struct sigaction previous_segv;
struct sigaction previous_bus;
constexpr std::size_t kAltStackSize = 64 * 1024;
thread_local bool tls_has_alt_stack __attribute__((tls_model("initial-exec"))) = false;
// Part of the thread's TLS block, so it goes away with the thread: no mapping per thread.
alignas(16) thread_local char tls_alt_stack[kAltStackSize] __attribute__((tls_model("initial-exec")));

struct sigaction* previous_for(int sig) { return sig == SIGBUS ? &previous_bus : &previous_segv; }

void pass_on(int sig, siginfo_t* info, void* context) {
  struct sigaction* previous = previous_for(sig);
  if ((previous->sa_flags & SA_SIGINFO) != 0 && previous->sa_sigaction != nullptr) {
    previous->sa_sigaction(sig, info, context);
    return;
  }
  if (previous->sa_handler != SIG_DFL && previous->sa_handler != SIG_IGN && previous->sa_handler != nullptr) {
    previous->sa_handler(sig);
    return;
  }
  // Default action: restore it and return, so the faulting instruction faults again.
  signal(sig, SIG_DFL);
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
    std::uint8_t code[kMaxInstructionBytes];
    std::size_t n = platform::copy_own_memory(code, pc, sizeof code);
    known = decode_x86_access(code, n, &decoded);
  }
  if (page_fault) {
    f->access = (regs[REG_ERR] & kWriteBit) != 0 ? "WRITE" : "READ";
  } else if (known && decoded.access != MemoryAccess::unknown) {
    // No error code (a general protection fault): what the instruction does.
    f->access = decoded.access == MemoryAccess::read ? "READ" : "WRITE";
  }
  if (known) f->access_size = decoded.size;
}

void on_fault(int sig, siginfo_t* info, void* raw_context) {
  auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  debug::GuardRecord* record = debug::GuardBlocks::record_at(address);
  if (record == nullptr) {
    pass_on(sig, info, raw_context);
    return;
  }
  auto* context = static_cast<ucontext_t*>(raw_context);
  std::uintptr_t frames[stacks::kMaxFrames];
  Finding f;
  f.frame_count = frames_from_context(context, frames, stacks::configured_depth() + 1);
  f.frames = frames;
  f.address = address;
  f.pc = frames[0];
  describe_access(context, &f);
  f.has_block = true;
  f.block_user = record->user;
  f.header = record->header;
  f.fault = true;
  if (record->header.state() != debug::State::live) {
    f.error = ErrorClass::heap_use_after_free;
  } else if (address < record->user) {
    f.error = ErrorClass::heap_buffer_underflow;
  } else {
    f.error = ErrorClass::heap_buffer_overflow;
  }
  emit(f);
  run_death_callback();
  // Re-raise under the previous disposition.
  sigaction(sig, previous_for(sig), nullptr);
  if (previous_for(sig)->sa_handler == SIG_IGN) signal(sig, SIG_DFL);
}
}  // namespace

void install_fault_handler() {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_fault;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &previous_segv);
  sigaction(SIGBUS, &action, &previous_bus);
}

void ensure_alternate_stack() {
  if (tls_has_alt_stack) return;
  tls_has_alt_stack = true;
  stack_t current;
  if (sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) return;  // the program has one
  stack_t stack;
  stack.ss_sp = tls_alt_stack;
  stack.ss_size = kAltStackSize;
  stack.ss_flags = 0;
  sigaltstack(&stack, nullptr);
}

}  // namespace dbgalloc::report
