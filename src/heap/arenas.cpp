#include "heap/arenas.hpp"

#include <errno.h>

#include <atomic>
#include <cstring>

namespace dbgalloc::heap {

namespace {
constinit Arenas global_arenas;
std::atomic<unsigned> next_arena{0};
thread_local int tls_arena __attribute__((tls_model("initial-exec"))) = -1;
}  // namespace

Arenas& arenas() { return global_arenas; }

void Arenas::set_count(std::size_t count) {
  count_ = count < 1 ? 1 : (count > kMaxArenas ? kMaxArenas : count);
}

Arenas::Arena& Arenas::mine() {
  int index = tls_arena;
  if (index < 0) {
    index = static_cast<int>(next_arena.fetch_add(1, std::memory_order_relaxed) % count_);
    tls_arena = index;
  }
  return arenas_[static_cast<std::size_t>(index) % count_];
}

Arenas::Arena* Arenas::owner_of(const void* p) {
  pages::Span* span = pages::page_allocator().span_of(p);
  if (span == nullptr) return nullptr;
  // The owner is one of our arenas' heaps exactly when it points into arenas_.
  auto owner = reinterpret_cast<std::uintptr_t>(span->owner);
  auto first = reinterpret_cast<std::uintptr_t>(&arenas_[0]);
  if (owner < first || owner >= first + sizeof arenas_) return nullptr;
  Arena* arena = &arenas_[(owner - first) / sizeof(Arena)];
  return span->owner == &arena->heap ? arena : nullptr;
}

namespace {
void finish(Heap& heap, void* p, std::size_t* usable, const Arenas::Initializer& initializer) {
  if (usable == nullptr && initializer.init == nullptr) return;
  std::size_t size = heap.usable_size(p);
  if (usable != nullptr) *usable = size;
  if (initializer.init != nullptr) initializer.init(p, size, initializer.context);
}
}  // namespace

void* Arenas::allocate(std::size_t bytes, std::size_t* usable, Initializer initializer) {
  Arena& arena = mine();
  platform::LockGuard guard(arena.lock);
  void* p = arena.heap.allocate(bytes);
  if (p != nullptr) {
    ++arena.allocations;
    finish(arena.heap, p, usable, initializer);
  }
  return p;
}

void* Arenas::allocate_aligned(std::size_t alignment, std::size_t bytes, std::size_t* usable,
                               Initializer initializer) {
  Arena& arena = mine();
  platform::LockGuard guard(arena.lock);
  void* p = arena.heap.allocate_aligned(alignment, bytes);
  if (p != nullptr) {
    ++arena.allocations;
    finish(arena.heap, p, usable, initializer);
  }
  return p;
}

void Arenas::walk_live(Heap::Visitor visit, void* context) {
  for (Arena& arena : arenas_) {
    platform::LockGuard guard(arena.lock);
    arena.heap.walk_live(visit, context);
  }
}

void* Arenas::find_live_block_containing(const void* address) {
  Arena* arena = owner_of(address);
  if (arena == nullptr) return nullptr;
  platform::LockGuard guard(arena->lock);
  return arena->heap.find_live_block_containing(reinterpret_cast<std::uintptr_t>(address));
}

bool Arenas::deallocate(void* p) {
  Arena* arena = owner_of(p);
  if (arena == nullptr) return false;
  platform::LockGuard guard(arena->lock);
  if (!arena->heap.owns_live_block(p)) return false;
  arena->heap.deallocate(p);
  ++arena->frees;
  return true;
}

void* Arenas::reallocate(void* p, std::size_t bytes, bool* invalid) {
  *invalid = false;
  Arena* arena = owner_of(p);
  if (arena == nullptr) {
    *invalid = true;
    return nullptr;
  }
  std::size_t old_size = 0;
  {
    platform::LockGuard guard(arena->lock);
    if (!arena->heap.owns_live_block(p)) {
      *invalid = true;
      return nullptr;
    }
    if (arena->heap.resize_in_place(p, bytes)) return p;
    old_size = arena->heap.usable_size(p);
  }
  // Moving: allocate from this thread's arena, then free into the owner's.
  void* moved = allocate(bytes);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, p, old_size < bytes ? old_size : bytes);
  deallocate(p);
  return moved;
}

std::size_t Arenas::usable_size(const void* p) {
  Arena* arena = owner_of(p);
  if (arena == nullptr) return 0;
  platform::LockGuard guard(arena->lock);
  return arena->heap.owns_live_block(p) ? arena->heap.usable_size(p) : 0;
}

bool Arenas::owns_live_block(const void* p) {
  Arena* arena = owner_of(p);
  if (arena == nullptr) return false;
  platform::LockGuard guard(arena->lock);
  return arena->heap.owns_live_block(p);
}

CheckResult Arenas::check() {
  for (Arena& arena : arenas_) {
    platform::LockGuard guard(arena.lock);
    CheckResult result = arena.heap.check();
    if (!result.ok) return result;
  }
  return CheckResult{};
}

ArenaStats Arenas::stats() {
  ArenaStats total;
  for (Arena& arena : arenas_) {
    platform::LockGuard guard(arena.lock);
    HeapStats s = arena.heap.stats();
    total.heap.in_use_bytes += s.in_use_bytes;
    total.heap.peak_in_use_bytes += s.peak_in_use_bytes;
    total.heap.mapped_bytes += s.mapped_bytes;
    total.heap.live_chunks += s.live_chunks;
    total.heap.segments += s.segments;
    total.heap.direct_blocks += s.direct_blocks;
    total.heap.free_chunks += s.free_chunks;
    total.heap.free_bytes += s.free_bytes;
    total.allocations += arena.allocations;
    total.frees += arena.frees;
  }
  return total;
}

std::size_t Arenas::trim() {
  std::size_t released = 0;
  for (Arena& arena : arenas_) {
    platform::LockGuard guard(arena.lock);
    released += arena.heap.trim();
  }
  return released;
}

void Arenas::lock_all() {
  for (Arena& arena : arenas_) arena.lock.lock();
  pages::page_allocator().lock();
}

void Arenas::unlock_all() {
  pages::page_allocator().unlock();
  for (Arena& arena : arenas_) arena.lock.unlock();
}

void Arenas::reset_locks_after_fork() {
  pages::page_allocator().reset_lock_after_fork();
  for (Arena& arena : arenas_) arena.lock.reset();
}

}  // namespace dbgalloc::heap
