// Keyed integrity of the heap's own metadata words (chunk head, trusted prev_size,
// bin links): each word holds a 48-bit value and, in its top 16 bits, a tag computed
// from the value, the word's address and a per-process secret through a non-linear
// mix (multiply and xorshift rounds; CRC would be linear, so a changed value could be
// re-tagged without the secret). A program that rewrites a word without the secret
// passes one time in 65536; a tagged value copied to another address does not pass.
// A value the heap itself wrote at the same address earlier would (replay): tags bind
// where and what kind of word, not when. (The kind matters: chunk boundaries move, so
// a free chunk's old link may sit where a previous-size word is read later.)
//
// The heap never re-tags a word it has not verified first, so a forged word is never
// laundered. What it finds is noted as a Fault for its caller to report (the heap
// knows nothing of reports); the operation that met it leaves the damaged chunk alone.
#pragma once

#include <cstdint>

#include "heap/poison.hpp"

namespace dbgalloc::heap::integrity {

constexpr unsigned kTagShift = 48;
constexpr std::uint64_t kValueMask = (std::uint64_t{1} << kTagShift) - 1;

// The kinds of word, each with its own address key.
enum Role : unsigned { kHead, kPrevSize, kNextLink, kPrevLink, kRoles };

struct Keys {
  std::uint64_t k0[kRoles];
  std::uint64_t k1, k2;  // odd; all 0 until init_keys
};
extern constinit Keys keys;
// Draws the keys once (getrandom), safe from any thread at any time. Called before the
// heap tags its first word (a new segment or direct block); verifying reads only
// words tagged before, so tag_of need not check.
void init_keys();
inline void ensure_keys() {
  if (__builtin_expect(__atomic_load_n(&keys.k1, __ATOMIC_ACQUIRE) == 0, 0)) init_keys();
}

// `covered`: the bits of a word's value its tag covers (the rest may change freely).
// A keyed hash of the address with the value mixed in, through a keyed multiply whose
// top 16 bits depend on every bit below: two multiplies, non-linear in the value (CRC
// is linear: a changed value could be re-tagged without the key) and bound to the
// address (a tag moved elsewhere fails).
DBGALLOC_NO_COVERAGE inline std::uint64_t tag_of(const void* where, std::uint64_t value, std::uint64_t covered,
                                                  Role role) {
  std::uint64_t x = ((reinterpret_cast<std::uintptr_t>(where) ^ keys.k0[role]) * keys.k1) ^ (value & covered);
  return (x * keys.k2) >> kTagShift;
}

DBGALLOC_NO_COVERAGE inline std::uint64_t sealed(const void* where, std::uint64_t value, std::uint64_t covered,
                                                  Role role) {
  return (value & kValueMask) | tag_of(where, value, covered, role) << kTagShift;
}

DBGALLOC_NO_COVERAGE inline bool intact(const void* where, std::uint64_t word, std::uint64_t covered, Role role) {
  return word >> kTagShift == tag_of(where, word, covered, role);
}

}  // namespace dbgalloc::heap::integrity
