// Walks over every block: the heap check (canaries of live blocks, fills of
// quarantined ones, heap invariants) and the live-block enumeration the leak scanner
// uses; in a forked child at exit, only over the pages it wrote (allocator.hpp). Walks run under the arena locks, so they only read and collect; reports are
// made after the locks are released.
#include <cstring>

#include "debug/allocator.hpp"
#include "debug/block.hpp"
#include "debug/block_facts.hpp"
#include "debug/internal.hpp"
#include "debug/locate.hpp"
#include "heap/arenas.hpp"
#include "options/options.hpp"
#include "platform/format.hpp"
#include "platform/lock.hpp"
#include "platform/platform.hpp"
#include "platform/populated_pages.hpp"
#include "report/report.hpp"

namespace dbgalloc::debug {

using internal::canaries_on;
using internal::damaged_canary;
using internal::guard_blocks;

namespace {
struct Problem {
  enum What { canary, fill, missing_header } what;
  std::uintptr_t user;
  std::uintptr_t bad;
  BlockHeader header;
};

struct CheckScan {
  Problem problems[32];
  std::size_t count = 0;
  std::size_t more = 0;
  void add(Problem problem) {
    if (count < 32) problems[count++] = problem;
    else ++more;
  }
};

// Runs under an arena lock: reads blocks, reports nothing.
void scan_block(void* payload, std::size_t usable, void* context) {
  auto* scan = static_cast<CheckScan*>(context);
  Located block;
  auto base = reinterpret_cast<std::uintptr_t>(payload);
  if (!block_in_payload(base, usable, &block)) {
    scan->add({Problem::missing_header, base + kPrefix, base + kPrefix, BlockHeader{}});
    return;
  }
  const BlockHeader* h = block.header;
  if (h->has(BlockHeader::kInternalFlag)) return;
  if (h->state() == State::live) {
    std::uintptr_t bad = damaged_canary(block);
    if (bad != 0) scan->add({Problem::canary, block.user, bad, *h});
  } else if (h->state() == State::quarantined) {
    std::uintptr_t bad = first_not_filled(block.user, block.user + internal::filled_bytes(h->size()), internal::free_fill());
    if (bad != 0) scan->add({Problem::fill, block.user, bad, *h});
  }
}
}  // namespace

// After a report (halt_on_error=0) the damage is mended, so the same bug is not
// reported again by the next check, at eviction or at exit. The block is looked up
// afresh: it may have changed state since the walk.
void repair(const Problem& problem) {
  Located block;
  if (problem.what == Problem::missing_header || locate(problem.user, &block) != Lookup::ok) return;
  if (problem.what == Problem::canary && block.header->state() == State::live) {
    internal::repair_canaries(block);
  } else if (problem.what == Problem::fill && block.header->state() == State::quarantined) {
    std::memset(reinterpret_cast<void*>(block.user), internal::free_fill(), internal::filled_bytes(block.header->size()));
  }
}

namespace {
bool forked_child = false;

// Reads pagemap for a forked child's written-page walks; false (closed) when there is
// nothing to narrow: not a forked child, or pagemap cannot tell written pages apart.
bool open_written_pages(platform::PopulatedPages& pages) {
  if (!forked_child || !pages.open()) return false;
  if (pages.written_pages_known()) return true;
  pages.close();
  return false;
}

std::size_t check_blocks(const char* operation, std::uintptr_t caller, bool written_only) {
  if (!canaries_on()) {
    heap::CheckResult result = heap::arenas().check();
    if (!result.ok) report::header_corruption(result.address, operation, stacks::kNoStack);
    return result.ok ? 0 : 1;
  }
  static CheckScan scan;  // large; check_all runs rarely and is serialised below
  static platform::Lock check_lock;
  platform::LockGuard serial(check_lock);
  scan = CheckScan();
  platform::PopulatedPages pages;
  heap::CheckResult result;
  bool narrowed = written_only && open_written_pages(pages);
  if (narrowed) result = heap::arenas().walk_written(pages, scan_block, &scan);
  else heap::arenas().walk_live(scan_block, &scan);
  guard_blocks().for_each([](GuardRecord& record) {
    if (record.header.state() != State::live) return;
    Located block{&record.header, record.user, &record};
    std::uintptr_t bad = damaged_canary(block);
    if (bad != 0) scan.add({Problem::canary, record.user, bad, record.header});
  });
  std::size_t found = 0;
  stacks::StackId here = stacks::kNoStack;
  for (std::size_t i = 0; i < scan.count; ++i) {
    const Problem& problem = scan.problems[i];
    if (here == stacks::kNoStack && caller != 0) here = internal::record_stack(caller);
    switch (problem.what) {
      case Problem::missing_header: {
        // A block still being set up by another thread looks headerless: look again.
        Located block;
        if (locate(problem.user, &block) == Lookup::ok) continue;
        report::header_corruption(problem.user, operation, here);
        break;
      }
      case Problem::canary:
        report::heap_buffer_overflow(facts_of(problem.header, problem.user), problem.bad, operation, here);
        break;
      case Problem::fill:
        report::heap_use_after_free_write(facts_of(problem.header, problem.user), problem.bad, operation);
        break;
    }
    repair(problem);
    ++found;
  }
  found += scan.more;
  if (!narrowed) result = heap::arenas().check();
  if (narrowed && options::current().verbosity >= 2) {
    platform::StackText<256> note;
    note.text("dbgalloc: exit check of a forked child: the chunks on ").bytes(pages.written_bytes())
        .text(" of pages written since the fork, of ").bytes(pages.pages_read() * platform::page_size())
        .text(" of heap segments\n");
    note.flush();
  }
  if (!result.ok) {
    report::header_corruption(result.address, result.problem, here);
    ++found;
  }
  return found;
}
}  // namespace

std::size_t check_all(const char* operation, std::uintptr_t caller) { return check_blocks(operation, caller, false); }

std::size_t check_at_exit() { return check_blocks("exit check", 0, true); }

void note_forked_child() { forked_child = true; }

namespace {
struct LiveWalk {
  BlockVisitor visit;
  void* context;
};

BlockView view_of(const BlockHeader& h, std::uintptr_t user, std::uintptr_t begin) {
  return BlockView{user, h.size(), h.kind(), h.alloc_stack, h.alloc_thread,
                   (h.marks() & BlockHeader::kMarkIgnoredForLeaks) != 0, begin};
}

void visit_chunk(void* payload, std::size_t usable, void* context) {
  auto* walk = static_cast<LiveWalk*>(context);
  Located block;
  if (!block_in_payload(reinterpret_cast<std::uintptr_t>(payload), usable, &block)) return;
  const BlockHeader* h = block.header;
  if (h->state() != State::live || h->has(BlockHeader::kInternalFlag)) return;
  walk->visit(view_of(*h, block.user, reinterpret_cast<std::uintptr_t>(payload)), walk->context);
}
}  // namespace

void for_each_live_block(BlockVisitor visit, void* context) {
  if (!canaries_on()) return;
  LiveWalk walk{visit, context};
  heap::arenas().walk_live(visit_chunk, &walk);
  guard_blocks().for_each([&walk](GuardRecord& record) {
    if (record.header.state() == State::live) walk.visit(view_of(record.header, record.user, record.user), walk.context);
  });
}

bool for_each_written_live_block(BlockVisitor visit, void* context) {
  platform::PopulatedPages pages;
  if (!canaries_on() || !open_written_pages(pages)) return false;
  LiveWalk walk{visit, context};
  if (!heap::arenas().walk_written(pages, visit_chunk, &walk).ok) return false;  // damaged: the caller walks all
  guard_blocks().for_each([&walk](GuardRecord& record) {
    if (record.header.state() == State::live) walk.visit(view_of(record.header, record.user, record.user), walk.context);
  });
  return true;
}

bool ignore_for_leaks(const void* p) {
  Located block;
  if (!canaries_on() || locate(reinterpret_cast<std::uintptr_t>(p), &block) != Lookup::ok) return false;
  if (block.header->state() != State::live) return false;
  block.header->add_mark(BlockHeader::kMarkIgnoredForLeaks);
  return true;
}

namespace {
void mark_ignored(void* payload, std::size_t usable, void* context) {
  Located block;
  if (!block_in_payload(reinterpret_cast<std::uintptr_t>(payload), usable, &block)) return;
  if (block.header->state() != State::live) return;
  block.header->add_mark(BlockHeader::kMarkIgnoredForLeaks);
  ++*static_cast<std::size_t*>(context);
}
}  // namespace

std::size_t ignore_all_live_blocks() {
  if (!canaries_on()) return 0;
  std::size_t marked = 0;
  heap::arenas().walk_live(mark_ignored, &marked);
  guard_blocks().for_each([&marked](GuardRecord& record) {
    if (record.header.state() != State::live) return;
    record.header.add_mark(BlockHeader::kMarkIgnoredForLeaks);
    ++marked;
  });
  return marked;
}

}  // namespace dbgalloc::debug
