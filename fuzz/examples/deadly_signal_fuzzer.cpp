// A libFuzzer target that dies of a deadly signal on two inputs (inputs/null_write,
// inputs/divide_by_zero): the fuzz-example tests check that with dbgalloc linked in,
// such a crash is reported (dbgalloc's SEGV/FPE report with the target's stack) and
// libFuzzer still saves the input that caused it.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {
__attribute__((noinline)) void write_through(int* p) { int* volatile target = p; *target = 1; }
__attribute__((noinline)) int divide(int a, int b) { volatile int divisor = b; return a / divisor; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size >= 4 && std::memcmp(data, "NULL", 4) == 0) write_through(nullptr);
  if (size >= 4 && std::memcmp(data, "DIV0", 4) == 0) return divide(static_cast<int>(size), 0);
  return 0;
}
