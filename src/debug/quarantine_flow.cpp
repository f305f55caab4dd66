// The quarantine's flow: a freed block parked in its thread's batch or pushed to the
// FIFO, and each block that leaves it checked for writes after free and released.
#include <iterator>

#include "debug/block.hpp"
#include "debug/block_facts.hpp"
#include "debug/internal.hpp"
#include "debug/quarantine.hpp"
#include "debug/thread_quarantine.hpp"
#include "heap/heap.hpp"
#include "platform/platform.hpp"
#include "report/report.hpp"

namespace dbgalloc::debug {

namespace {

constinit Quarantine fifo;
constexpr std::size_t kEvictBatch = 16;

constexpr std::size_t kMappingCost = 64 * 1024;

// What holding the block costs in memory: the whole heap chunk, so the quarantine's
// byte budget bounds the memory it really keeps. A guard span keeps its pages
// (PROT_NONE); a slab slot's pages are guard pages, their contents gone: what stays is
// its record and, per page, its page-map entry and page-table entry.
std::size_t quarantine_cost(const Located& block) {
  if (block.guard != nullptr && block.guard->span != nullptr) return block.guard->span->map_size();
  if (block.guard != nullptr) {
    std::size_t cost = sizeof(GuardRecord) + 16 * (block.guard->size() / platform::page_size() + 1);
    // A one-slot slab is a mapping of its own: the budget also bounds how many it holds.
    if (block.guard->slab->capacity == 1 && cost < kMappingCost) cost = kMappingCost;
    return cost;
  }
  return heap::Heap::kHeaderSize + prefix_for(block.header->alignment()) + block.header->size() +
         block.header->right_canary();
}

// A block leaving the quarantine: anything written to it since its free is a write
// after free.
void leave_quarantine(std::uintptr_t user) {
  Located block;
  if (locate(user, &block) != Lookup::ok) return;  // reported when it was damaged
  if (block.guard == nullptr) {
    std::uintptr_t filled_end = user + internal::filled_bytes(block.header->size());
    std::uintptr_t changed = first_not_filled(user, filled_end, internal::free_fill());
    if (changed != 0) report::heap_use_after_free_write(facts_of(*block.header, user), changed, "quarantine eviction");
    std::uintptr_t bad = internal::damaged_canary(block);
    if (bad != 0)
      report::heap_buffer_overflow(facts_of(*block.header, user), bad, "quarantine eviction", block.header->free_stack);
  }
  internal::release_block(block);
}

// Evicted blocks were last touched a quarantine ago: their headers, fill and canaries
// are cold. Fetching a batch's lines up front overlaps those misses (a prefetch never
// faults, so a guard block's protected page is harmless).
void prefetch_block(const Quarantine::Entry& entry) {
  __builtin_prefetch(reinterpret_cast<const void*>(entry.user - kPrefix));
  __builtin_prefetch(reinterpret_cast<const void*>(entry.user));
  __builtin_prefetch(reinterpret_cast<const void*>(entry.user + entry.bytes - kPrefix - 2 * heap::Heap::kHeaderSize));
}

// Prefetches a few blocks ahead of the one being checked, so their misses overlap.
constexpr std::size_t kPrefetchAhead = 8;

void process_evicted(const Quarantine::Entry* entries, std::size_t count) {
  for (std::size_t i = 0; i < count && i < kPrefetchAhead; ++i) prefetch_block(entries[i]);
  for (std::size_t i = 0; i < count; ++i) {
    if (i + kPrefetchAhead < count) prefetch_block(entries[i + kPrefetchAhead]);
    leave_quarantine(entries[i].user);
  }
}

// Takes whatever else is due out of the FIFO, a buffer at a time.
void evict_rest(Quarantine::Entry* buffer, std::size_t size) {
  std::size_t count;
  do {
    count = fifo.evict(buffer, size, false);
    process_evicted(buffer, count);
  } while (count == size);
}

// A thread's full batch (thread_quarantine.hpp) into the FIFO, then what fell out.
void flush_batch(Quarantine::Batch& batch) {
  Quarantine::Entry evicted[Quarantine::kBatchEntries + kEvictBatch];
  std::size_t count = 0;
  if (!fifo.push_batch(batch, evicted, std::size(evicted), &count)) {
    // The FIFO cannot hold blocks (its ring could not be mapped): release them now.
    for (std::size_t i = 0; i < batch.count; ++i) {
      Located block;
      if (locate(batch.entries[i].user, &block) == Lookup::ok) internal::release_block(block);
    }
    batch.count = 0;
    batch.bytes = 0;
    return;
  }
  process_evicted(evicted, count);
  if (count == std::size(evicted)) evict_rest(evicted, std::size(evicted));
}

}  // namespace

namespace internal {

Quarantine& quarantine() { return fifo; }

void configure_quarantine(std::size_t max_bytes, std::size_t max_blocks) {
  fifo.configure(max_bytes, max_blocks);
  ThreadQuarantine::configure(max_bytes, max_blocks, flush_batch);
}

void quarantine_or_release(const Located& block, const char* operation, std::uintptr_t caller) {
  Quarantine::Entry entry{block.user, quarantine_cost(block)};
  if (ThreadQuarantine::park(entry)) return;
  Quarantine::Entry evicted[kEvictBatch];
  std::size_t count = 0;
  if (!fifo.push(entry, evicted, kEvictBatch, &count)) {
    internal::release_block(block, operation, caller);
    return;
  }
  process_evicted(evicted, count);
  if (count == kEvictBatch) evict_rest(evicted, kEvictBatch);
}

}  // namespace internal

bool quarantine_mapping(std::uintptr_t* begin, std::uintptr_t* end) { return fifo.mapping(begin, end); }

void purge_quarantine() {
  ThreadQuarantine::flush_mine();
  Quarantine::Entry evicted[kEvictBatch];
  std::size_t count;
  while ((count = fifo.evict(evicted, kEvictBatch, true)) > 0) process_evicted(evicted, count);
}

}  // namespace dbgalloc::debug
