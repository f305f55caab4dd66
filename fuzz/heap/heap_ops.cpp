// libFuzzer harness for the heap core: the input is a sequence of operations
// (allocate, aligned allocate, free, realloc, in-place resize, calloc-style zeroed
// allocate) on one Heap. Every block is filled with a pattern derived from its id and
// verified when it is freed or moved; Heap::check() runs after every operation. In
// this build the heap poisons everything but live payloads, so ASan also catches any
// access outside what the heap handed out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "heap/heap.hpp"

namespace {

using dbgalloc::heap::CheckResult;
using dbgalloc::heap::Heap;

constexpr int kSlots = 64;

struct Slot {
  unsigned char* p = nullptr;
  std::size_t size = 0;
  std::uint32_t id = 0;
};

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return offset_ >= size_; }
  std::uint8_t byte() { return offset_ < size_ ? data_[offset_++] : 0; }
  std::size_t size_value() {
    // Mostly small sizes, sometimes up to the direct-mapping range.
    std::uint8_t scale = byte();
    std::size_t value = static_cast<std::size_t>(byte()) | static_cast<std::size_t>(byte()) << 8;
    switch (scale % 4) {
      case 0: return value % 64;
      case 1: return value % 1024;
      case 2: return value;
      default: return value * 16;  // up to ~1 MiB
    }
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
};

unsigned char pattern(std::uint32_t id, std::size_t i) { return static_cast<unsigned char>(id * 167 + i * 13 + 1); }

// Large blocks are sampled (both ends and a sparse stride) so big sizes stay cheap;
// any overlap between blocks still hits a sampled byte.
std::size_t next_index(std::size_t i, std::size_t size) {
  if (size <= 4096 || i < 256 || i + 257 >= size) return i + 1;
  std::size_t next = i + 509;
  return next + 256 < size ? next : size - 256;
}

void fill(Slot& s) {
  for (std::size_t i = 0; i < s.size; i = next_index(i, s.size)) s.p[i] = pattern(s.id, i);
}

void verify(const Slot& s, std::size_t length) {
  for (std::size_t i = 0; i < length; i = next_index(i, s.size)) {
    if (s.p[i] != pattern(s.id, i)) {
      __builtin_printf("block %u byte %zu overwritten\n", s.id, i);
      abort();
    }
  }
}

void check(const Heap& heap) {
  CheckResult result = heap.check();
  if (!result.ok) {
    __builtin_printf("heap check failed: %s at %#zx\n", result.problem, static_cast<std::size_t>(result.address));
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Heap heap;
  Slot slots[kSlots];
  std::uint32_t next_id = 1;
  Input in(data, size);
  while (!in.empty()) {
    std::uint8_t op = in.byte();
    Slot& s = slots[in.byte() % kSlots];
    switch (op % 6) {
      case 0:
      case 1: {  // allocate, zeroed for op 1
        if (s.p != nullptr) break;
        std::size_t n = in.size_value();
        s.p = static_cast<unsigned char*>(heap.allocate(n));
        if (s.p == nullptr) abort();
        if (op % 6 == 1) std::memset(s.p, 0, n);
        s.size = n;
        s.id = next_id++;
        fill(s);
        break;
      }
      case 2: {  // aligned allocate
        if (s.p != nullptr) break;
        std::size_t alignment = std::size_t{1} << (in.byte() % 17);
        std::size_t n = in.size_value();
        s.p = static_cast<unsigned char*>(heap.allocate_aligned(alignment, n));
        if (s.p == nullptr || reinterpret_cast<std::uintptr_t>(s.p) % alignment != 0) abort();
        s.size = n;
        s.id = next_id++;
        fill(s);
        break;
      }
      case 3: {  // free
        if (s.p == nullptr) break;
        verify(s, s.size);
        if (!heap.owns_live_block(s.p)) abort();
        heap.deallocate(s.p);
        s = Slot();
        break;
      }
      case 4: {  // realloc
        if (s.p == nullptr) break;
        std::size_t n = in.size_value();
        auto* p = static_cast<unsigned char*>(heap.reallocate(s.p, n));
        if (p == nullptr) abort();
        s.p = p;
        verify(s, n < s.size ? n : s.size);
        s.size = n;
        s.id = next_id++;
        fill(s);
        break;
      }
      default: {  // in-place resize only
        if (s.p == nullptr) break;
        std::size_t n = in.size_value();
        if (heap.resize_in_place(s.p, n)) {
          if (heap.usable_size(s.p) < n) abort();
          verify(s, n < s.size ? n : s.size);
          s.size = n;
          s.id = next_id++;
          fill(s);
        }
        break;
      }
    }
    check(heap);
  }
  for (Slot& s : slots) {
    if (s.p == nullptr) continue;
    verify(s, s.size);
    heap.deallocate(s.p);
  }
  check(heap);
  if (heap.stats().live_chunks != 0) abort();
  // Keep one segment warm across inputs, as a real program's heap would be.
  heap.trim();
  return 0;
}
