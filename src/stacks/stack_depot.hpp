// StackDepot: every distinct stack stored once, named by a 32-bit id.
//
// Memory: one mapping made on first insert (platform::map, MAP_NORESERVE, so untouched
// pages cost nothing), holding
//   [ salt, 64 B ][ slot table: table_slots x atomic<uint64_t> ][ record arena: arena_bytes ]
// A record is { uint64 hash; uint32 count; uint32 seal; uintptr frames[count] },
// bump-allocated with one fetch_add and never freed or moved. Its id is
// (offset / 8) + 1, so ids are dense, never 0 and never kDepotFull.
// A slot is 0 (empty) or (hash >> 32) << 32 | id: the high half lets a probe reject a
// different stack without touching its record.
//
// Insert is lock-free: hash, probe linearly from hash & mask; on a matching record
// return its id; on an empty slot write a record (once per insert) and publish it with
// a release CAS. A thread that loses the CAS to an equal stack returns the winner's id
// and its own record stays in the arena as counted waste. Slots only go from empty to
// full, so a probe never misses a stack that was published before it started.
//
// Full: when the arena budget is spent or kMaxProbes slots were all taken, the stack is
// dropped, counted in `dropped`, and insert returns kDepotFull. Nothing is evicted, so
// every id ever returned stays valid.
//
// get() trusts nothing about the id (it may come from a corrupted block header): the
// offset must lie inside the published arena, the record's seal must be the one for
// its offset (a hash of offset and a random per-depot salt, so stored frame values
// cannot imitate a record header) and its frames must hash to its stored hash;
// otherwise it reads as empty.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "stacks/stacks.hpp"

namespace dbgalloc::stacks {

class StackDepot {
 public:
  static constexpr std::size_t kMaxProbes = 64;
  // Process default: 1 Mi slots (8 MiB of address space) and a 64 MiB arena, i.e.
  // about 450,000 distinct 16-frame stacks.
  static constexpr std::size_t kDefaultSlots = std::size_t{1} << 20;
  static constexpr std::size_t kDefaultArenaBytes = std::size_t{64} << 20;

  // table_slots is rounded up to a power of two; nothing is mapped until first use.
  constexpr StackDepot(std::size_t table_slots = kDefaultSlots,
                       std::size_t arena_bytes = kDefaultArenaBytes)
      : mask_(round_up_pow2(table_slots) - 1), arena_bytes_(arena_bytes & ~std::size_t{7}) {}

  StackDepot(const StackDepot&) = delete;
  StackDepot& operator=(const StackDepot&) = delete;

  // count == 0 gives kNoStack; frames beyond kMaxFrames are cut (and counted).
  StackId insert(const std::uintptr_t* frames, std::size_t count);
  // Copies at most `max` frames; returns how many were copied (0 for unknown ids).
  std::size_t get(StackId id, std::uintptr_t* frames, std::size_t max) const;

  DepotStats stats() const;
  // The 64-bit hash the table is keyed by (also keys per-thread caches in front of it).
  static std::uint64_t hash_frames(const std::uintptr_t* frames, std::size_t count);
  void count_truncated() { truncated_.fetch_add(1, std::memory_order_relaxed); }

  // Unmaps everything; all ids become unknown. For tests and benchmarks only: the
  // process depot is never released, since other threads may still record at exit.
  void release();

 private:
  struct Record {
    std::uint64_t hash;
    std::uint32_t count;
    std::uint32_t seal;
    std::uintptr_t frames[];
  };

  static constexpr std::size_t round_up_pow2(std::size_t n) {
    std::size_t p = 1;
    while (p < n) p <<= 1;
    return p;
  }

  static constexpr std::size_t kSaltBytes = 64;
  std::size_t table_bytes() const { return (mask_ + 1) * sizeof(std::uint64_t); }
  std::size_t mapping_bytes() const { return kSaltBytes + table_bytes() + arena_bytes_; }
  static std::uint32_t seal_for(const char* base, std::uint64_t offset);
  char* storage();  // maps on first call; nullptr if the kernel refused
  StackId allocate_record(std::uint64_t hash, const std::uintptr_t* frames, std::size_t count);
  const Record* record_of(StackId id) const;
  bool equals(StackId id, std::uint64_t hash, const std::uintptr_t* frames, std::size_t count) const;

  // Read-mostly fields and the two hot counters live on separate cache lines, so
  // inserting threads do not invalidate each other's view of base_ on every insert.
  std::size_t mask_;
  std::size_t arena_bytes_;
  std::atomic<char*> base_{nullptr};
  std::atomic<bool> map_failed_{false};
  alignas(64) std::atomic<std::uint64_t> arena_used_{0};  // may run past arena_bytes_ once full
  alignas(64) std::atomic<std::uint64_t> stored_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> truncated_{0};
  std::atomic<std::uint64_t> wasted_{0};
};

}  // namespace dbgalloc::stacks
