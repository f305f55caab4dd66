// The block table and the marking of the leak scanner (rules in leak_scan.hpp).
#include "leaks/leak_scan.hpp"

#include <sys/uio.h>

#include <algorithm>

#include "debug/block.hpp"
#include "debug/guard_blocks.hpp"
#include "debug/locate.hpp"
#include "platform/process.hpp"

namespace dbgalloc::leaks {

namespace {
struct ScratchRange {
  std::uintptr_t begin;
  std::uintptr_t end;
};
constexpr std::size_t kMaxScratch = 64;
// Only the thread running a leak check (serialised in leaks.cpp) touches this.
ScratchRange scratch[kMaxScratch];
std::size_t scratch_count = 0;
}  // namespace

bool register_scratch(std::uintptr_t begin, std::uintptr_t end) {
  if (scratch_count == kMaxScratch) return false;
  scratch[scratch_count++] = {begin, end};
  return true;
}

void unregister_scratch(std::uintptr_t begin) {
  for (std::size_t i = 0; i < scratch_count; ++i) {
    if (scratch[i].begin == begin) {
      scratch[i] = scratch[--scratch_count];
      return;
    }
  }
}

bool in_scratch(std::uintptr_t address) {
  for (std::size_t i = 0; i < scratch_count; ++i) {
    if (address >= scratch[i].begin && address < scratch[i].end) return true;
  }
  return false;
}

bool SafeReader::init() {
  buffer_ = static_cast<std::uintptr_t*>(platform::map(kChunk));
  if (buffer_ == nullptr) return false;
  auto begin = reinterpret_cast<std::uintptr_t>(buffer_);
  register_scratch(begin, begin + kChunk);
  // Probe the system call once on our own stack.
  volatile std::uintptr_t probe = 0x5a5a5a5a;
  iovec remote{const_cast<std::uintptr_t*>(&probe), sizeof probe};
  pid_ = platform::process_id();
  direct_ = platform::read_own_ranges(pid_, buffer_, sizeof probe, &remote, 1) != static_cast<long>(sizeof probe);
  return true;
}

void SafeReader::release() {
  if (buffer_ == nullptr) return;
  unregister_scratch(reinterpret_cast<std::uintptr_t>(buffer_));
  platform::unmap(buffer_, kChunk);
  buffer_ = nullptr;
}

std::size_t SafeReader::read(std::uintptr_t address, std::size_t bytes) {
  if (direct_) {
    std::memcpy(buffer_, reinterpret_cast<const void*>(address), bytes);
    return bytes;
  }
  iovec remote{reinterpret_cast<void*>(address), bytes};
  long got = platform::read_own_ranges(pid_, buffer_, bytes, &remote, 1);
  return got < 0 ? 0 : static_cast<std::size_t>(got);
}

bool SafeReader::read_batch(const std::uintptr_t* addresses, const std::size_t* sizes, std::size_t count) {
  iovec remote[kMaxBatch];
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) {
    remote[i] = {reinterpret_cast<void*>(addresses[i]), sizes[i]};
    total += sizes[i];
  }
  if (direct_) {
    auto* out = reinterpret_cast<char*>(buffer_);
    for (std::size_t i = 0; i < count; ++i) {
      std::memcpy(out, reinterpret_cast<const void*>(addresses[i]), sizes[i]);
      out += sizes[i];
    }
    return true;
  }
  return platform::read_own_ranges(pid_, buffer_, total, remote, count) == static_cast<long>(total);
}

template <typename Visit>
void Marker::drain(Visit&& visit) {
  constexpr std::size_t kSmall = SafeReader::kChunk / 8;
  std::uint32_t batch[SafeReader::kMaxBatch];
  std::uintptr_t addresses[SafeReader::kMaxBatch];
  std::size_t sizes[SafeReader::kMaxBatch];
  while (!stack_.empty()) {
    std::uint32_t first = stack_.pop();
    std::size_t first_bytes = blocks_[first].size & ~std::size_t{7};
    if (first_bytes > kSmall) {
      reader_.for_each_word(blocks_[first].user, blocks_[first].user + first_bytes,
                            [&](std::uintptr_t, std::uintptr_t word) { visit(first, word); });
      continue;
    }
    std::size_t count = 0, total = 0;
    batch[count] = first;
    addresses[count] = blocks_[first].user;
    sizes[count++] = first_bytes;
    total += first_bytes;
    while (count < SafeReader::kMaxBatch && !stack_.empty()) {
      std::uint32_t next = stack_[stack_.size() - 1];
      std::size_t bytes = blocks_[next].size & ~std::size_t{7};
      if (bytes > kSmall || total + bytes > SafeReader::kChunk) break;
      stack_.pop();
      batch[count] = next;
      addresses[count] = blocks_[next].user;
      sizes[count++] = bytes;
      total += bytes;
    }
    if (reader_.read_batch(addresses, sizes, count)) {
      // visit may push, but never reads: the buffer stays valid for the whole batch.
      const std::uintptr_t* words = reader_.buffer();
      for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t w = 0; w < sizes[i] / 8; ++w) visit(batch[i], words[w]);
        words += sizes[i] / 8;
      }
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        std::uint32_t index = batch[i];
        reader_.for_each_word(addresses[i], addresses[i] + sizes[i],
                              [&](std::uintptr_t, std::uintptr_t word) { visit(index, word); });
      }
    }
  }
}

bool Marker::init() {
  if (count_ == 0) return true;
  low_ = blocks_[0].user;
  root_low_ = blocks_[0].begin;
  const Block& last = blocks_[count_ - 1];
  high_ = last.user + (last.size == 0 ? 1 : last.size);
  return stack_.reserve(count_ * 2 + 16);
}

void Marker::sort(Block* blocks, std::size_t count) {
  std::sort(blocks, blocks + count, [](const Block& a, const Block& b) { return a.user < b.user; });
}

long Marker::find(std::uintptr_t address) const {
  if (address < low_ || address >= high_) return -1;
  // The last block starting at or before address.
  std::size_t lo = 0, hi = count_;
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo) / 2;
    if (blocks_[mid].user <= address) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return -1;
  const Block& block = blocks_[lo - 1];
  if (address < block.user + block.size || address == block.user) return static_cast<long>(lo - 1);
  return -1;
}

long Marker::find_from_root(std::uintptr_t address, bool* is_start) const {
  if (address < root_low_ || address >= high_) return -1;
  // The last block whose header starts at or before address (headers and blocks do
  // not overlap, so the table is sorted by begin too).
  std::size_t lo = 0, hi = count_;
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo) / 2;
    if (blocks_[mid].begin <= address) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return -1;
  const Block& block = blocks_[lo - 1];
  if (address >= block.user + block.size && address != block.user) return -1;
  *is_start = address <= block.user;
  return static_cast<long>(lo - 1);
}

void Marker::reach(long index, bool is_start, bool prior_definite) {
  Block& block = blocks_[index];
  if (block.reach == Reach::reachable) return;
  if (is_start && prior_definite) {
    block.reach = Reach::reachable;
    stack_.push(static_cast<std::uint32_t>(index));
  } else if (block.reach == Reach::unreached) {
    block.reach = Reach::possible;
    stack_.push(static_cast<std::uint32_t>(index));
  }
}

void Marker::mark_ignored() {
  for (std::size_t i = 0; i < count_; ++i) {
    if (blocks_[i].ignored) reach(static_cast<long>(i), true, true);
  }
}

void Marker::root_value(std::uintptr_t word) {
  bool is_start = false;
  long index = find_from_root(word, &is_start);
  if (index >= 0) reach(index, is_start, true);
}

void Marker::scan_root(std::uintptr_t begin, std::uintptr_t end) {
  reader_.for_each_word(begin, end, [this](std::uintptr_t location, std::uintptr_t word) {
    bool is_start = false;
    long index = find_from_root(word, &is_start);
    if (index < 0) return;
    if (word == blocks_[index].user) {
      // dbgalloc's own records of a guard block (its GuardRecord, its span
      // descriptor) live in mapped memory a root scan may cover: not a program pointer.
      if (debug::GuardRecord* record = debug::GuardBlocks::record_at(word)) {
        if (location == reinterpret_cast<std::uintptr_t>(&record->user)) return;
        if (record->span != nullptr && location == reinterpret_cast<std::uintptr_t>(&record->span->base)) return;
      }
    }
    reach(index, is_start, true);
  });
}

namespace {
// A quarantine ring entry: `user` starts a quarantined block and `cost` is what the
// debug layer charged the quarantine for it: the whole chunk (header, canaries,
// padding) of a heap block, the whole mapping of a guard block. The exact formula is
// the debug layer's (allocator.cpp quarantine_cost); this accepts any cost between the
// block's prefix-and-canaries footprint and a little more, so a program's {pointer,
// length} pair naming a freed block (length at most the block's size) never matches.
}  // namespace

void Marker::propagate() {
  drain([this](std::uint32_t index, std::uintptr_t word) {
    long target = find(word);
    if (target >= 0) reach(target, word == blocks_[target].user, blocks_[index].reach == Reach::reachable);
  });
}

void Marker::spread_suppression() {
  drain([this](std::uint32_t index, std::uintptr_t word) {
    long target = find(word);
    if (target < 0 || blocks_[target].reach != Reach::indirect || blocks_[target].suppression >= 0) return;
    blocks_[target].suppression = blocks_[index].suppression;
    stack_.push(static_cast<std::uint32_t>(target));
  });
}

void Marker::classify_lost() {
  for (std::size_t leader = 0; leader < count_; ++leader) {
    if (blocks_[leader].reach != Reach::unreached) continue;
    stack_.push(static_cast<std::uint32_t>(leader));
    drain([this, leader](std::uint32_t, std::uintptr_t word) {
      long target = find(word);
      if (target < 0 || static_cast<std::size_t>(target) == leader) return;
      if (blocks_[target].reach != Reach::unreached) return;
      blocks_[target].reach = Reach::indirect;
      stack_.push(static_cast<std::uint32_t>(target));
    });
  }
}

}  // namespace dbgalloc::leaks
