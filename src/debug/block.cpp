#include "debug/block.hpp"

#include <cstring>

#include "platform/hash.hpp"

namespace dbgalloc::debug {

namespace {
std::uint64_t process_secret = 0x9e3779b97f4a7c15ull;

// Canary word for a block: eight bytes, each in 0x80..0xfe, so no
// byte is 0 or ASCII and an overflow with a plausible value always differs.
inline std::uint64_t canary_word(std::uintptr_t user) {
  std::uint64_t key = platform::mix64(process_secret ^ user);
  return (key & 0x7e7e7e7e7e7e7e7eull) | 0x8080808080808080ull;  // bytes 0x80..0xfe
}
}  // namespace

void init_secret(std::uint64_t secret) { process_secret = secret | 1; }

// Every allocation and free computes a checksum or two. A CRC (one instruction per
// word) is linear: the change to the checksum caused by a change to the size does
// not depend on the key, so a program could forge a size and patch the checksum
// without knowing the secret. Multiply-xorshift rounds over the words, keyed at the
// start and again before the last round, are not linear in either group.
std::uint16_t checksum_of(const BlockHeader* header, State state, std::uint32_t sequence) {
  constexpr std::uint64_t kOdd1 = 0x9fb21c651e98df25ull, kOdd2 = 0xd6e8feb86659fd93ull;
  auto round = [](std::uint64_t h, std::uint64_t word, std::uint64_t odd) {
    h = (h ^ word) * odd;
    return h ^ (h >> 29);
  };
  std::uint64_t h = process_secret ^ reinterpret_cast<std::uintptr_t>(header);
  h = round(h, header->bits, kOdd1);
  h = round(h, static_cast<std::uint64_t>(header->alloc_stack) << 32 | header->alloc_thread, kOdd2);
  h = round(h, static_cast<std::uint64_t>(sequence) << 8 | static_cast<std::uint64_t>(state), kOdd1);
  if (state != State::live) h = round(h, static_cast<std::uint64_t>(header->free_stack) << 32 | header->free_thread, kOdd2);
  h = round(h, process_secret, kOdd1 ^ (process_secret << 1));  // an odd multiplier the program cannot know
  return static_cast<std::uint16_t>(h >> 48);
}

void transition(BlockHeader* header, State state, std::uint32_t sequence) {
  std::uint64_t tail = static_cast<std::uint64_t>(sequence) | static_cast<std::uint64_t>(state) << 32 |
                       header->marks() << 40 | static_cast<std::uint64_t>(checksum_of(header, state, sequence)) << 48;
  __atomic_store_n(&header->tail, tail, __ATOMIC_RELEASE);
}

bool sealed(const BlockHeader* header) {
  std::uint64_t tail = __atomic_load_n(&header->tail, __ATOMIC_ACQUIRE);
  auto state = static_cast<State>((tail >> 32) & 0xff);
  return static_cast<std::uint16_t>(tail >> 48) == checksum_of(header, state, static_cast<std::uint32_t>(tail));
}

std::uint8_t canary_byte(std::uintptr_t user, std::uintptr_t address) {
  return static_cast<std::uint8_t>(canary_word(user) >> ((address & 7) * 8));
}

void fill_canary(std::uintptr_t user, std::uintptr_t begin, std::uintptr_t end) {
  std::uint64_t word = canary_word(user);
  std::uintptr_t a = begin;
  while (a < end && (a & 7) != 0) {
    *reinterpret_cast<std::uint8_t*>(a) = static_cast<std::uint8_t>(word >> ((a & 7) * 8));
    ++a;
  }
  for (; a + 8 <= end; a += 8) std::memcpy(reinterpret_cast<void*>(a), &word, 8);
  for (; a < end; ++a) *reinterpret_cast<std::uint8_t*>(a) = static_cast<std::uint8_t>(word >> ((a & 7) * 8));
}

std::uintptr_t first_bad_canary(std::uintptr_t user, std::uintptr_t begin, std::uintptr_t end) {
  std::uint64_t word = canary_word(user);
  std::uintptr_t a = begin;
  while (a < end && (a & 7) != 0) {
    if (*reinterpret_cast<const std::uint8_t*>(a) != static_cast<std::uint8_t>(word >> ((a & 7) * 8))) return a;
    ++a;
  }
  for (; a + 8 <= end; a += 8) {
    std::uint64_t have;
    std::memcpy(&have, reinterpret_cast<const void*>(a), 8);
    if (have != word) break;
  }
  for (; a < end; ++a) {
    if (*reinterpret_cast<const std::uint8_t*>(a) != static_cast<std::uint8_t>(word >> ((a & 7) * 8))) return a;
  }
  return 0;
}

// Blocks leave the quarantine by the thousand: a cache line at a time, its eight words
// folded into one test (vector compares), and only a line that differs is looked at
// word by word, then byte by byte, for the exact first byte.
std::uintptr_t first_not_filled(std::uintptr_t begin, std::uintptr_t end, std::uint8_t fill) {
  const std::uint64_t word = 0x0101010101010101ull * fill;
  std::uintptr_t a = begin;
  while (a < end && (a & 7) != 0) {
    if (*reinterpret_cast<const std::uint8_t*>(a) != fill) return a;
    ++a;
  }
  for (; a + 64 <= end; a += 64) {
    std::uint64_t line[8];
    std::memcpy(line, reinterpret_cast<const void*>(a), sizeof line);
    std::uint64_t diff = 0;
    for (std::uint64_t w : line) diff |= w ^ word;
    if (diff != 0) break;
  }
  for (; a + 8 <= end; a += 8) {
    std::uint64_t have;
    std::memcpy(&have, reinterpret_cast<const void*>(a), 8);
    if (have != word) break;
  }
  for (; a < end; ++a) {
    if (*reinterpret_cast<const std::uint8_t*>(a) != fill) return a;
  }
  return 0;
}

}  // namespace dbgalloc::debug
