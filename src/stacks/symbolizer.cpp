// See symbolizer.hpp.
#include "stacks/symbolizer.hpp"

#include <backtrace.h>
#include <cxxabi.h>
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "platform/lock.hpp"
#include "platform/platform.hpp"
#include "platform/reentry.hpp"

namespace dbgalloc::stacks {

namespace {
constinit platform::Lock symbolizer_lock;
std::atomic<int> lock_owner{0};
backtrace_state* state = nullptr;  // created at the first lookup, kept for the process

void copy(char* out, std::size_t size, const char* text) {
  std::size_t n = 0;
  if (text != nullptr)
    for (; n + 1 < size && text[n] != '\0'; ++n) out[n] = text[n];
  out[n] = '\0';
}

void ignore_error(void*, const char*, int) {}

// libbacktrace calls this for the innermost inlined frame first and the function that
// holds pc last; the last call wins (as Boost.Stacktrace had it).
int take_pcinfo(void* data, std::uintptr_t, const char* file, int line, const char* function) {
  auto* out = static_cast<Symbol*>(data);
  if (function != nullptr) copy(out->function, sizeof out->function, function);
  if (file != nullptr) copy(out->file, sizeof out->file, file);
  out->line = line > 0 ? static_cast<std::size_t>(line) : 0;
  return 0;
}

// The symbol table's (mangled) name, preferred to DWARF's short one.
void take_syminfo(void* data, std::uintptr_t, const char* name, std::uintptr_t, std::uintptr_t) {
  auto* out = static_cast<Symbol*>(data);
  if (name != nullptr) copy(out->function, sizeof out->function, name);
}

void demangle(Symbol* out) {
  if (out->function[0] != '_' || out->function[1] != 'Z') return;
  int status = 0;
  char* readable = abi::__cxa_demangle(out->function, nullptr, nullptr, &status);
  if (readable != nullptr && status == 0) copy(out->function, sizeof out->function, readable);
  std::free(readable);
}
}  // namespace

bool symbolize(std::uintptr_t pc, Symbol* out) {
  out->function[0] = out->file[0] = '\0';
  out->line = 0;
  int self = platform::thread_id();
  if (lock_owner.load(std::memory_order_relaxed) == self) return false;
  platform::InternalScope internal;
  platform::LockGuard guard(symbolizer_lock);
  lock_owner.store(self, std::memory_order_relaxed);
  if (state == nullptr) state = backtrace_create_state(nullptr, 0, ignore_error, nullptr);
  // Names as Boost.Stacktrace gave them: the dynamic symbol, else the symbol table's,
  // else DWARF's; file and line from DWARF.
  if (state != nullptr) {
    backtrace_pcinfo(state, pc, take_pcinfo, ignore_error, out);
    backtrace_syminfo(state, pc, take_syminfo, ignore_error, out);
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(pc), &info) != 0 && info.dli_sname != nullptr)
    copy(out->function, sizeof out->function, info.dli_sname);
  demangle(out);
  lock_owner.store(0, std::memory_order_relaxed);
  return true;
}

void lock_symbolizer_for_fork() { symbolizer_lock.lock(); }
void unlock_symbolizer_after_fork() { symbolizer_lock.unlock(); }

void reset_symbolizer_after_fork() {
  symbolizer_lock.reset();
  lock_owner.store(0, std::memory_order_relaxed);
}

}  // namespace dbgalloc::stacks
