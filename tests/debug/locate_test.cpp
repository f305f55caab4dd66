// debug::locate on addresses around a heap segment: the guard page after the segment
// is ours but holds no block, and looking it up must not read it (it faults).
#include <gtest/gtest.h>

#include <cstdint>

#include "debug/allocator.hpp"
#include "debug/locate.hpp"
#include "options/options.hpp"
#include "pages/pages.hpp"
#include "platform/platform.hpp"

namespace {

namespace debug = dbgalloc::debug;
namespace pages = dbgalloc::pages;

TEST(Locate, the_guard_page_after_a_heap_segment_holds_no_block_and_is_not_read) {
  dbgalloc::options::Options options;
  dbgalloc::options::set_current(options);
  debug::configure(options);
  debug::Request request;
  request.bytes = 100;
  void* p = debug::allocate(request);
  ASSERT_NE(p, nullptr);
  auto user = reinterpret_cast<std::uintptr_t>(p);
  pages::Span* span = pages::page_allocator().span_of(user);
  ASSERT_NE(span, nullptr);
  ASSERT_EQ(span->kind, pages::SpanKind::heap_segment);
  ASSERT_GE(span->guard_after, dbgalloc::platform::page_size());
  debug::Located found;
  EXPECT_EQ(debug::locate(user, &found), debug::Lookup::ok);
  EXPECT_EQ(found.user, user);
  const std::uintptr_t end = span->base + span->size;
  // 16-byte aligned addresses in the guard page: a header would be read 48 bytes below.
  for (std::uintptr_t offset : {std::uintptr_t{0}, std::uintptr_t{48}, std::uintptr_t{64}, std::uintptr_t{1024},
                                dbgalloc::platform::page_size() - 16}) {
    EXPECT_EQ(debug::locate(end + offset, &found), debug::Lookup::not_a_block) << "guard page + " << offset;
  }
  debug::deallocate(p, debug::Kind::malloc, 0, false, 0);
}

}  // namespace
