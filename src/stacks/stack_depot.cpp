// StackDepot: see stack_depot.hpp for the layout and the lock-free insert protocol.
#include "stacks/stack_depot.hpp"

#include <cstring>

#include "platform/hash.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::stacks {

namespace {
constexpr std::size_t kRecordHeader = 16;

std::uint64_t lane_step(std::uint64_t h, std::uintptr_t frame) {
  h ^= frame;
  h *= 0x100000001b3ull;
  return (h << 29) | (h >> 35);
}
}  // namespace

// Two lanes (even and odd frames) halve the chain of dependent multiplies: every
// capture in malloc and free hashes its frames.
std::uint64_t StackDepot::hash_frames(const std::uintptr_t* frames, std::size_t count) {
  std::uint64_t even = 0x9e3779b97f4a7c15ull ^ count;
  std::uint64_t odd = 0xc2b2ae3d27d4eb4full;
  std::size_t i = 0;
  for (; i + 1 < count; i += 2) {
    even = lane_step(even, frames[i]);
    odd = lane_step(odd, frames[i + 1]);
  }
  if (i < count) even = lane_step(even, frames[i]);
  return platform::mix64(even ^ ((odd << 31) | (odd >> 33)));
}

// `base` points at the slot table; the salt sits just before it.
std::uint32_t StackDepot::seal_for(const char* base, std::uint64_t offset) {
  std::uint64_t salt = 0;
  std::memcpy(&salt, base - kSaltBytes, sizeof salt);
  return static_cast<std::uint32_t>(platform::mix64(offset ^ salt) >> 32);
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

StackDepot::Probe StackDepot::probe_level(char* base, unsigned level, std::uint64_t hash,
                                          const std::uintptr_t* frames, std::size_t count, ProbeMode mode,
                                          StackId* mine, StackId* found) {
  std::size_t slots_in_level = first_slots_ << level;
  std::size_t mask = slots_in_level - 1;
  auto* slots = reinterpret_cast<std::atomic<std::uint64_t>*>(base) + first_slots_ * ((std::size_t{1} << level) - 1);
  std::uint64_t tag = hash & 0xffffffff00000000ull;
  for (std::size_t probe = 0; probe < kMaxProbes; ++probe) {
    std::atomic<std::uint64_t>& slot = slots[(hash + probe) & mask];
    std::uint64_t value = slot.load(std::memory_order_acquire);
    while (value == 0) {
      // Slots fill in probe order, so the stack is in no later slot of this level.
      if (mode == ProbeMode::look) return Probe::closed;
      std::uint64_t desired = kSealed;
      if (mode == ProbeMode::publish) {
        if (*mine == kNoStack) {
          *mine = allocate_record(hash, frames, count);
          if (*mine == kNoStack) return Probe::spent;
        }
        desired = tag | *mine;
      }
      if (slot.compare_exchange_strong(value, desired, std::memory_order_acq_rel, std::memory_order_acquire)) {
        if (mode == ProbeMode::seal) return Probe::closed;
        stored_.fetch_add(1, std::memory_order_relaxed);
        std::uint32_t used = level_used_[level].fetch_add(1, std::memory_order_relaxed) + 1;
        if (used > slots_in_level / 2) raise_level(level + 1);
        *found = *mine;
        return Probe::found;
      }
      // Lost the race: `value` is the winner, which may be this very stack.
    }
    // A seal: a thread publishing in a later level closed this level's chain here.
    if (value == kSealed) return Probe::closed;
    if ((value & 0xffffffff00000000ull) == tag) {
      auto id = static_cast<StackId>(value);
      if (equals(id, hash, frames, count)) {
        *found = id;
        return Probe::found;
      }
    }
  }
  return Probe::closed;  // the window is full: nothing can be published in it
}

void StackDepot::raise_level(unsigned level) {
  if (level >= levels_) return;
  unsigned current = level_.load(std::memory_order_relaxed);
  while (current < level &&
         !level_.compare_exchange_weak(current, level, std::memory_order_acq_rel, std::memory_order_relaxed)) {
  }
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
  std::uint64_t hash = hash_frames(frames, count);
  StackId mine = kNoStack;  // our record, written at most once per insert
  StackId found = kNoStack;
  unsigned current = level_.load(std::memory_order_acquire);
  // Most inserts find a stored stack: look without writing first, from the current
  // level down, since each level holds about as many stacks as all below it together.
  for (unsigned level = current + 1; level-- > 0;) {
    if (probe_level(base, level, hash, frames, count, ProbeMode::look, &mine, &found) == Probe::found) return found;
  }
  // A new stack: seal its chain in every level below the one it goes to, so no thread
  // that still takes a lower level for the current one publishes it there too, then
  // publish it (or find it, published meanwhile).
  for (unsigned level = 0; level < levels_; ++level) {
    ProbeMode mode = level < current ? ProbeMode::seal : ProbeMode::publish;
    Probe result = probe_level(base, level, hash, frames, count, mode, &mine, &found);
    if (result == Probe::found) {
      if (mine != kNoStack && found != mine) wasted_.fetch_add(1, std::memory_order_relaxed);
      return found;
    }
    if (result == Probe::spent) break;
    // Closed to us in the level meant for publishing: the next one becomes current.
    if (mode == ProbeMode::publish) raise_level(level + 1);
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
  level_.store(0, std::memory_order_relaxed);
  for (auto& used : level_used_) used.store(0, std::memory_order_relaxed);
  stored_.store(0, std::memory_order_relaxed);
  dropped_.store(0, std::memory_order_relaxed);
  truncated_.store(0, std::memory_order_relaxed);
  wasted_.store(0, std::memory_order_relaxed);
}

}  // namespace dbgalloc::stacks
