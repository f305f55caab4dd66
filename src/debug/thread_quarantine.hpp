// Per-thread quarantine batches: a free parks its block in the calling thread's batch
// with no lock; a full batch goes into the shared FIFO (quarantine.hpp) with one lock
// acquisition, and what falls out of the budget comes back to that thread in a batch.
// Threads freeing at once no longer queue on the FIFO's lock at every free.
//
// A block is quarantined (filled, its header so marked) before it is parked, so a
// parked block is reported as freed exactly as a block in the FIFO is; it only reaches
// the FIFO later, and so stays quarantined for the whole budget after that.
//
// Limits: a batch is flushed once it holds Quarantine::kBatchEntries blocks, 1/kShare of
// the count budget or 1/kShare of the byte budget (budgets too small for a batch of two
// turn batches off), so N threads may pin about N/kShare of the budget more than the
// budget. A batch is flushed when full, when its thread exits (a pthread key
// destructor), by purge_quarantine() for the calling thread, and in a forked child for
// the threads that did not survive.
//
// Lifetime: as the heap's thread caches: each batch is a mapping of its own (never the
// tracked heap) registered in a list, parked at thread exit for the next thread. Its
// entries are zeroed once flushed, so the leak scanner never takes a stale entry for a
// pointer to a reused block.
#pragma once

#include <cstddef>

#include "debug/quarantine.hpp"

namespace dbgalloc::debug {

class ThreadQuarantine {
 public:
  static constexpr std::size_t kShare = 256;
  // Moves a full batch into the shared FIFO and handles what it evicts (the debug
  // allocator's, set once by configure()).
  using Flush = void (*)(Quarantine::Batch& batch);

  // Sets the batch limits from the budgets; batches off when they are too small.
  static void configure(std::size_t max_bytes, std::size_t max_blocks, Flush flush);

  // Parks entry in the calling thread's batch (flushing it when it fills); false when
  // the thread has no batch or the block is larger than the whole byte budget: the
  // caller pushes it to the FIFO itself.
  static bool park(Quarantine::Entry entry);
  // Flushes the calling thread's batch (purge_quarantine).
  static void flush_mine();

  struct Totals {
    std::size_t blocks = 0;
    std::size_t bytes = 0;
  };
  // Parked in every thread's batch (read without their threads' agreement: a figure).
  static Totals totals();

  static void lock_registry();
  static void unlock_registry();
  // A forked child, after its locks are reset: flushes the batches of the threads that
  // did not survive.
  static void reset_after_fork();
};

}  // namespace dbgalloc::debug
