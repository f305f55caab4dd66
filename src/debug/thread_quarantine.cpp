// Per-thread quarantine batches: see thread_quarantine.hpp.
#include "debug/thread_quarantine.hpp"

#include <atomic>
#include <cstring>
#include <new>

#include "platform/lock.hpp"
#include "platform/platform.hpp"
#include "platform/reentry.hpp"
#include "platform/thread_registry.hpp"

namespace dbgalloc::debug {

namespace {

struct Record : platform::ThreadRecord {
  Quarantine::Batch batch;
};

constinit thread_local Record* tls_record __attribute__((tls_model("initial-exec"))) = nullptr;
// Set while the thread must not park: attaching (pthread_setspecific may allocate),
// exiting and after.
constinit thread_local bool tls_no_batch __attribute__((tls_model("initial-exec"))) = false;

// 0: batches off. Written by configure() only.
std::size_t limit_entries = 0;
std::size_t limit_bytes = 0;
std::size_t largest_entry = 0;  // the FIFO's byte budget: larger blocks are never held
ThreadQuarantine::Flush flush_batch = nullptr;

void on_thread_exit(void* pointer);
constinit platform::ThreadRegistry registry{on_thread_exit};

// Empties the batch through the allocator, then clears the entries it held.
void flush(Quarantine::Batch& batch) {
  std::size_t held = batch.count;
  if (held == 0) return;
  flush_batch(batch);
  std::memset(batch.entries, 0, held * sizeof(Quarantine::Entry));
}

void on_thread_exit(void* pointer) {
  auto* record = static_cast<Record*>(pointer);
  // Frees made by destructors that run after this one go to the FIFO directly.
  tls_no_batch = true;
  tls_record = nullptr;
  flush(record->batch);
  registry.park(record);
}

Record* attach() {
  if (tls_no_batch || limit_entries == 0) return nullptr;
  tls_no_batch = true;
  platform::ThreadRecord* attached = nullptr;
  auto prepare = [](platform::ThreadRecord* record, bool fresh) {
    Record* mine = fresh ? new (static_cast<void*>(record)) Record{} : static_cast<Record*>(record);
    mine->batch.count = 0;
    mine->batch.bytes = 0;
  };
  switch (registry.attach(sizeof(Record), prepare, &attached)) {
    case platform::ThreadRegistry::Attach::attached: break;
    case platform::ThreadRegistry::Attach::no_memory: tls_no_batch = false; return nullptr;  // again at a later free
    default: return nullptr;  // tls_no_batch stays set
  }
  auto* record = static_cast<Record*>(attached);
  tls_record = record;
  tls_no_batch = false;
  return record;
}

}  // namespace

void ThreadQuarantine::configure(std::size_t max_bytes, std::size_t max_blocks, Flush flush) {
  std::size_t entries = max_blocks / kShare;
  if (entries > Quarantine::kBatchEntries) entries = Quarantine::kBatchEntries;
  std::size_t bytes = max_bytes / kShare;
  bool on = entries >= 2 && bytes > 0;
  flush_batch = flush;
  limit_entries = on ? entries : 0;
  limit_bytes = on ? bytes : 0;
  largest_entry = max_bytes;
}

bool ThreadQuarantine::park(Quarantine::Entry entry) {
  // Larger blocks too are parked (then flushed at once), so a thread's frees reach the
  // FIFO in the order they were made.
  if (limit_entries == 0 || entry.bytes > largest_entry) return false;
  Record* record = tls_record;
  if (__builtin_expect(record == nullptr, 0)) {
    record = attach();
    if (record == nullptr) return false;
  }
  Quarantine::Batch& batch = record->batch;
  std::size_t count = batch.count;
  batch.entries[count] = entry;
  batch.bytes += entry.bytes;
  // The entry is written before it is counted: a forked child (or a stats reader) never
  // counts an entry not yet there.
  std::atomic_signal_fence(std::memory_order_release);
  __atomic_store_n(&batch.count, count + 1, __ATOMIC_RELAXED);
  if (count + 1 >= limit_entries || batch.bytes >= limit_bytes) flush(batch);
  return true;
}

void ThreadQuarantine::flush_mine() {
  if (Record* record = tls_record) flush(record->batch);
}

ThreadQuarantine::Totals ThreadQuarantine::totals() {
  Totals totals;
  platform::LockGuard guard(registry.lock());
  for (platform::ThreadRecord* link = registry.registered_locked(); link != nullptr; link = link->registry_next) {
    auto* record = static_cast<Record*>(link);
    totals.blocks += __atomic_load_n(&record->batch.count, __ATOMIC_RELAXED);
    totals.bytes += __atomic_load_n(&record->batch.bytes, __ATOMIC_RELAXED);
  }
  return totals;
}

void ThreadQuarantine::lock_registry() { registry.lock().lock(); }
void ThreadQuarantine::unlock_registry() { registry.lock().unlock(); }

void ThreadQuarantine::reset_after_fork() {
  registry.lock().reset();
  platform::LockGuard guard(registry.lock());
  platform::ThreadRecord* link = registry.registered_locked();
  while (link != nullptr) {
    platform::ThreadRecord* next = link->registry_next;
    auto* record = static_cast<Record*>(link);
    if (record != tls_record) {
      flush(record->batch);
      registry.park_locked(record);
    }
    link = next;
  }
}

}  // namespace dbgalloc::debug
