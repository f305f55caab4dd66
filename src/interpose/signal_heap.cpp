#include "interpose/signal_heap.hpp"

#include <cstring>

#include <atomic>

#include "platform/platform.hpp"
#include "platform/reentry.hpp"

namespace dbgalloc::interpose::signal_heap {

namespace {

struct Header {
  std::uintptr_t base;    // the mapping
  std::size_t length;     // its length
  std::size_t size;       // requested bytes
  std::uint64_t magic;
};
constexpr std::uint64_t kMagic = 0x5349474e48454150ull;  // "SIGNHEAP"

// Live blocks: slots CASed from 0 to the user address and back. Lookups happen only
// while live_count > 0.
constexpr std::size_t kSlots = 4096;
std::atomic<std::uintptr_t> slots[kSlots];
std::atomic<std::size_t> live_count{0};
std::atomic<std::uint64_t> served_count{0};

constexpr std::size_t kDeferred = 64;  // in static TLS: kept small
struct Deferred {
  void* p;
  debug::Kind kind;
  bool aligned;
  std::size_t sized;
};
// Its depth and count are tls_depth and tls_deferred_count (signal_heap.hpp).
thread_local Deferred tls_deferred[kDeferred] __attribute__((tls_model("initial-exec")));

}  // namespace

void finish_outermost() {
  while (tls_deferred_count > 0) {
    // Taken one at a time: a signal meanwhile may defer more.
    Deferred d = tls_deferred[--tls_deferred_count];
    ++tls_depth;
    debug::deallocate(d.p, d.kind, d.sized, d.aligned, 0);
    --tls_depth;
  }
}

bool defer_free(void* p, debug::Kind kind, std::size_t sized, bool aligned) {
  if (tls_deferred_count == kDeferred) return false;
  tls_deferred[tls_deferred_count] = Deferred{p, kind, aligned, sized};
  // Counted only once written: a signal in between must not see a half-made entry.
  asm volatile("" ::: "memory");
  ++tls_deferred_count;
  return true;
}

void* allocate(std::size_t bytes, std::size_t alignment, bool zero) {
  (void)zero;  // fresh mappings read as zero
  const std::size_t page = platform::page_size();
  if (alignment < 16) alignment = 16;
  if (bytes > (std::size_t{1} << 40) || alignment > (std::size_t{1} << 30)) return nullptr;
  std::size_t offset = sizeof(Header) > alignment ? (sizeof(Header) + alignment - 1) & ~(alignment - 1) : alignment;
  std::size_t length = (offset + bytes + (alignment > page ? alignment : 0) + page - 1) & ~(page - 1);
  void* mapping = platform::map(length);
  if (mapping == nullptr) return nullptr;
  auto base = reinterpret_cast<std::uintptr_t>(mapping);
  std::uintptr_t user = (base + offset + alignment - 1) & ~(alignment - 1);
  if (user - base < sizeof(Header)) user += alignment;
  for (std::size_t i = 0; i < kSlots; ++i) {
    std::uintptr_t expected = 0;
    if (slots[i].compare_exchange_strong(expected, user)) {
      auto* header = reinterpret_cast<Header*>(user - sizeof(Header));
      *header = Header{base, length, bytes, kMagic};
      live_count.fetch_add(1);
      served_count.fetch_add(1, std::memory_order_relaxed);
      return reinterpret_cast<void*>(user);
    }
  }
  platform::unmap(mapping, length);
  return nullptr;
}

bool owns(const void* p) {
  if (live_count.load(std::memory_order_acquire) == 0 || p == nullptr) return false;
  auto user = reinterpret_cast<std::uintptr_t>(p);
  for (std::size_t i = 0; i < kSlots; ++i) {
    if (slots[i].load(std::memory_order_acquire) == user) return true;
  }
  return false;
}

void release(void* p) {
  auto user = reinterpret_cast<std::uintptr_t>(p);
  for (std::size_t i = 0; i < kSlots; ++i) {
    std::uintptr_t expected = user;
    if (slots[i].compare_exchange_strong(expected, 0)) {
      const auto* header = reinterpret_cast<const Header*>(user - sizeof(Header));
      Header copy = *header;
      live_count.fetch_sub(1);
      if (copy.magic == kMagic) platform::unmap(reinterpret_cast<void*>(copy.base), copy.length);
      return;
    }
  }
}

std::size_t usable_size(const void* p) {
  return reinterpret_cast<const Header*>(reinterpret_cast<std::uintptr_t>(p) - sizeof(Header))->size;
}

std::uint64_t served() { return served_count.load(std::memory_order_relaxed); }

}  // namespace dbgalloc::interpose::signal_heap
