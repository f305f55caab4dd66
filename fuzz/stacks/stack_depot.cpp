// libFuzzer harness for StackDepot: arbitrary frame arrays from the input are
// inserted into a small depot (so it also fills up); every id must read back exactly
// the frames that were stored, equal stacks must share an id, different stacks must
// not, and forged ids must read as empty or as a stored stack, never crash.
//
// Input: a sequence of records
//   [op] [len] [len frames, each 1 byte (op bit 0 = 0) or 8 bytes (op bit 0 = 1)]
// op bit 1 set means "look up a forged id" made of the next 4 bytes instead.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "stacks/stack_depot.hpp"

namespace {

using dbgalloc::stacks::kDepotFull;
using dbgalloc::stacks::kMaxFrames;
using dbgalloc::stacks::kNoStack;
using dbgalloc::stacks::StackDepot;
using dbgalloc::stacks::StackId;

void check(bool condition) {
  if (!condition) std::abort();
}

std::vector<std::uintptr_t> read_back(const StackDepot& depot, StackId id) {
  std::uintptr_t frames[kMaxFrames];
  std::size_t n = depot.get(id, frames, kMaxFrames);
  return {frames, frames + n};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // 256 slots and 16 KiB: both the probe window and the arena run out on long inputs.
  StackDepot depot{256, 16 << 10};
  std::map<StackId, std::vector<std::uintptr_t>> by_id;
  std::map<std::vector<std::uintptr_t>, StackId> by_frames;
  std::uint64_t dropped = 0;
  std::size_t pos = 0;
  while (pos + 2 <= size) {
    std::uint8_t op = data[pos++];
    if (op & 2) {
      if (pos + 4 > size) break;
      StackId forged;
      std::memcpy(&forged, data + pos, 4);
      pos += 4;
      auto frames = read_back(depot, forged);
      auto known = by_id.find(forged);
      // A forged id reads as nothing, or exactly as the stack it happens to name.
      if (known != by_id.end()) {
        check(frames == known->second);
      } else {
        check(frames.empty());
      }
      continue;
    }
    std::size_t count = data[pos++] % (kMaxFrames + 8);
    std::size_t width = (op & 1) ? 8 : 1;
    if (pos + count * width > size) count = (size - pos) / width;
    std::vector<std::uintptr_t> frames(count);
    for (std::size_t i = 0; i < count; ++i) {
      std::uintptr_t value = 0;
      std::memcpy(&value, data + pos, width);
      frames[i] = value;
      pos += width;
    }
    StackId id = depot.insert(frames.data(), frames.size());
    if (frames.size() > kMaxFrames) frames.resize(kMaxFrames);
    if (frames.empty()) {
      check(id == kNoStack);
      continue;
    }
    if (id == kDepotFull) {
      ++dropped;
      check(depot.stats().dropped == dropped);
      // A stack already stored is still found when the depot is full.
      check(by_frames.find(frames) == by_frames.end());
      continue;
    }
    check(id != kNoStack);
    auto seen = by_frames.find(frames);
    if (seen != by_frames.end()) {
      check(seen->second == id);
    } else {
      check(by_id.find(id) == by_id.end());  // a new stack never reuses an id
      by_frames.emplace(frames, id);
      by_id.emplace(id, frames);
    }
    check(read_back(depot, id) == frames);
  }
  for (const auto& [id, frames] : by_id) check(read_back(depot, id) == frames);
  auto stats = depot.stats();
  check(stats.stacks_stored == by_id.size());
  check(stats.bytes_used <= stats.bytes_budget);
  depot.release();
  return 0;
}
