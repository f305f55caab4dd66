#include "report/report.hpp"

#include <atomic>

#include "pages/pages.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::report {

namespace {
std::atomic<std::uint64_t> errors{0};

const char* describe(const void* address) {
  pages::Span* span = pages::page_allocator().span_of(address);
  if (span == nullptr) return "which dbgalloc never allocated (stack, global, foreign or unmapped memory)";
  if (!span->contains(reinterpret_cast<std::uintptr_t>(address))) return "inside a guard page";
  return "inside dbgalloc's heap that is not the start of a live block (double free or interior pointer)";
}
}  // namespace

void bad_free(const void* address, const char* function) {
  errors.fetch_add(1, std::memory_order_relaxed);
  platform::StackText<512> out;
  out.text("=================================================================\n");
  out.text("==").dec(static_cast<std::uint64_t>(platform::process_id())).text("==ERROR: dbgalloc: attempting ")
      .text(function).text(" on address ").hex(reinterpret_cast<std::uintptr_t>(address)).character(' ')
      .text(describe(address)).character('\n');
  out.text("SUMMARY: dbgalloc: bad-free in ").text(function).character('\n');
  out.flush();
}

std::uint64_t error_count() { return errors.load(std::memory_order_relaxed); }

}  // namespace dbgalloc::report
