// Keyed integrity of the heap's own metadata words (chunk head, trusted prev_size,
// bin links): each word holds a 48-bit value and, in its top 16 bits, a tag computed
// from the value, the word's address and a per-process secret through a non-linear
// mix (multiply and xorshift rounds; CRC would be linear, so a changed value could be
// re-tagged without the secret). A program that rewrites a word without the secret
// passes one time in 65536; a tagged value copied to another address does not pass.
// A value the heap itself wrote at the same address earlier would (replay): tags bind
// where, not when.
//
// The heap never re-tags a word it has not verified first, so a forged word is never
// laundered. What it finds is noted as a Fault for its caller to report (the heap
// knows nothing of reports); the operation that met it leaves the damaged chunk alone.
#pragma once

#include <cstdint>

namespace dbgalloc::heap::integrity {

constexpr unsigned kTagShift = 48;
constexpr std::uint64_t kValueMask = (std::uint64_t{1} << kTagShift) - 1;

struct Keys {
  std::uint64_t k0, k1, k2;  // k1, k2 odd; all 0 until the first tag
};
extern constinit Keys keys;
// Draws the keys once (getrandom), safe from any thread at any time.
void init_keys();

inline std::uint64_t tag_of(const void* where, std::uint64_t value) {
  if (__builtin_expect(keys.k1 == 0, 0)) init_keys();
  std::uint64_t x = (value & kValueMask) ^ keys.k0 ^ (reinterpret_cast<std::uintptr_t>(where) * 0x9e3779b97f4a7c15ull);
  x ^= x >> 31;
  x *= keys.k1;
  x ^= x >> 29;
  x *= keys.k2;
  x ^= x >> 32;
  return x >> kTagShift;
}

inline std::uint64_t sealed(const void* where, std::uint64_t value) {
  return (value & kValueMask) | tag_of(where, value) << kTagShift;
}

inline bool intact(const void* where, std::uint64_t word) { return word >> kTagShift == tag_of(where, word); }

}  // namespace dbgalloc::heap::integrity
