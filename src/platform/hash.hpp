// mix64: MurmurHash3's 64-bit finaliser. Every input bit affects every output bit
// (about half of them flip for a one-bit change), so it turns an address or a sum of
// frames into a hash or key whose low and high bits are both usable.
#pragma once

#include <cstdint>

namespace dbgalloc::platform {

inline std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

}  // namespace dbgalloc::platform
