// The leak check (see leaks.hpp): collect the live blocks, mark from the roots, group
// what is lost by allocation stack, apply suppressions, print.
//
// Forked children. Blocks carry the kernel tid of the thread that allocated them. A
// child that exits normally inherits all of its parent's live blocks; reporting those
// would repeat the parent's leaks (or invent some: the parent still holds pointers the
// child dropped). After fork the child records its pid; its checks then report only
// blocks allocated by the forking thread (tid == child pid) or by a thread of the child
// still alive at the check (/proc/self/task). Every block still takes part in the
// marking, so a child block held by a parent block is reachable. Known gaps: blocks of
// child threads that already exited are not reported, and a child thread reusing the
// tid of a dead parent thread (tid wrap-around) would claim that thread's blocks.
// leak_check_children=0 silences children altogether.
#include "leaks/leaks.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>

#include "debug/allocator.hpp"
#include "leaks/leak_scan.hpp"
#include "leaks/suppressions.hpp"
#include "options/options.hpp"
#include "platform/format.hpp"
#include "platform/lock.hpp"
#include "platform/platform.hpp"
#include "platform/reentry.hpp"
#include "report/report.hpp"
#include "report/report_json.hpp"
#include "stacks/caller_frame.hpp"
#include "stacks/program_symbols.hpp"
#include "stacks/stacks.hpp"

namespace dbgalloc::leaks {

namespace {

constinit platform::Lock check_lock;
constinit platform::Lock region_lock;
int check_owner = 0;             // tid running a check (re-entry from a report is refused)
bool final_check_done = false;   // __lsan_do_leak_check ran: no more checks at exit
int forked_child_pid = 0;        // set in a forked child
LeakCounts last_counts;

constexpr std::size_t kMaxRegions = 256;
RootRegion regions[kMaxRegions];
std::size_t region_count = 0;

// Report order: direct, indirect, possible, reachable.
int class_rank(Reach reach) {
  switch (reach) {
    case Reach::unreached: return 0;
    case Reach::indirect: return 1;
    case Reach::possible: return 2;
    case Reach::reachable: return 3;
  }
  return 4;
}

const char* class_title(int rank) {
  static const char* const titles[] = {"Direct leak", "Indirect leak", "Possible leak", "Still reachable"};
  return titles[rank];
}

const char* class_json(int rank) {
  static const char* const names[] = {"direct", "indirect", "possible", "reachable"};
  return names[rank];
}

struct Entry {
  std::uint32_t rank;
  std::uint32_t stack;
  std::uint64_t bytes;
};

struct Group {
  std::uint32_t rank;
  std::uint32_t stack;
  std::uint64_t bytes;
  std::uint64_t blocks;
  long suppression;  // -1: none
};

struct Collect {
  ScratchArray<Block>* blocks;
  bool failed;
};

// Runs under the allocator's locks: copies, maps memory at most, never allocates.
void collect(const debug::BlockView& view, void* context) {
  auto* collect = static_cast<Collect*>(context);
  if (!collect->blocks->push(Block{view.user, view.size, view.alloc_stack, view.alloc_thread, Reach::unreached,
                                   view.ignored, -1, view.begin})) {
    collect->failed = true;
  }
}

bool owned_by_this_process(const Block& block, ScratchArray<int>& tids, int pid) {
  if (forked_child_pid != pid) return true;
  if (static_cast<int>(block.alloc_thread) == pid) return true;
  for (int tid : tids) {
    if (static_cast<int>(block.alloc_thread) == tid) return true;
  }
  return false;
}

// Whether this process holds a live block the check could report (in a forked child:
// one of its own threads' blocks). One walk that copies nothing: a process without one
// (a forked child that freed what it made) skips stopping threads, the block table and
// the roots, which in a child would all be spent on the parent's inherited heap.
bool holds_reportable_block() {
  struct Search {
    ScratchArray<int> tids;
    int pid;
    bool found;
  } search{{}, platform::process_id(), false};
  if (forked_child_pid == search.pid) {
    platform::for_each_thread_id([](int tid, void* context) { static_cast<Search*>(context)->tids.push(tid); },
                                 &search);
  }
  auto visit = [](const debug::BlockView& view, void* context) {
    auto* search = static_cast<Search*>(context);
    if (search->found || view.ignored) return;
    Block block{view.user, view.size, view.alloc_stack, view.alloc_thread, Reach::unreached, false, -1, view.begin};
    search->found = owned_by_this_process(block, search->tids, search->pid);
  };
  // A child's own blocks lie on pages it wrote (their headers): the inherited heap on
  // the pages it shares with its parent need not be read.
  if (forked_child_pid != search.pid || !debug::for_each_written_live_block(visit, &search)) {
    debug::for_each_live_block(visit, &search);
  }
  return search.found;
}

// The roots scan may stop early once every block this process could report is reachable.
bool all_reportable_reached(void* context, ScratchArray<int>& tids) {
  auto& blocks = *static_cast<ScratchArray<Block>*>(context);
  const int pid = platform::process_id();
  for (const Block& block : blocks) {
    if (block.reach != Reach::reachable && !block.ignored && owned_by_this_process(block, tids, pid)) return false;
  }
  return true;
}

void add(LeakTotal& total, std::uint64_t bytes, std::uint64_t blocks = 1) {
  total.bytes += bytes;
  total.blocks += blocks;
}

void print_total(report::ReportText& out, const char* name, const LeakTotal& total) {
  out.text(name).text(": ").dec(total.bytes).text(" byte(s) in ").dec(total.blocks).text(" block(s)");
}

// The totals' categories, in report order, with their text and JSON names.
struct TotalName {
  const char* text;
  const char* json;
  LeakTotal LeakCounts::*total;
};
constexpr TotalName kTotalNames[] = {
    {"definitely lost", "definitely_lost", &LeakCounts::direct},
    {"indirectly lost", "indirectly_lost", &LeakCounts::indirect},
    {"possibly lost", "possibly_lost", &LeakCounts::possible},
    {"still reachable", "still_reachable", &LeakCounts::reachable},
    {"suppressed", "suppressed", &LeakCounts::suppressed},
};

void print_totals(report::ReportText& out, const LeakCounts& counts) {
  out.text("dbgalloc: ");
  for (const TotalName& name : kTotalNames) {
    if (&name != kTotalNames) out.text("; ");
    print_total(out, name.text, counts.*name.total);
  }
  out.character('\n');
}

void render_text(ScratchArray<Group>& groups, const LeakCounts& counts, bool always_totals) {
  const options::Options& o = options::current();
  report::ReportText out;
  bool leaked = counts.leaked_blocks() > 0;
  if (leaked) {
    out.text("\n=================================================================\n");
    out.text("==").dec(static_cast<std::uint64_t>(platform::process_id())).text("==ERROR: ")
        .text(report::leak_tool_name()).text(": detected memory leaks\n");
  }
  std::size_t printed = 0;
  bool shown = false;
  for (Group& group : groups) {
    if (group.suppression >= 0) continue;
    if (group.rank == 2 && !o.show_possible) continue;
    if (group.rank == 3 && !o.show_reachable) continue;
    if (o.max_leaks > 0 && group.rank < 2 && printed == static_cast<std::size_t>(o.max_leaks)) {
      out.text("\nThe other leaks are not shown (max_leaks=").dec(static_cast<std::uint64_t>(o.max_leaks)).text(").\n");
      ++printed;
      continue;
    }
    if (o.max_leaks > 0 && group.rank < 2 && printed > static_cast<std::size_t>(o.max_leaks)) continue;
    if (group.rank < 2) ++printed;
    shown = true;
    out.room().character('\n').text(class_title(static_cast<int>(group.rank))).text(group.rank == 3 ? ": " : " of ").dec(group.bytes)
        .text(" byte(s) in ").dec(group.blocks).text(" object(s) allocated from:\n");
    if (group.stack == stacks::kNoStack) {
      out.text("    <no stack recorded>\n");
    } else {
      stacks::print(group.stack, out);
    }
  }
  bool any_used = false;
  for (std::size_t i = 0; i < suppressions::count(); ++i) any_used |= suppressions::at(i).hits > 0;
  if (any_used) {
    out.room().text("-----------------------------------------------------\n");
    out.text("Suppressions used:\n  count      bytes template\n");
    for (std::size_t i = 0; i < suppressions::count(); ++i) {
      const suppressions::Suppression& s = suppressions::at(i);
      if (s.hits == 0) continue;
      platform::StackText<32> number;
      number.dec(s.hits);
      out.room().text("  ");
      for (std::size_t pad = number.size(); pad < 5; ++pad) out.character(' ');
      out.text(number.view()).character(' ');
      number.clear();
      number.dec(s.bytes);
      for (std::size_t pad = number.size(); pad < 10; ++pad) out.character(' ');
      out.text(number.view()).character(' ').text(s.templ).character('\n');
    }
    out.text("-----------------------------------------------------\n");
  }
  if (leaked || always_totals || any_used || shown) {
    out.room().character('\n');
    print_totals(out, counts);
  }
  if (leaked) {
    out.text("SUMMARY: ").text(report::tool_name()).text(": ").dec(counts.direct.bytes + counts.indirect.bytes)
        .text(" byte(s) leaked in ")
        .dec(counts.leaked_blocks()).text(" allocation(s).\n");
  }
}

void json_total(report::ReportText& out, const char* name, const LeakTotal& total) {
  out.character('"').text(name).text("\":{\"bytes\":").dec(total.bytes).text(",\"blocks\":").dec(total.blocks)
      .character('}');
}

void render_json(ScratchArray<Group>& groups, const LeakCounts& counts) {
  const options::Options& o = options::current();
  report::ReportText out;
  out.text("{\"tool\":\"dbgalloc\",\"format_version\":").dec(report::kJsonFormatVersion).text(",\"pid\":")
      .dec(static_cast<std::uint64_t>(platform::process_id())).text(",\"class\":\"memory-leak\",\"leaks\":[");
  bool first = true;
  for (Group& group : groups) {
    if (group.suppression >= 0) continue;
    if ((group.rank == 2 && !o.show_possible) || (group.rank == 3 && !o.show_reachable)) continue;
    out.room();
    if (!first) out.character(',');
    first = false;
    out.text("{\"kind\":\"").text(class_json(static_cast<int>(group.rank))).text("\",\"bytes\":").dec(group.bytes)
        .text(",\"objects\":").dec(group.blocks).text(",\"alloc_stack\":").dec(group.stack).text(",\"frames\":");
    std::uintptr_t frames[stacks::kMaxFrames];
    std::size_t n = stacks::lookup(group.stack, frames, stacks::kMaxFrames);
    report::append_json_frames(out, frames, n, false);  // symbolized, as error reports' frames
    out.character('}');
  }
  out.text("],\"suppressions\":[");
  first = true;
  for (std::size_t i = 0; i < suppressions::count(); ++i) {
    const suppressions::Suppression& s = suppressions::at(i);
    if (s.hits == 0) continue;
    if (!first) out.character(',');
    first = false;
    out.room().text("{\"template\":\"");
    report::append_json_escaped(out, s.templ);
    out.text("\",\"objects\":").dec(s.hits).text(",\"bytes\":")
        .dec(s.bytes).character('}');
  }
  out.text("],\"totals\":{");
  for (const TotalName& name : kTotalNames) {
    if (&name != kTotalNames) out.character(',');
    json_total(out, name.json, counts.*name.total);
  }
  out.text("}}\n");
}

// Groups the blocks of this process by (class, allocation stack), largest first within
// a class, and fills counts. Suppressions apply per group.
bool group_blocks(ScratchArray<Block>& blocks, ScratchArray<int>& tids, ScratchArray<Group>& groups,
                  LeakCounts& counts) {
  ScratchArray<Entry> entries;
  if (!entries.reserve(blocks.size() + 1)) return false;
  const int pid = platform::process_id();
  for (const Block& block : blocks) {
    if (block.ignored || !owned_by_this_process(block, tids, pid)) continue;
    if (block.suppression >= 0) {
      suppressions::Suppression& s = suppressions::at(static_cast<std::size_t>(block.suppression));
      ++s.hits;
      s.bytes += block.size;
      add(counts.suppressed, block.size);
      continue;
    }
    entries.push(Entry{static_cast<std::uint32_t>(class_rank(block.reach)), block.alloc_stack, block.size});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.stack < b.stack;
  });
  for (const Entry& entry : entries) {
    if (groups.empty() || groups[groups.size() - 1].rank != entry.rank || groups[groups.size() - 1].stack != entry.stack) {
      if (!groups.push(Group{entry.rank, entry.stack, 0, 0, -1})) return false;
    }
    Group& group = groups[groups.size() - 1];
    group.bytes += entry.bytes;
    ++group.blocks;
  }
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.bytes != b.bytes ? a.bytes > b.bytes : a.stack < b.stack;
  });
  for (Group& group : groups) {
    if (group.rank < 3 && suppressions::count() > 0) group.suppression = suppressions::match_stack(group.stack);
    if (group.suppression >= 0) {
      suppressions::Suppression& s = suppressions::at(static_cast<std::size_t>(group.suppression));
      s.hits += group.blocks;
      s.bytes += group.bytes;
      add(counts.suppressed, group.bytes, group.blocks);
      continue;
    }
    LeakTotal* totals[] = {&counts.direct, &counts.indirect, &counts.possible, &counts.reachable};
    add(*totals[group.rank], group.bytes, group.blocks);
  }
  return true;
}

// A direct leak whose allocation stack a suppression matches is hidden with every
// indirect leak it leads, whatever their own stacks (LeakSanitizer's rule: what only a
// suppressed leak holds is not reported either). Symbolizes: call in an InternalScope.
void suppress_with_children(Marker& marker, ScratchArray<Block>& blocks) {
  if (suppressions::count() == 0) return;
  struct StackMatch {
    std::uint32_t stack;
    std::int32_t suppression;
  };
  ScratchArray<StackMatch> matches;
  for (const Block& block : blocks) {
    if (block.reach == Reach::unreached && !block.ignored) matches.push(StackMatch{block.alloc_stack, -1});
  }
  std::sort(matches.begin(), matches.end(), [](const StackMatch& a, const StackMatch& b) { return a.stack < b.stack; });
  std::size_t unique = 0;
  for (std::size_t i = 0; i < matches.size(); ++i) {
    if (unique > 0 && matches[unique - 1].stack == matches[i].stack) continue;
    matches[unique++] = matches[i];
  }
  matches.resize(unique);
  for (StackMatch& match : matches) match.suppression = static_cast<std::int32_t>(suppressions::match_stack(match.stack));
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    Block& block = blocks[i];
    if (block.reach != Reach::unreached || block.ignored) continue;
    const StackMatch* match = std::lower_bound(matches.begin(), matches.end(), block.alloc_stack,
                                               [](const StackMatch& m, std::uint32_t stack) { return m.stack < stack; });
    if (match == matches.end() || match->stack != block.alloc_stack || match->suppression < 0) continue;
    block.suppression = match->suppression;
    marker.suppress(i);
  }
  marker.spread_suppression();
}

void say(const char* text) {
  report::ReportText out;
  out.text(text);
}

// With no block to check: nothing to say, unless verbosity asks for the empty report.
void report_no_blocks(const options::Options& o) {
  last_counts = LeakCounts{};
  if (o.verbosity == 0) return;
  ScratchArray<Group> none;
  report::ReportScope one_at_a_time;
  if (o.report_format == options::report_format_choice::json) {
    render_json(none, last_counts);
  } else {
    render_text(none, last_counts, true);
  }
}

// Loads the suppressions once (a bad file is said, the check goes on without it) and
// clears what the previous check counted against them.
void load_suppressions(const options::Options& o) {
  platform::StackText<512> error;
  if (!suppressions::load(o.suppressions.c_str(), error)) {
    report::output_fd();
    error.flush();
  }
  for (std::size_t i = 0; i < suppressions::count(); ++i) suppressions::at(i).hits = suppressions::at(i).bytes = 0;
}

// Marks every block reachable from the roots, the other threads stopped meanwhile, then
// classifies the unreached ones and matches them against the suppressions. False when
// there is no memory for its tables (nothing marked). The caller holds region_lock.
//
// The other threads are stopped while the blocks are listed and the roots read, so
// nothing moves a pointer from a root not yet read to one already read. No thread is
// stopped holding an allocator lock: they are held while the signals go out (a
// stopped thread may hold any other lock: nothing below takes one but the
// allocator's, the loader's lock is taken by plan_roots before). A thread may still
// stop between two locked steps of a malloc, or in its lock-free thread-cache path,
// holding a block that is already live by its header address: roots count that
// (leak_scan.hpp).
bool mark_reachable(RootPlan& plan, std::uintptr_t stack_low, const stacks::CallerState* exit_caller,
                    SafeReader& reader, ScratchArray<Block>& blocks, ScratchArray<int>& tids, RootStats* stats) {
  platform::ThreadStop stop;
  debug::lock_for_fork();
  bool stopped = stop.stop_others();
  debug::unlock_after_fork();
  if (stopped) register_scratch(stop.memory_begin(), stop.memory_end());
  auto resume = [&] {
    if (stopped) unregister_scratch(stop.memory_begin());
    stop.resume();
  };
  // A block missing from the table would make what it points to look lost: all or none.
  Collect collected{&blocks, false};
  debug::for_each_live_block(collect, &collected);
  Marker::sort(blocks.data(), blocks.size());
  Marker marker(blocks.data(), blocks.size(), reader);
  if (collected.failed || !marker.init()) {
    resume();
    return false;
  }
  marker.mark_ignored();
  if (exit_caller != nullptr) {
    for (std::size_t i = 0; i < exit_caller->register_count; ++i) marker.root_value(exit_caller->registers[i]);
  }
  scan_roots(marker, plan, stack_low, stop, regions, region_count, tids, stats,
             EnoughSoFar{all_reportable_reached, &blocks});
  marker.propagate();
  resume();
  // When every block this process could report is reachable, what is unreached (a
  // forked child's inherited blocks) is never reported: neither classified (which reads
  // every such block) nor matched against suppressions (which symbolizes).
  if (stats->maps_needed) {
    marker.classify_lost();
    platform::InternalScope internal;
    suppress_with_children(marker, blocks);
  }
  return true;
}

// verbosity=2: what the roots were.
void print_root_stats(LeakCheck kind, const RootStats& stats) {
  report::ReportText out;
  out.text("dbgalloc: leak check (").text(kind == LeakCheck::at_exit ? "exit" : "on demand").text("): roots: ")
      .dec(stats.modules).text(" module segments (").bytes(stats.module_bytes).text("), ").dec(stats.mappings)
      .text(" anonymous mappings (").bytes(stats.mapping_bytes).text(" scanned), ").dec(stats.threads)
      .text(" threads (").dec(stats.threads_stopped).text(" others stopped, ").dec(stats.threads_blocked)
      .text(" others blocked, scanned from their stack pointer), ")
      .dec(stats.quarantine_rings).text(" quarantine ring(s) skipped, ").bytes(stats.unpopulated_bytes)
      .text(" of untouched pages not read")
      .text(stats.maps_needed ? "" : "; anonymous mappings not needed: every block reachable without them")
      .text(stats.maps_read || !stats.maps_needed ? "" : "; /proc/self/maps unreadable").character('\n');
}

// Groups the marked blocks by allocation stack and reports them (text or JSON, and the
// JSON log); the counts.
LeakCounts report_groups(LeakCheck kind, ScratchArray<Block>& blocks, ScratchArray<int>& tids,
                         const RootStats& stats, const options::Options& o) {
  LeakCounts counts;
  ScratchArray<Group> groups;
  // Symbolization and suppression matching allocate: keep that out of tracking.
  platform::InternalScope internal;
  if (!group_blocks(blocks, tids, groups, counts)) {
    say("dbgalloc: leak check incomplete: no memory for its tables\n");
  }
  blocks.release();
  // Say nothing (and open no log_path file) when there is nothing to say.
  bool suppressed = counts.suppressed.blocks > 0;
  bool listed = (o.show_possible && counts.possible.blocks > 0) || (o.show_reachable && counts.reachable.blocks > 0);
  if (counts.leaked_blocks() > 0 || o.verbosity > 0 || suppressed || listed) {
    report::ReportScope one_at_a_time;
    if (o.report_format == options::report_format_choice::json) {
      render_json(groups, counts);
    } else {
      render_text(groups, counts, o.verbosity > 0);
    }
    report::JsonLogScope json_log;
    if (json_log.active() && counts.leaked_blocks() > 0) render_json(groups, counts);
  }
  if (o.verbosity > 1) print_root_stats(kind, stats);
  return counts;
}

__attribute__((noinline)) std::size_t run_check(LeakCheck kind, std::uintptr_t stack_low,
                                                const stacks::CallerState* exit_caller) {
  const options::Options& o = options::current();
  if (!holds_reportable_block()) {
    report_no_blocks(o);
    return 0;
  }
  load_suppressions(o);
  SafeReader reader;
  ScratchArray<Block> blocks;
  if (!reader.init() || !blocks.reserve(4096)) {
    say("dbgalloc: leak check skipped: no memory for its tables\n");
    return 0;
  }
  RootStats stats;
  RootPlan plan;
  plan_roots(plan, &stats);
  platform::LockGuard regions_guard(region_lock);
  ScratchArray<int> tids;
  if (!mark_reachable(plan, stack_low, exit_caller, reader, blocks, tids, &stats)) {
    say("dbgalloc: leak check skipped: no memory for its tables\n");
    reader.release();
    return 0;
  }
  reader.release();
  LeakCounts counts = report_groups(kind, blocks, tids, stats, o);
  last_counts = counts;
  return counts.leaked_blocks();
}

}  // namespace

__attribute__((noinline)) std::size_t check_leaks(LeakCheck kind) {
  // Every callee-saved register is saved in this frame, so the scan from here up sees
  // the values the program had in registers.
  __builtin_unwind_init();
  volatile std::uintptr_t anchor = 0;
  std::uintptr_t stack_low = reinterpret_cast<std::uintptr_t>(&anchor);
  auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  if (frame < stack_low) stack_low = frame;

  int self = platform::thread_id();
  if (__atomic_load_n(&check_owner, __ATOMIC_RELAXED) == self) return 0;  // from inside a check
  std::size_t leaked = 0;
  {
    platform::LockGuard guard(check_lock);
    if (final_check_done) return 0;
    __atomic_store_n(&check_owner, self, __ATOMIC_RELAXED);
    // At exit, the exiting thread's stack counts from the frame that called exit: the
    // frames of exit, the exit handlers and this check sit where dead frames were and
    // keep their stale pointers in the slots they never wrote.
    stacks::CallerState exit_caller{};
    bool from_exit = kind == LeakCheck::at_exit && stacks::find_caller_of("exit", &exit_caller) &&
                     exit_caller.sp > stack_low;
    if (from_exit) stack_low = exit_caller.sp;
    leaked = run_check(kind, stack_low, from_exit ? &exit_caller : nullptr);
    if (kind == LeakCheck::final_check) final_check_done = true;
    __atomic_store_n(&check_owner, 0, __ATOMIC_RELAXED);
  }
  if (kind == LeakCheck::final_check && leaked > 0 && options::current().exitcode != 0) report::die();
  // Keep the anchor (and so this frame) alive across the call.
  asm volatile("" : : "r"(&anchor) : "memory");
  return leaked;
}

std::size_t leak_check_at_exit() {
  const options::Options& o = options::current();
  if (!o.detect_leaks) return 0;
  // LeakSanitizer's opt-out: a program-defined `int __lsan_is_turned_off()` returning
  // non-zero, exported or not (stacks/program_symbols.hpp).
  using TurnedOff = int (*)();
  if (auto turned_off = reinterpret_cast<TurnedOff>(stacks::find_program_function("__lsan_is_turned_off"))) {
    if (turned_off() != 0) return 0;
  }
  if (forked_child_pid != 0 && forked_child_pid == platform::process_id() && !o.leak_check_children) return 0;
  return check_leaks(LeakCheck::at_exit);
}

LeakCounts last_leak_counts() {
  platform::LockGuard guard(check_lock);
  return last_counts;
}

void leak_check_note_fork_child() {
  forked_child_pid = platform::process_id();
  check_lock.reset();
  region_lock.reset();
  check_owner = 0;
}

bool register_root_region(const void* begin, std::size_t size) {
  platform::LockGuard guard(region_lock);
  if (region_count == kMaxRegions) return false;
  auto b = reinterpret_cast<std::uintptr_t>(begin);
  regions[region_count++] = {b, b + size};
  return true;
}

bool unregister_root_region(const void* begin, std::size_t size) {
  platform::LockGuard guard(region_lock);
  auto b = reinterpret_cast<std::uintptr_t>(begin);
  for (std::size_t i = 0; i < region_count; ++i) {
    if (regions[i].begin == b && regions[i].end == b + size) {
      regions[i] = regions[--region_count];
      return true;
    }
  }
  return false;
}

}  // namespace dbgalloc::leaks
