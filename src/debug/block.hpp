// Debug blocks: what the debug layer wraps around every allocation.
//
// A canary block lives in one heap payload:
//
//   payload                                                   payload + usable
//   | padding (aligned blocks only) | header | left canary | user bytes | right canary |
//                                   32 B     16 B          ^ user      starts at user+size
//
// The header sits immediately before the left canary, so it is found from the user
// pointer alone (user - 48). Its checksum is keyed by a per-process secret and by the
// header's own address, so neither a stray write nor a copied header passes. Canary
// bytes are derived from the secret and the block's address (never 0, never ASCII), so
// an off-by-one NUL is caught and a canary copied from elsewhere does not match.
//
// A guard block is a span of its own with a PROT_NONE page on one side; its header is
// kept out of the block (in a side record the span points to), so protecting a
// quarantined guard block keeps its header readable.
#pragma once

#include <cstddef>
#include <cstdint>

#include "debug/allocator.hpp"

namespace dbgalloc::debug {

enum class State : std::uint8_t { invalid = 0, live = 1, quarantined = 2, freed = 3 };

// Fields that change after allocation are written so that the header is valid at every
// instant: free_stack/free_thread are not covered by the checksum while the block is
// live, and state and checksum share one 8-byte word stored at once. A heap check in
// another thread, or a fork, never sees a half-updated header.
struct BlockHeader {
  std::uint64_t bits;          // size:40 | kind:2 | align_log2:6 | flags:4 | right canary bytes:12
  std::uint32_t alloc_stack;
  std::uint32_t free_stack;
  std::uint32_t alloc_thread;
  std::uint32_t free_thread;
  std::uint64_t tail;          // sequence:32 | state:8 | marks:8 | checksum:16

  static constexpr std::uint64_t kMaxSize = (std::uint64_t{1} << 40) - 1;
  static constexpr unsigned kKindShift = 40, kAlignShift = 42, kFlagShift = 48, kRightShift = 52;
  static constexpr std::uint64_t kGuardFlag = 1, kAlignedNewFlag = 2, kInternalFlag = 4;
  static constexpr std::size_t kMaxRightCanary = 4095;

  std::size_t size() const { return bits & kMaxSize; }
  Kind kind() const { return static_cast<Kind>((bits >> kKindShift) & 3); }
  std::size_t alignment() const { return std::size_t{1} << ((bits >> kAlignShift) & 63); }
  bool has(std::uint64_t flag) const { return ((bits >> kFlagShift) & flag) != 0; }
  std::size_t right_canary() const { return (bits >> kRightShift) & kMaxRightCanary; }
  State state() const { return static_cast<State>((tail >> 32) & 0xff); }
  std::uint32_t sequence() const { return static_cast<std::uint32_t>(tail); }
  std::uint16_t checksum() const { return static_cast<std::uint16_t>(tail >> 48); }
  // Marks are advisory bits outside the checksum (set with an atomic OR, any time).
  static constexpr std::uint64_t kMarkIgnoredForLeaks = 1;
  static constexpr std::uint64_t kMarkLeftGuard = 2;  // a guard block whose guard page is before it
  std::uint64_t marks() const { return (__atomic_load_n(&tail, __ATOMIC_RELAXED) >> 40) & 0xff; }
  void add_mark(std::uint64_t mark) { __atomic_fetch_or(&tail, mark << 40, __ATOMIC_RELAXED); }

  // Fields only dbgalloc writes: anything else (fill bytes, program data) fails this
  // before its checksum is even compared, which a 16-bit checksum alone would pass
  // one time in 65536.
  bool well_formed() const {
    unsigned align_log2 = static_cast<unsigned>((bits >> kAlignShift) & 63);
    std::uint64_t raw_state = (tail >> 32) & 0xff;
    return raw_state >= 1 && raw_state <= 3 && align_log2 >= 4 && align_log2 <= 40;
  }

  // Before the first seal only.
  void set_flag(std::uint64_t flag) { bits |= flag << kFlagShift; }
  void set_right_canary(std::size_t bytes) {
    if (bytes > kMaxRightCanary) bytes = kMaxRightCanary;
    bits = (bits & ~(kMaxRightCanary << kRightShift)) | (static_cast<std::uint64_t>(bytes) << kRightShift);
  }
  static std::uint64_t pack(std::size_t size, Kind kind, unsigned align_log2, std::uint64_t flags) {
    return (size & kMaxSize) | (static_cast<std::uint64_t>(kind) << kKindShift) |
           (static_cast<std::uint64_t>(align_log2) << kAlignShift) | (flags << kFlagShift);
  }
};
static_assert(sizeof(BlockHeader) == 32);

inline constexpr std::size_t kLeftCanary = 16;
inline constexpr std::size_t kMinRightCanary = 16;
inline constexpr std::size_t kPrefix = sizeof(BlockHeader) + kLeftCanary;  // 48

// The secret behind checksums and canaries; set once at start-up.
void init_secret(std::uint64_t secret);

// Keyed checksum of the header as it would be with `state` and `sequence`.
std::uint16_t checksum_of(const BlockHeader* header, State state, std::uint32_t sequence);
// Sets the state and reseals with one 8-byte store.
void transition(BlockHeader* header, State state, std::uint32_t sequence);
inline void transition(BlockHeader* header, State state) { transition(header, state, header->sequence()); }
bool sealed(const BlockHeader* header);

// Canary byte expected at `address` for the block whose user bytes start at `user`.
std::uint8_t canary_byte(std::uintptr_t user, std::uintptr_t address);
void fill_canary(std::uintptr_t user, std::uintptr_t begin, std::uintptr_t end);
// Address of the first byte in [begin, end) that is not the canary, or 0.
std::uintptr_t first_bad_canary(std::uintptr_t user, std::uintptr_t begin, std::uintptr_t end);
// Address of the first byte in [begin, end) that is not `fill`, or 0.
std::uintptr_t first_not_filled(std::uintptr_t begin, std::uintptr_t end, std::uint8_t fill);

inline BlockHeader* header_before(std::uintptr_t user) { return reinterpret_cast<BlockHeader*>(user - kPrefix); }

// Bytes between a heap payload and the user pointer for a given alignment.
inline std::size_t prefix_for(std::size_t alignment) {
  return alignment <= 16 ? kPrefix : (kPrefix + alignment - 1) & ~(alignment - 1);
}

}  // namespace dbgalloc::debug
