// StackDepot: see stack_depot.hpp for the layout and the lock-free insert protocol.
#include "stacks/stack_depot.hpp"

#include <cstring>

#include "platform/platform.hpp"

namespace dbgalloc::stacks {

namespace {
constexpr std::size_t kRecordHeader = 16;

std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}
}  // namespace

std::uint64_t StackDepot::hash_frames(const std::uintptr_t* frames, std::size_t count) {
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ count;
  for (std::size_t i = 0; i < count; ++i) {
    h ^= frames[i];
    h *= 0x100000001b3ull;
    h = (h << 29) | (h >> 35);
  }
  return mix(h);
}

// `base` points at the slot table; the salt sits just before it.
std::uint32_t StackDepot::seal_for(const char* base, std::uint64_t offset) {
  std::uint64_t salt = 0;
  std::memcpy(&salt, base - kSaltBytes, sizeof salt);
  return static_cast<std::uint32_t>(mix(offset ^ salt) >> 32);
}

char* StackDepot::storage() {
  char* base = base_.load(std::memory_order_acquire);
  if (base != nullptr || map_failed_.load(std::memory_order_relaxed)) return base;
  char* mapping = static_cast<char*>(platform::map(mapping_bytes()));
  if (mapping == nullptr) {
    map_failed_.store(true, std::memory_order_relaxed);
    return nullptr;
  }
  std::uint64_t salt = platform::random_u64();
  std::memcpy(mapping, &salt, sizeof salt);
  char* fresh = mapping + kSaltBytes;
  char* expected = nullptr;
  if (base_.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) return fresh;
  // Another thread mapped first; its mapping is the depot.
  platform::unmap(mapping, mapping_bytes());
  return expected;
}

StackId StackDepot::allocate_record(std::uint64_t hash, const std::uintptr_t* frames,
                                    std::size_t count) {
  std::size_t bytes = kRecordHeader + count * sizeof(std::uintptr_t);
  std::uint64_t offset = arena_used_.fetch_add(bytes, std::memory_order_relaxed);
  if (offset + bytes > arena_bytes_) return kNoStack;
  char* arena = base_.load(std::memory_order_relaxed) + table_bytes();
  auto* record = reinterpret_cast<Record*>(arena + offset);
  record->hash = hash;
  record->count = static_cast<std::uint32_t>(count);
  record->seal = seal_for(base_.load(std::memory_order_relaxed), offset);
  std::memcpy(record->frames, frames, count * sizeof(std::uintptr_t));
  return static_cast<StackId>(offset / 8 + 1);
}

const StackDepot::Record* StackDepot::record_of(StackId id) const {
  if (id == kNoStack || id == kDepotFull) return nullptr;
  char* base = base_.load(std::memory_order_acquire);
  if (base == nullptr) return nullptr;
  std::uint64_t limit = arena_used_.load(std::memory_order_acquire);
  if (limit > arena_bytes_) limit = arena_bytes_;
  std::uint64_t offset = std::uint64_t{id - 1} * 8;
  if (offset + kRecordHeader > limit) return nullptr;
  auto* record = reinterpret_cast<const Record*>(base + table_bytes() + offset);
  if (record->seal != seal_for(base, offset)) return nullptr;
  if (record->count == 0 || record->count > kMaxFrames) return nullptr;
  if (offset + kRecordHeader + record->count * sizeof(std::uintptr_t) > limit) return nullptr;
  return record;
}

bool StackDepot::equals(StackId id, std::uint64_t hash, const std::uintptr_t* frames,
                        std::size_t count) const {
  const Record* record = record_of(id);
  return record != nullptr && record->hash == hash && record->count == count &&
         std::memcmp(record->frames, frames, count * sizeof(std::uintptr_t)) == 0;
}

StackId StackDepot::insert(const std::uintptr_t* frames, std::size_t count) {
  if (count == 0) return kNoStack;
  if (count > kMaxFrames) {
    count = kMaxFrames;
    count_truncated();
  }
  char* base = storage();
  if (base == nullptr) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return kDepotFull;
  }
  auto* slots = reinterpret_cast<std::atomic<std::uint64_t>*>(base);
  std::uint64_t hash = hash_frames(frames, count);
  std::uint64_t tag = hash & 0xffffffff00000000ull;
  StackId mine = kNoStack;  // our record, written at most once per insert
  for (std::size_t probe = 0; probe < kMaxProbes; ++probe) {
    std::atomic<std::uint64_t>& slot = slots[(hash + probe) & mask_];
    std::uint64_t value = slot.load(std::memory_order_acquire);
    if (value == 0) {
      if (mine == kNoStack) {
        mine = allocate_record(hash, frames, count);
        if (mine == kNoStack) break;
      }
      if (slot.compare_exchange_strong(value, tag | mine, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        stored_.fetch_add(1, std::memory_order_relaxed);
        return mine;
      }
      // Lost the race: `value` is the winner, which may be this very stack.
    }
    if ((value & 0xffffffff00000000ull) == tag) {
      auto id = static_cast<StackId>(value);
      if (equals(id, hash, frames, count)) {
        if (mine != kNoStack) wasted_.fetch_add(1, std::memory_order_relaxed);
        return id;
      }
    }
  }
  if (mine != kNoStack) wasted_.fetch_add(1, std::memory_order_relaxed);
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return kDepotFull;
}

std::size_t StackDepot::get(StackId id, std::uintptr_t* frames, std::size_t max) const {
  const Record* record = record_of(id);
  if (record == nullptr) return 0;
  std::size_t count = record->count;
  // The hash check rejects ids that point into the middle of a record.
  if (hash_frames(record->frames, count) != record->hash) return 0;
  if (count > max) count = max;
  std::memcpy(frames, record->frames, count * sizeof(std::uintptr_t));
  return count;
}

DepotStats StackDepot::stats() const {
  std::uint64_t used = arena_used_.load(std::memory_order_relaxed);
  return DepotStats{
      .stacks_stored = stored_.load(std::memory_order_relaxed),
      .bytes_used = used > arena_bytes_ ? arena_bytes_ : used,
      .bytes_budget = arena_bytes_,
      .dropped = dropped_.load(std::memory_order_relaxed),
      .truncated = truncated_.load(std::memory_order_relaxed),
      .wasted_records = wasted_.load(std::memory_order_relaxed),
  };
}

void StackDepot::release() {
  char* base = base_.exchange(nullptr, std::memory_order_acq_rel);
  if (base != nullptr) platform::unmap(base - kSaltBytes, mapping_bytes());
  map_failed_.store(false, std::memory_order_relaxed);
  arena_used_.store(0, std::memory_order_relaxed);
  stored_.store(0, std::memory_order_relaxed);
  dropped_.store(0, std::memory_order_relaxed);
  truncated_.store(0, std::memory_order_relaxed);
  wasted_.store(0, std::memory_order_relaxed);
}

}  // namespace dbgalloc::stacks
