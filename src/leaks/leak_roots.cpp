// What the leak scanner treats as roots: every place a program pointer to a live block
// may legitimately be kept outside the heap.
//
//  1. The writable PT_LOAD segments (.data, .bss, and the rest of their last page) of
//     every module dl_iterate_phdr lists, except libdbgalloc.so's own (its quarantine,
//     tables and caches hold block addresses that are not the program's). They are
//     listed before the other threads are stopped: dl_iterate_phdr takes the loader's
//     lock, which a stopped thread may hold.
//  2. Private read-write anonymous mappings (and [stack], [heap], [anon:…]) from
//     /proc/self/maps that belong to no module, no dbgalloc span (the page map says
//     which pages are dbgalloc's heap) and none of the scanner's own scratch memory.
//     This covers other threads' stacks and their static TLS (glibc keeps both in the
//     thread's stack mapping), the main thread's TLS and DTV (ld.so's early memory),
//     and memory programs manage themselves (pymalloc arenas, custom pools) — as
//     valgrind does, and unlike LeakSanitizer, which would miss those. dbgalloc's own
//     mapped tables are skipped too: guard records and span descriptors word by word
//     (Marker::scan_root), the quarantine ring whole (its mapping, which the debug layer
//     names: recognising it by its entries took dead stack frames holding an entry for
//     the ring and skipped the thread descriptors beside them).
//  3. The calling thread's stack from stack_low up: at exit the frame that called exit
//     (leaks.cpp), else the check's own frame (callee-saved registers spilled into it),
//     so dead frames below it do not count.
//  4. Every other thread is stopped for the check (platform/stop_threads.hpp): its
//     registers are roots and its stack is scanned from its stack pointer up. A thread
//     that could not be stopped (it blocks the signal, a debugger stopped it) falls back
//     to /proc/self/task/TID/syscall: when it is blocked, its stack pointer and the
//     system call's arguments; when it runs, its whole stack mapping, dead frames
//     included.
//  5. Regions registered with __lsan_register_root_region.
//
// Order: the threads are listed first; the module segments, registers and registered
// regions (cheap) are marked and followed before the anonymous mappings (the costly
// pass), which is skipped when every block the check could report is already reachable
// (EnoughSoFar): a reachable block stays reachable, so no further root could change the
// report. Only populated pages are read (platform/populated_pages.hpp): an untouched
// page of a reservation holds no pointer, and reading it would fault it in.
//
// Not scanned: read-only memory, shared mappings, file-backed private mappings that are
// not module segments, dbgalloc's heap except through reachable blocks.
//
// /proc is read with open/read/getdents64 directly (no stdio, no malloc, no lock).
#include <link.h>

#include <string_view>

#include "debug/allocator.hpp"
#include "leaks/leak_scan.hpp"
#include "options/options.hpp"
#include "pages/pages.hpp"
#include "platform/files.hpp"
#include "platform/format.hpp"
#include "platform/loader.hpp"
#include "platform/reentry.hpp"
#include "platform/stop_threads.hpp"

namespace dbgalloc::leaks {

namespace {

std::uintptr_t page_down(std::uintptr_t value) { return value & ~(platform::page_size() - 1); }
std::uintptr_t page_up(std::uintptr_t value) { return page_down(value + platform::page_size() - 1); }

using Range = RootRegion;

struct ThreadSp {
  int tid;
  std::uintptr_t sp;         // 0: unknown (running)
  bool stopped;              // stopped for the check: registers saved, sp exact
  std::uintptr_t args[6];    // the blocking system call's arguments (registers)
};

struct ModuleWalk {
  ScratchArray<Range>* writable;   // to scan
  ScratchArray<Range>* all;        // every PT_LOAD page range (excluded from the maps pass)
  std::uintptr_t own_code;
  bool first = true;
};

int visit_module(dl_phdr_info* info, std::size_t, void* context) {
  auto* walk = static_cast<ModuleWalk*>(context);
  bool main_program = walk->first;
  walk->first = false;
  bool own = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    if (walk->own_code >= begin && walk->own_code < begin + ph.p_memsz) own = true;
  }
  // Linked into the program itself (static library), our data is the program's: the
  // program's globals must still be scanned.
  if (main_program) own = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    std::uintptr_t end = page_up(begin + ph.p_memsz);
    walk->all->push({page_down(begin), end});
    if (!own && (ph.p_flags & PF_W) != 0 && (ph.p_flags & PF_R) != 0) walk->writable->push({begin, end});
  }
  return 0;
}

std::uintptr_t parse_hex(std::string_view text, std::size_t* used) {
  std::uintptr_t value = 0;
  std::size_t i = 0;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) i = 2;
  for (; i < text.size(); ++i) {
    char c = text[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) break;
    value = value * 16 + static_cast<std::uintptr_t>(digit);
  }
  if (used != nullptr) *used = i;
  return value;
}

// The stack pointer of a blocked thread from /proc/self/task/TID/syscall
// ("NR a0 a1 a2 a3 a4 a5 SP PC" in a system call, "-1 SP PC" when stopped outside
// one, "running" otherwise), and the call's arguments (registers the thread may hold a
// pointer in). Leaves thread->sp 0 when unknown.
void read_blocked_state(ThreadSp* thread) {
  thread->sp = 0;
  for (std::uintptr_t& arg : thread->args) arg = 0;
  platform::StackText<64> path;
  path.text("/proc/self/task/").dec(static_cast<std::uint64_t>(thread->tid)).text("/syscall").character('\0');
  char text[256];
  long n = platform::read_small_file(path.data(), text, sizeof text);
  if (n <= 0 || text[0] == 'r') return;
  std::string_view fields[9];
  std::size_t count = 0;
  std::string_view line(text, static_cast<std::size_t>(n));
  while (!line.empty() && count < 9) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\n')) line.remove_prefix(1);
    std::size_t end = line.find_first_of(" \n");
    if (line.empty()) break;
    fields[count++] = line.substr(0, end);
    line = end == std::string_view::npos ? std::string_view{} : line.substr(end);
  }
  if (count < 3) return;
  thread->sp = parse_hex(fields[count - 2], nullptr);
  for (std::size_t i = 1; i + 2 < count && i <= 6; ++i) thread->args[i - 1] = parse_hex(fields[i], nullptr);
}

const platform::StoppedThread* stopped_slot(const platform::ThreadStop& stop, int tid) {
  for (std::size_t i = 0; i < stop.stopped_count(); ++i) {
    const platform::StoppedThread& slot = stop.stopped(i);
    if (__atomic_load_n(&slot.ready, __ATOMIC_ACQUIRE) != 0 && slot.tid == tid) return &slot;
  }
  return nullptr;
}

struct ThreadList {
  ScratchArray<ThreadSp>& threads;
  ScratchArray<int>& tids;
  int self;
  const platform::ThreadStop& stop;
};

void list_threads(ThreadList& list) {
  platform::for_each_thread_id(
      [](int tid, void* context) {
        auto& list = *static_cast<ThreadList*>(context);
        list.tids.push(tid);
        if (tid == list.self) return;
        ThreadSp thread{tid, 0, false, {}};
        if (const platform::StoppedThread* slot = stopped_slot(list.stop, tid)) {
          thread.sp = slot->sp;
          thread.stopped = true;
        } else {
          read_blocked_state(&thread);
        }
        list.threads.push(thread);
      },
      &list);
}

// [begin, end) minus the sorted, merged exclusion ranges, each remaining piece passed on.
template <typename Visit>
void subtract(std::uintptr_t begin, std::uintptr_t end, ScratchArray<Range>& excluded, Visit&& visit) {
  for (const Range& cut : excluded) {
    if (cut.end <= begin) continue;
    if (cut.begin >= end) break;
    if (cut.begin > begin) visit(begin, cut.begin);
    begin = cut.end;
    if (begin >= end) return;
  }
  if (begin < end) visit(begin, end);
}

void sort_and_merge(ScratchArray<Range>& ranges) {
  Range* data = ranges.data();
  std::size_t n = ranges.size();
  for (std::size_t i = 1; i < n; ++i) {  // insertion sort: tens to hundreds of modules
    Range value = data[i];
    std::size_t j = i;
    for (; j > 0 && data[j - 1].begin > value.begin; --j) data[j] = data[j - 1];
    data[j] = value;
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (out > 0 && data[i].begin <= data[out - 1].end) {
      if (data[i].end > data[out - 1].end) data[out - 1].end = data[i].end;
    } else {
      data[out++] = data[i];
    }
  }
  while (ranges.size() > out) ranges.pop();
}

// Scans the populated pages of [begin, end): a page never touched holds no pointer.
std::size_t scan_populated(Marker& marker, platform::PopulatedPages& populated, std::uintptr_t begin,
                           std::uintptr_t end) {
  std::size_t scanned = 0;
  populated.for_each_run(begin, end, [&](std::uintptr_t b, std::uintptr_t e) {
    marker.scan_root(b, e);
    scanned += e - b;
  });
  return scanned;
}

void scan_run(Marker& marker, platform::PopulatedPages& populated, std::uintptr_t begin, std::uintptr_t end,
              RootStats* stats) {
  stats->mapping_bytes += scan_populated(marker, populated, begin, end);
}

// Scans [begin, end) page run by page run, skipping pages of dbgalloc spans and scratch.
void scan_foreign(Marker& marker, platform::PopulatedPages& populated, std::uintptr_t begin, std::uintptr_t end,
                  RootStats* stats) {
  const std::uintptr_t page = platform::page_size();
  std::uintptr_t run = begin;
  auto ours = [](std::uintptr_t address) {
    return pages::page_allocator().span_of(address) != nullptr || in_scratch(address);
  };
  std::uintptr_t at = begin;
  while (at < end) {
    std::uintptr_t next = page_down(at) + page;
    if (next > end) next = end;
    if (ours(at)) {
      if (run < at) scan_run(marker, populated, run, at, stats);
      run = next;
    }
    at = next;
  }
  if (run < end) scan_run(marker, populated, run, end, stats);
}

bool anonymous_name(std::string_view name) {
  return name.empty() || name == "[stack]" || name == "[heap]" || name.substr(0, 6) == "[anon:";
}

struct MapsPass {
  Marker& marker;
  platform::PopulatedPages& populated;
  ScratchArray<Range>& modules;
  ScratchArray<ThreadSp>& threads;
  std::uintptr_t stack_low;
  RootStats* stats;

  void line(std::string_view text) {
    std::size_t used = 0;
    std::uintptr_t begin = parse_hex(text, &used);
    if (used >= text.size() || text[used] != '-') return;
    text.remove_prefix(used + 1);
    std::uintptr_t end = parse_hex(text, &used);
    text.remove_prefix(used);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (text.size() < 4 || text[0] != 'r' || text[1] != 'w' || text[3] != 'p') return;
    // Skip perms, offset, device, inode to the path.
    for (int field = 0; field < 4; ++field) {
      std::size_t space = text.find(' ');
      if (space == std::string_view::npos) {
        text = {};
        break;
      }
      text.remove_prefix(space);
      while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    }
    if (!anonymous_name(text)) return;
    ++stats->mappings;
    subtract(begin, end, modules, [this](std::uintptr_t b, std::uintptr_t e) { piece(b, e); });
  }

  void piece(std::uintptr_t begin, std::uintptr_t end) {
    // A thread's stack: from its stack pointer up, when that is known.
    std::uintptr_t from = begin;
    bool has_sp = false;
    if (stack_low >= begin && stack_low < end) {
      from = stack_low;
      has_sp = true;
    }
    for (const ThreadSp& thread : threads) {
      if (thread.sp >= begin && thread.sp < end && (!has_sp || thread.sp < from)) {
        from = thread.sp;
        has_sp = true;
      }
    }
    scan_foreign(marker, populated, from, end, stats);
  }
};

// Reads the whole of /proc/self/maps first (scanning maps memory for the marker's
// stack, which would shift the file under a reader that is half-way through).
bool scan_maps(MapsPass& pass) {
  int fd = platform::open_for_reading("/proc/self/maps");
  if (fd < 0) return false;
  ScratchArray<char> text;
  std::size_t held = 0;
  for (;;) {
    if (!text.resize(held + 64 * 1024)) break;
    long n = platform::read_some(fd, text.data() + held, 64 * 1024);
    if (n <= 0) break;
    held += static_cast<std::size_t>(n);
    text.resize(held);
  }
  platform::close_file(fd);
  if (held == 0) return false;
  std::string_view all(text.data(), held);
  while (!all.empty()) {
    std::size_t newline = all.find('\n');
    std::string_view line = all.substr(0, newline);
    pass.line(line);
    if (newline == std::string_view::npos) break;
    all.remove_prefix(newline + 1);
  }
  return true;
}

}  // namespace

void plan_roots(RootPlan& plan, RootStats* stats) {
  ModuleWalk walk{&plan.writable, &plan.excluded, reinterpret_cast<std::uintptr_t>(&plan_roots)};
  platform::for_each_module(visit_module, &walk);
  // The quarantine ring holds (block, cost) pairs of quarantined blocks: left out by its
  // exact mapping, like the modules' segments.
  std::uintptr_t ring_begin = 0, ring_end = 0;
  if (debug::quarantine_mapping(&ring_begin, &ring_end)) {
    plan.excluded.push(Range{page_down(ring_begin), page_up(ring_end)});
    ++stats->quarantine_rings;
  }
  sort_and_merge(plan.excluded);
  plan.populated.open();
}

void scan_roots(Marker& marker, RootPlan& plan, std::uintptr_t stack_low, const platform::ThreadStop& stop,
                const RootRegion* regions, std::size_t region_count, ScratchArray<int>& tids, RootStats* stats,
                EnoughSoFar enough) {
  ScratchArray<ThreadSp> threads;
  ThreadList list{threads, tids, platform::thread_id(), stop};
  list_threads(list);
  stats->threads = threads.size() + 1;
  auto done = [&] {
    if (!enough.enough(enough.context, tids)) return false;
    stats->maps_needed = false;
    stats->unpopulated_bytes = plan.populated.skipped_bytes();
    return true;
  };
  if (done()) return;  // nothing this check could report

  for (const Range& range : plan.writable) {
    stats->module_bytes += scan_populated(marker, plan.populated, range.begin, range.end);
    ++stats->modules;
  }
  for (const ThreadSp& thread : threads) {
    if (thread.stopped) {
      ++stats->threads_stopped;
      continue;
    }
    stats->threads_blocked += thread.sp != 0;
    for (std::uintptr_t arg : thread.args) marker.root_value(arg);
  }
  for (std::size_t i = 0; i < stop.stopped_count(); ++i) {
    const platform::StoppedThread& slot = stop.stopped(i);
    if (__atomic_load_n(&slot.ready, __ATOMIC_ACQUIRE) == 0) continue;
    for (std::size_t r = 0; r < slot.register_count; ++r) marker.root_value(slot.registers[r]);
  }
  for (std::size_t i = 0; i < region_count; ++i) marker.scan_root(regions[i].begin, regions[i].end);
  marker.propagate();
  if (done()) return;

  MapsPass pass{marker, plan.populated, plan.excluded, threads, stack_low, stats};
  stats->maps_read = scan_maps(pass);
  if (!stats->maps_read) {
    // No /proc: at least the calling thread's stack.
    std::uintptr_t low = 0, high = 0;
    platform::InternalScope internal;  // pthread_getattr_np allocates for the main thread
    if (platform::thread_stack_bounds(&low, &high) && stack_low >= low && stack_low < high) {
      marker.scan_root(stack_low, high);
    }
  }
  stats->unpopulated_bytes = plan.populated.skipped_bytes();
}

}  // namespace dbgalloc::leaks
