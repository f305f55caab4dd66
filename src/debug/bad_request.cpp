// Refused requests: NULL and errno, as glibc does, and with allocator_may_return_null=0
// a report in AddressSanitizer's classes and wording first, so a program that asks
// for something impossible is told where.
#include <errno.h>

#include "debug/allocator.hpp"
#include "debug/internal.hpp"
#include "options/options.hpp"
#include "platform/format.hpp"
#include "platform/reentry.hpp"
#include "report/report.hpp"

namespace dbgalloc::debug {

namespace {

using report::ErrorClass;

void describe(platform::TextBuffer& out, BadRequest what, std::size_t first, std::size_t second,
              ErrorClass* error, const char** operation) {
  switch (what) {
    case BadRequest::calloc_overflow:
    case BadRequest::reallocarray_overflow: {
      bool calloc = what == BadRequest::calloc_overflow;
      *error = calloc ? ErrorClass::calloc_overflow : ErrorClass::reallocarray_overflow;
      *operation = calloc ? "calloc" : "reallocarray";
      out.text(*operation).text(" parameters overflow: count * size (").dec(first).text(" * ").dec(second)
          .text(") cannot be represented in type size_t");
      break;
    }
    case BadRequest::pvalloc_overflow:
      *error = ErrorClass::pvalloc_overflow;
      *operation = "pvalloc";
      out.text("pvalloc parameters overflow: size ").hex(first).text(" rounded up to the page size ")
          .hex(second).text(" cannot be represented in type size_t");
      break;
    case BadRequest::too_big:
      *error = ErrorClass::allocation_size_too_big;
      *operation = "allocation";
      out.text("requested allocation size ").dec(first).text(" (").hex(first)
          .text(") exceeds the maximum supported size of ").dec(kMaxRequest).text(" (").hex(kMaxRequest).text(")");
      break;
    case BadRequest::memalign_alignment:
      *error = ErrorClass::invalid_allocation_alignment;
      *operation = "memalign";
      out.text("invalid allocation alignment: ").dec(first).text(", alignment must be a power of two at most ")
          .dec(std::size_t{1} << 40).text(" (size ").dec(second).character(')');
      break;
    case BadRequest::aligned_alloc_alignment:
      *error = ErrorClass::invalid_aligned_alloc_alignment;
      *operation = "aligned_alloc";
      out.text("invalid alignment requested in aligned_alloc: ").dec(first)
          .text(", alignment must be a power of two (size ").dec(second).character(')');
      break;
    case BadRequest::posix_memalign_alignment:
      *error = ErrorClass::invalid_posix_memalign_alignment;
      *operation = "posix_memalign";
      out.text("invalid alignment requested in posix_memalign: ").dec(first)
          .text(", alignment must be a power of two and a multiple of sizeof(void*) == ").dec(sizeof(void*))
          .text(" (size ").dec(second).character(')');
      break;
  }
}

bool alignment_error(BadRequest what) {
  return what == BadRequest::memalign_alignment || what == BadRequest::aligned_alloc_alignment ||
         what == BadRequest::posix_memalign_alignment;
}

}  // namespace

void* refuse_request(BadRequest what, std::size_t first, std::size_t second, std::uintptr_t caller) {
  if (!options::current().allocator_may_return_null && !platform::in_internal_code()) {
    platform::StackText<256> text;
    ErrorClass error = ErrorClass::allocation_size_too_big;
    const char* operation = "allocation";
    describe(text, what, first, second, &error, &operation);
    text.character('\0');
    report::bad_request(error, text.data(), operation, internal::record_stack(caller));
  }
  errno = alignment_error(what) ? EINVAL : ENOMEM;
  return nullptr;
}

}  // namespace dbgalloc::debug
