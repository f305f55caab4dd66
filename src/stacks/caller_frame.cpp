#include "stacks/caller_frame.hpp"

#include <unwind.h>

#include <cstring>

#include "platform/loader.hpp"

namespace dbgalloc::stacks {

namespace {

#if defined(__x86_64__)
constexpr int kCalleeSaved[] = {3, 6, 12, 13, 14, 15};  // DWARF numbers of rbx, rbp, r12-r15
#elif defined(__aarch64__)
constexpr int kCalleeSaved[] = {19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
#else
constexpr int kCalleeSaved[] = {};
#endif

struct Search {
  const char* function;
  CallerState* out;
  bool found;
};

void read_registers(_Unwind_Context* context, CallerState& out) {
  out.register_count = 0;
  for (int regno : kCalleeSaved) out.registers[out.register_count++] = _Unwind_GetGR(context, regno);
}

_Unwind_Reason_Code visit(_Unwind_Context* context, void* argument) {
  auto* search = static_cast<Search*>(argument);
  if (search->found) {
    // The caller's own frame: its registers as they were when it made the call (the
    // function itself may have changed callee-saved registers after saving them).
    read_registers(context, *search->out);
    return _URC_END_OF_STACK;
  }
  int before_instruction = 0;
  std::uintptr_t pc = _Unwind_GetIPInfo(context, &before_instruction);
  if (pc == 0) return _URC_END_OF_STACK;
  if (!before_instruction) --pc;  // a return address: look inside the call
  platform::SymbolAt at;
  if (!platform::symbol_at(pc, &at) || at.symbol == nullptr || std::strcmp(at.symbol, search->function) != 0) {
    return _URC_NO_REASON;
  }
  CallerState& out = *search->out;
  out.sp = _Unwind_GetCFA(context);
  read_registers(context, out);  // replaced by the caller's when there is one
  search->found = true;
  return _URC_NO_REASON;
}

}  // namespace

bool find_caller_of(const char* function, CallerState* out) {
  Search search{function, out, false};
  _Unwind_Backtrace(visit, &search);
  return search.found && out->sp != 0;
}

}  // namespace dbgalloc::stacks
