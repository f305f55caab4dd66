#include "interpose/internal_heap.hpp"

#include <cstring>

#include <atomic>

#include "interpose/signal_heap.hpp"
#include "platform/lock.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::interpose::internal_heap {

namespace {

constexpr std::size_t kHeaderBytes = 16;
constexpr unsigned kSmallestShift = 5;   // 32-byte blocks
constexpr unsigned kLargestShift = 16;   // 64 KiB blocks
constexpr unsigned kClasses = kLargestShift - kSmallestShift + 1;
constexpr std::size_t kGrowBytes = std::size_t{256} << 10;
constexpr std::uint32_t kLiveMagic = 0x494e544c;  // "INTL"
constexpr std::uint32_t kFreeMagic = 0x46524545;  // "FREE"

struct Header {
  std::uint32_t magic;
  std::uint32_t size_class;
  std::uint64_t requested;
};
static_assert(sizeof(Header) == kHeaderBytes);

struct FreeBlock {
  Header header;
  FreeBlock* next;
};

// The range: written once, under the lock, before any block of it exists.
std::atomic<std::uintptr_t> range_begin{0};
std::atomic<std::uintptr_t> range_end{0};

constinit platform::Lock lock;
std::atomic<int> lock_owner{0};
// Under the lock.
std::uintptr_t carved = 0;    // first byte never handed out
std::uintptr_t writable = 0;  // first byte still PROT_NONE
bool reserve_failed = false;
FreeBlock* free_lists[kClasses];
std::size_t live = 0;

unsigned class_for(std::size_t total) {
  unsigned shift = kSmallestShift;
  while ((std::size_t{1} << shift) < total) ++shift;
  return shift - kSmallestShift;
}
std::size_t class_bytes(unsigned size_class) { return std::size_t{1} << (size_class + kSmallestShift); }

// Under the lock: the first call reserves the range.
bool reserve() {
  if (range_begin.load(std::memory_order_relaxed) != 0) return true;
  if (reserve_failed) return false;
  void* base = platform::map_inaccessible(kReservedBytes);
  if (base == nullptr) {
    reserve_failed = true;
    return false;
  }
  auto begin = reinterpret_cast<std::uintptr_t>(base);
  carved = writable = begin;
  range_end.store(begin + kReservedBytes, std::memory_order_relaxed);
  range_begin.store(begin, std::memory_order_release);
  return true;
}

// Under the lock: a block of the class from its free list or the range's front.
Header* take(unsigned size_class) {
  if (FreeBlock* block = free_lists[size_class]) {
    free_lists[size_class] = block->next;
    block->next = nullptr;
    return &block->header;
  }
  if (!reserve()) return nullptr;
  std::size_t bytes = class_bytes(size_class);
  std::uintptr_t end = range_end.load(std::memory_order_relaxed);
  if (end - carved < bytes) return nullptr;
  if (carved + bytes > writable) {
    std::size_t grow = (carved + bytes - writable + kGrowBytes - 1) / kGrowBytes * kGrowBytes;
    if (grow > end - writable) grow = end - writable;
    if (!platform::protect_read_write(reinterpret_cast<void*>(writable), grow)) return nullptr;
    writable += grow;
  }
  auto* header = reinterpret_cast<Header*>(carved);
  carved += bytes;
  return header;
}

// The lock, unless this thread holds it already (a signal handler that interrupted
// this heap on the same thread): then false, and the caller goes elsewhere.
bool acquire() {
  int self = platform::thread_id();
  if (lock_owner.load(std::memory_order_relaxed) == self) return false;
  lock.lock();
  lock_owner.store(self, std::memory_order_relaxed);
  return true;
}
void relinquish() {
  lock_owner.store(0, std::memory_order_relaxed);
  lock.unlock();
}

Header* header_of(const void* p) {
  return reinterpret_cast<Header*>(reinterpret_cast<std::uintptr_t>(p) - kHeaderBytes);
}

}  // namespace

void* allocate(std::size_t bytes, std::size_t alignment) {
  if (alignment <= kHeaderBytes && bytes <= class_bytes(kClasses - 1) - kHeaderBytes && acquire()) {
    unsigned size_class = class_for(bytes + kHeaderBytes);
    Header* header = take(size_class);
    if (header != nullptr) {
      *header = Header{kLiveMagic, size_class, bytes};
      ++live;
    }
    relinquish();
    if (header != nullptr) return reinterpret_cast<char*>(header) + kHeaderBytes;
  }
  // Fresh mappings read as zero, as this range's blocks do.
  return signal_heap::allocate(bytes, alignment, true);
}

bool owns(const void* p) {
  auto address = reinterpret_cast<std::uintptr_t>(p);
  std::uintptr_t begin = range_begin.load(std::memory_order_acquire);
  return begin != 0 && address > begin && address < range_end.load(std::memory_order_relaxed);
}

void release(void* p) {
  Header* header = header_of(p);
  // A pointer into the range that is not a live block of it (a double free, a wild
  // pointer): nothing dbgalloc itself would do, left alone.
  if ((reinterpret_cast<std::uintptr_t>(p) & (kHeaderBytes - 1)) != 0 || header->magic != kLiveMagic ||
      header->size_class >= kClasses)
    return;
  // Interrupted on this thread while holding the lock: the block stays allocated.
  if (!acquire()) return;
  unsigned size_class = header->size_class;
  std::memset(p, 0, class_bytes(size_class) - kHeaderBytes);
  auto* block = reinterpret_cast<FreeBlock*>(header);
  block->header = Header{kFreeMagic, size_class, 0};
  block->next = free_lists[size_class];
  free_lists[size_class] = block;
  --live;
  relinquish();
}

std::size_t usable_size(const void* p) {
  const Header* header = header_of(p);
  return header->magic == kLiveMagic ? header->requested : 0;
}

void lock_for_fork() { lock.lock(); }
void unlock_after_fork() { lock.unlock(); }
void reset_after_fork() {
  lock_owner.store(0, std::memory_order_relaxed);
  lock.reset();
}

Stats stats() {
  platform::LockGuard guard(lock);
  return Stats{live, writable - range_begin.load(std::memory_order_relaxed)};
}

}  // namespace dbgalloc::interpose::internal_heap
