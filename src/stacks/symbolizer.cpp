// See symbolizer.hpp.
#include "stacks/symbolizer.hpp"

#include <backtrace.h>
#include <cxxabi.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "platform/lock.hpp"
#include "platform/loader.hpp"
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


// What libbacktrace says about one address: its strings live as long as its state
// (the process), so pointers are kept and copied out after the lock is released.
struct Level {
  const char* function;
  const char* file;
  int line;
};
struct Levels {
  Level level[kMaxInlineLevels];
  std::size_t count;
  bool overflowed;      // more levels than kMaxInlineLevels: the innermost were dropped
  const char* symbol;   // the symbol table's name of the function holding pc
};

// libbacktrace calls this for the innermost inlined frame first and the function that
// holds pc last. When there are too many levels, the outermost are the ones kept.
int take_pcinfo(void* data, std::uintptr_t, const char* file, int line, const char* function) {
  auto* out = static_cast<Levels*>(data);
  if (out->count == kMaxInlineLevels) {
    for (std::size_t i = 1; i < kMaxInlineLevels; ++i) out->level[i - 1] = out->level[i];
    --out->count;
    out->overflowed = true;
  }
  out->level[out->count++] = Level{function, file, line};
  return 0;
}

void take_syminfo(void* data, std::uintptr_t, const char* name, std::uintptr_t, std::uintptr_t) {
  auto* out = static_cast<Levels*>(data);
  if (name != nullptr) out->symbol = name;
}

void demangle(Symbol* out) {
  if (out->function[0] != '_' || out->function[1] != 'Z') return;
  int status = 0;
  char* readable = abi::__cxa_demangle(out->function, nullptr, nullptr, &status);
  if (readable != nullptr && status == 0) copy(out->function, sizeof out->function, readable);
  std::free(readable);
}

// Fills `out` for `pc` under the lock; false when this thread already holds it.
bool look_up(std::uintptr_t pc, Levels* out) {
  out->count = 0;
  out->overflowed = false;
  out->symbol = nullptr;
  int self = platform::thread_id();
  if (lock_owner.load(std::memory_order_relaxed) == self) return false;
  platform::LockGuard guard(symbolizer_lock);
  lock_owner.store(self, std::memory_order_relaxed);
  if (state == nullptr) state = backtrace_create_state(nullptr, 0, ignore_error, nullptr);
  if (state != nullptr) {
    backtrace_pcinfo(state, pc, take_pcinfo, ignore_error, out);
    backtrace_syminfo(state, pc, take_syminfo, ignore_error, out);
  }
  // A frame without any DWARF at all still names its function from the symbol table.
  if (out->count == 0) out->level[out->count++] = Level{nullptr, nullptr, 0};
  lock_owner.store(0, std::memory_order_relaxed);
  return true;
}

// Names as Boost.Stacktrace gave them for the function that holds pc: the dynamic
// symbol, else the symbol table's, else DWARF's; inlined levels have DWARF's only.
void fill(const Levels& levels, std::size_t i, std::uintptr_t pc, Symbol* out) {
  const Level& level = levels.level[i];
  copy(out->function, sizeof out->function, level.function);
  copy(out->file, sizeof out->file, level.file);
  out->line = level.line > 0 ? static_cast<std::size_t>(level.line) : 0;
  if (i + 1 == levels.count) {
    if (levels.symbol != nullptr) copy(out->function, sizeof out->function, levels.symbol);
    platform::SymbolAt at;
    if (platform::symbol_at(pc, &at) && at.symbol != nullptr) copy(out->function, sizeof out->function, at.symbol);
  }
  demangle(out);
}
}  // namespace

bool symbolize(std::uintptr_t pc, Symbol* out) {
  out->function[0] = out->file[0] = '\0';
  out->line = 0;
  platform::InternalScope internal;
  Levels levels;
  if (!look_up(pc, &levels)) return false;
  fill(levels, levels.count - 1, pc, out);
  return true;
}

std::size_t symbolize_levels(std::uintptr_t pc, LevelVisitor visit, void* context) {
  platform::InternalScope internal;
  Levels levels;
  Symbol symbol;
  if (!look_up(pc, &levels)) {
    symbol.function[0] = symbol.file[0] = '\0';
    symbol.line = 0;
    visit(symbol, false, context);
    return 1;
  }
  for (std::size_t i = 0; i < levels.count; ++i) {
    fill(levels, i, pc, &symbol);
    visit(symbol, i + 1 < levels.count, context);
  }
  return levels.count;
}

void lock_symbolizer_for_fork() { symbolizer_lock.lock(); }
void unlock_symbolizer_after_fork() { symbolizer_lock.unlock(); }

void reset_symbolizer_after_fork() {
  symbolizer_lock.reset();
  lock_owner.store(0, std::memory_order_relaxed);
}

}  // namespace dbgalloc::stacks
