#include "interpose/statistics.hpp"

#include <malloc.h>

#include <cstdint>

#include "dbgalloc/dbgalloc.h"
#include "debug/allocator.hpp"
#include "heap/arenas.hpp"
#include "interpose/signal_heap.hpp"
#include "pages/pages.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"
#include "report/report.hpp"
#include "stacks/cached_cfi_unwinder.hpp"
#include "stacks/stacks.hpp"

namespace dbgalloc::interpose::statistics {

std::size_t allocated_bytes() { return heap::arenas().stats().heap.in_use_bytes + debug::stats().guard_bytes; }

std::size_t mapped_bytes() { return pages::page_allocator().stats().mapped_bytes; }

std::size_t free_bytes() { return heap::arenas().stats().heap.free_bytes; }

void fill(struct dbgalloc_stats* out) {
  heap::ArenaStats stats = heap::arenas().stats();
  out->allocations = stats.allocations;
  out->frees = stats.frees;
  out->live_blocks = stats.heap.live_chunks;
  out->in_use_bytes = stats.heap.in_use_bytes;
  out->mapped_bytes = stats.heap.mapped_bytes;
  out->errors = report::error_count();
}

void fill(struct mallinfo2* out) {
  heap::ArenaStats stats = heap::arenas().stats();
  out->arena = stats.heap.mapped_bytes;
  out->ordblks = stats.heap.free_chunks;
  out->hblks = stats.heap.direct_blocks;
  out->uordblks = stats.heap.in_use_bytes;
  out->fordblks = stats.heap.free_bytes;
}

void print() {
  heap::ArenaStats stats = heap::arenas().stats();
  pages::PageStats page_stats = pages::page_allocator().stats();
  debug::DebugStats debug_stats = debug::stats();
  platform::StackText<512> out;
  out.text("dbgalloc: pid ").dec(static_cast<std::uint64_t>(platform::process_id())).text(": ")
      .dec(stats.allocations).text(" allocations, ").dec(stats.frees).text(" frees, ")
      .dec(stats.heap.live_chunks).text(" blocks live (").bytes(stats.heap.in_use_bytes).text("), peak ")
      .bytes(stats.heap.peak_in_use_bytes).text(" in use, ").bytes(page_stats.peak_mapped_bytes)
      .text(" mapped at peak, ").dec(debug_stats.quarantined_blocks).text(" blocks (")
      .bytes(debug_stats.quarantined_bytes).text(") in quarantine, ").dec(debug_stats.guard_blocks).text(" guard blocks (").dec(debug_stats.guard_fallbacks)
      .text(" fallbacks to canaries, ").dec(debug_stats.guard_slabs).text(" slabs), ").dec(report::error_count())
      .text(" errors\n");
  stacks::DepotStats depot = stacks::depot_stats();
  stacks::cached_cfi_unwinder::Stats unwinder = stacks::cached_cfi_unwinder::stats();
  out.text("dbgalloc: stacks: ").dec(depot.stacks_stored).text(" distinct (").bytes(depot.bytes_used).text("), ")
      .dec(depot.dropped).text(" dropped; unwinder: ").dec(unwinder.rules_cached).text(" rules cached, ")
      .dec(unwinder.fallbacks).text(" slow-path captures\n");
  if (std::uint64_t nested = signal_heap::served(); nested > 0) {
    out.text("dbgalloc: ").dec(nested)
        .text(" allocations by signal handlers that interrupted the allocator, served from the signal heap\n");
  }
  out.flush();
}

}  // namespace dbgalloc::interpose::statistics
