// libFuzzer target for the TLV parser. Linked with libdbgalloc instead of ASan: see
// build.sh in this folder for the link recipe and README.md for what it finds.
#include <cstddef>
#include <cstdint>

#include "tlv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tlv::Document doc;
  tlv::parse(data, size, &doc);
  tlv::release(&doc);
  return 0;
}
