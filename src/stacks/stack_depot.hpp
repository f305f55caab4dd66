// StackDepot: every distinct stack stored once, named by a 32-bit id.
//
// Memory: one mapping made on first insert (platform::map, MAP_NORESERVE, so untouched
// pages cost nothing), holding
//   [ salt, 64 B ][ slot levels: level 0 .. level L-1 ][ record arena: arena_bytes ]
// Level k is a table of first_slots << k atomic<uint64_t> slots; the last level has
// table_slots slots (the constructor's figure, rounded up to a power of two) and the
// first table_slots >> (kMaxLevels - 1), at least kMinLevelSlots. Inserts go to the
// current level; when more than half of its slots are taken (or a probe window in it
// is full) the next level becomes current. Slots are scattered by hash, so a table
// touches nearly all its pages once it holds a few thousand stacks: levels keep the
// touched part of the table proportional to the stacks stored (at most about 4 slots
// each), where one big table would touch all of it (8 MiB for the process depot).
//
// A record is { uint64 hash; uint32 count; uint32 seal; uintptr frames[count] },
// bump-allocated with one fetch_add and never freed or moved. Its id is
// (offset / 8) + 1, so ids are dense, never 0 and never kDepotFull. Ids name arena
// offsets, not slots: a new level never moves or renames anything.
// A slot is 0 (empty) or (hash >> 32) << 32 | id: the high half lets a probe reject a
// different stack without touching its record.
//
// Insert is lock-free: hash, then in each level from 0 up to the current one probe
// linearly from hash & mask (at most kMaxProbes slots, stopping at an empty slot); on
// a matching record return its id. In the current level, on an empty slot write a
// record (once per insert) and publish it with a release CAS. A thread that loses the
// CAS to an equal stack returns the winner's id and its own record stays in the arena
// as counted waste. Slots only go from empty to full and the current level only goes
// up, so a probe never misses a stack that was published before it started. Two
// threads inserting the same new stack while the current level changes may publish it
// in two levels (two valid ids for one stack; lookups find the lower level's); this
// is rare, and costs one record.
//
// Full: when the arena budget is spent or kMaxProbes slots of the last level were all
// taken, the stack is dropped, counted in `dropped`, and insert returns kDepotFull.
// Nothing is evicted, so every id ever returned stays valid.
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
  static constexpr unsigned kMaxLevels = 10;
  static constexpr std::size_t kMinLevelSlots = 8;
  // Process default: a last level of 1 Mi slots (levels of 2 Ki .. 1 Mi slots: 16 MiB
  // of address space, of which about 32 bytes per stored stack are touched) and a
  // 64 MiB arena, i.e. about 450,000 distinct 16-frame stacks.
  static constexpr std::size_t kDefaultSlots = std::size_t{1} << 20;
  static constexpr std::size_t kDefaultArenaBytes = std::size_t{64} << 20;

  // table_slots (the last level's size) is rounded up to a power of two; nothing is
  // mapped until first use.
  constexpr StackDepot(std::size_t table_slots = kDefaultSlots,
                       std::size_t arena_bytes = kDefaultArenaBytes)
      : first_slots_(first_level_slots(round_up_pow2(table_slots))),
        levels_(level_count(first_slots_, round_up_pow2(table_slots))),
        arena_bytes_(arena_bytes & ~std::size_t{7}) {}

  StackDepot(const StackDepot&) = delete;
  StackDepot& operator=(const StackDepot&) = delete;

  // count == 0 gives kNoStack; frames beyond kMaxFrames are cut (and counted).
  StackId insert(const std::uintptr_t* frames, std::size_t count);
  // Copies at most `max` frames; returns how many were copied (0 for unknown ids).
  std::size_t get(StackId id, std::uintptr_t* frames, std::size_t max) const;

  DepotStats stats() const;
  // The level inserts go to now (0 until the first level is half full), and how many
  // levels there are; for tests.
  unsigned current_level() const { return level_.load(std::memory_order_relaxed); }
  unsigned levels() const { return levels_; }
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

  static constexpr std::size_t first_level_slots(std::size_t last) {
    std::size_t first = last >> (kMaxLevels - 1);
    if (first < kMinLevelSlots) first = kMinLevelSlots;
    return first < last ? first : last;
  }
  static constexpr unsigned level_count(std::size_t first, std::size_t last) {
    unsigned n = 1;
    while ((first << (n - 1)) < last) ++n;
    return n;
  }

  static constexpr std::size_t kSaltBytes = 64;
  // Level k starts first_slots_ * (2^k - 1) slots into the table.
  std::size_t table_bytes() const { return first_slots_ * ((std::size_t{1} << levels_) - 1) * sizeof(std::uint64_t); }
  std::size_t mapping_bytes() const { return kSaltBytes + table_bytes() + arena_bytes_; }
  static std::uint32_t seal_for(const char* base, std::uint64_t offset);
  char* storage();  // maps on first call; nullptr if the kernel refused
  StackId allocate_record(std::uint64_t hash, const std::uintptr_t* frames, std::size_t count);
  const Record* record_of(StackId id) const;
  bool equals(StackId id, std::uint64_t hash, const std::uintptr_t* frames, std::size_t count) const;
  // A slot value that is no stack: its low half is kDepotFull, which no id is.
  static constexpr std::uint64_t kSealed = ~std::uint64_t{0};
  enum class ProbeMode { look, seal, publish };
  enum class Probe { found, closed, spent };
  // Probes one level's window for the stack: found (*found is its id), closed (an
  // empty slot, a seal or a full window ends the chain; `seal` first writes a seal in
  // the empty slot) or spent (`publish` needed a record and the arena is spent). With
  // `publish`, an empty slot gets the stack (*mine is allocated first if kNoStack).
  Probe probe_level(char* base, unsigned level, std::uint64_t hash, const std::uintptr_t* frames,
                    std::size_t count, ProbeMode mode, StackId* mine, StackId* found);
  void raise_level(unsigned level);  // makes level_ at least `level` (if it exists)

  // Read-mostly fields and the two hot counters live on separate cache lines, so
  // inserting threads do not invalidate each other's view of base_ on every insert.
  std::size_t first_slots_;
  unsigned levels_;
  std::size_t arena_bytes_;
  std::atomic<char*> base_{nullptr};
  std::atomic<bool> map_failed_{false};
  std::atomic<unsigned> level_{0};  // only goes up
  alignas(64) std::atomic<std::uint64_t> arena_used_{0};  // may run past arena_bytes_ once full
  alignas(64) std::atomic<std::uint64_t> stored_{0};
  std::atomic<std::uint32_t> level_used_[kMaxLevels] = {};  // slots published per level
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> truncated_{0};
  std::atomic<std::uint64_t> wasted_{0};
};

}  // namespace dbgalloc::stacks
