// ThreadCache: attaching a cache to a thread, its registry, and its end (thread exit,
// fork). The hot paths (take, put) are inline in thread_cache.hpp.
#include "heap/thread_cache.hpp"

#include <cstring>
#include <new>

#include "heap/arenas.hpp"
#include "pages/pages.hpp"
#include "platform/lock.hpp"
#include "platform/platform.hpp"
#include "platform/reentry.hpp"

namespace dbgalloc::heap {

constinit thread_local ThreadCache* ThreadCache::tls_current __attribute__((tls_model("initial-exec"))) = nullptr;

namespace {
// Set while the thread must not cache: attaching (pthread_setspecific may allocate),
// exiting and after, or turned off.
constinit thread_local bool tls_no_cache __attribute__((tls_model("initial-exec"))) = false;

// Guarded by the registry's lock.
std::uint64_t retired_hits = 0;
std::uint64_t retired_puts = 0;
std::uintptr_t retired_damaged = 0;
}  // namespace

constinit platform::ThreadRegistry ThreadCache::registry_{on_thread_exit};

ThreadCache* ThreadCache::attach() {
  if (tls_no_cache) return nullptr;
  tls_no_cache = true;
  // The key table's second level, allocated while attaching, is served by the arenas'
  // locked path (tls_no_cache is set).
  auto prepare = [](platform::ThreadRecord* record, bool) { new (static_cast<void*>(record)) ThreadCache(); };
  platform::ThreadRecord* attached = nullptr;
  std::size_t bytes = pages::round_up(sizeof(ThreadCache), platform::page_size());
  if (registry_.attach(bytes, prepare, &attached) != platform::ThreadRegistry::Attach::attached) {
    return nullptr;  // this thread does without (tls_no_cache stays set)
  }
  tls_current = static_cast<ThreadCache*>(attached);
  tls_no_cache = false;
  return tls_current;
}

void ThreadCache::retire_locked() {
  retired_hits += hits_;
  retired_puts += puts_;
  if (retired_damaged == 0) retired_damaged = damaged_;
  registry_.park_locked(this);
}

// Unlinks an emptied cache from the registry and parks it for the next thread.
void ThreadCache::detach() {
  platform::LockGuard guard(registry_.lock());
  retire_locked();
}

void ThreadCache::on_thread_exit(void* pointer) {
  auto* cache = static_cast<ThreadCache*>(pointer);
  // Frees made by destructors that run after this one take the locked path.
  tls_no_cache = true;
  tls_current = nullptr;
  arenas().flush_cache(*cache);
  cache->detach();
}

void ThreadCache::reset_for_thread(bool enabled) {
  ThreadCache* cache = tls_current;
  tls_no_cache = true;
  if (cache != nullptr) {
    tls_current = nullptr;
    arenas().flush_cache(*cache);
    cache->detach();
    registry_.clear_exit_hook();
  }
  tls_no_cache = !enabled;
}

void ThreadCache::reclaim_other_threads() {
  platform::LockGuard guard(registry_.lock());
  platform::ThreadRecord* record = registry_.registered_locked();
  while (record != nullptr) {
    platform::ThreadRecord* next = record->registry_next;
    auto* cache = static_cast<ThreadCache*>(record);
    if (cache != tls_current) {
      arenas().flush_cache(*cache);
      cache->retire_locked();
    }
    record = next;
  }
}

void ThreadCache::lock_registry() { registry_.lock().lock(); }
void ThreadCache::unlock_registry() { registry_.lock().unlock(); }
void ThreadCache::reset_registry_lock_after_fork() { registry_.lock().reset(); }

ThreadCache::Totals ThreadCache::totals_locked() {
  Totals totals;
  totals.hits = retired_hits;
  totals.puts = retired_puts;
  totals.damaged = retired_damaged;
  for (platform::ThreadRecord* record = registry_.registered_locked(); record != nullptr; record = record->registry_next) {
    auto* cache = static_cast<const ThreadCache*>(record);
    totals.chunks += cache->chunks();
    totals.bytes += cache->bytes();
    totals.hits += cache->hits();
    totals.puts += cache->puts();
    if (totals.damaged == 0) totals.damaged = cache->damaged();
  }
  return totals;
}

std::size_t ThreadCache::chunks() const {
  std::size_t total = 0;
  for (std::size_t size_class = 0; size_class < kClasses; ++size_class)
    total += __atomic_load_n(&count_[size_class], __ATOMIC_RELAXED);
  return total;
}

void ThreadCache::note_damaged(std::uintptr_t address) {
  if (damaged_ == 0) store(damaged_, address);
}

std::size_t ThreadCache::remove(std::size_t size_class, std::size_t keep, Heap::Chunk** out) {
  std::size_t n = count_[size_class];
  if (n <= keep) return 0;
  std::size_t taken = n - keep;
  std::memcpy(out, slots_[size_class], taken * sizeof(Heap::Chunk*));
  std::memmove(slots_[size_class], slots_[size_class] + taken, keep * sizeof(Heap::Chunk*));
  count_[size_class] = static_cast<std::uint8_t>(keep);
  store(bytes_, bytes_ - taken * chunk_size_of(size_class));
  return taken;
}

const char* ThreadCache::verify(std::uintptr_t* address) const {
  std::size_t total = 0;
  for (std::size_t size_class = 0; size_class < kClasses; ++size_class) {
    std::size_t size = chunk_size_of(size_class);
    if (count_[size_class] > kSlots) {
      *address = reinterpret_cast<std::uintptr_t>(this);
      return "thread cache count out of range";
    }
    for (std::size_t i = 0; i < count_[size_class]; ++i) {
      Heap::Chunk* chunk = slots_[size_class][i];
      *address = chunk->address();
      pages::Span* span = pages::page_allocator().span_of(chunk->address());
      if (span == nullptr || span->kind != pages::SpanKind::heap_segment ||
          chunk->address() < chunk_layout::first_chunk_address(span) || (chunk->address() & (Heap::kAlignment - 1)) != 0 ||
          chunk->address() + size > chunk_layout::fence_address(span))
        return "thread cache entry outside the heap's segments";
      if (!chunk->head_intact() || (chunk->head_relaxed() & kHeadBits) != (size | chunk_layout::kCInUse))
        return "cached chunk header overwritten";
      if (!chunk->cached()) return "cached chunk lost its cache mark";
      for (std::size_t j = 0; j < i; ++j) {
        if (slots_[size_class][j] == chunk) return "chunk cached twice";
      }
      total += size;
    }
  }
  *address = reinterpret_cast<std::uintptr_t>(this);
  if (total != bytes_) return "thread cache byte count disagrees with its entries";
  return nullptr;
}

}  // namespace dbgalloc::heap
