// libFuzzer harness for the heap's metadata integrity (heap/integrity.hpp): the input
// is a sequence of heap operations (allocate, aligned allocate, free, realloc, resize in
// place, trim, check) with writes of arbitrary bytes mixed in: into a block's chunk
// words (previous-size word, size word), its free-list links once freed, the words at
// its end (the next chunk's), or anywhere around a block freed earlier. It asserts:
//  - the heap never crashes nor touches memory it does not own (ASan);
//  - no block it hands out lies outside its own spans or overlaps a live block whose
//    words and bytes were never written to ("clean" blocks);
//  - clean blocks keep their contents (a realloc's copy included);
//  - a block the heap no longer takes as live has damage check_around() sees (its
//    own words or a neighbour's: a clean block may sit next to a damaged chunk);
//  - a refusal (free, realloc) always comes with a noted Fault: damage is reported,
//    never silent. (A clean block's free may be refused: a neighbour it would merge
//    with may be damaged.)
// The tags are 16 bits: one forged word in 65536 passes by luck (and libFuzzer's
// comparison tracing can learn a tag). Such a write is outside what the check promises,
// so the harness undoes any write that leaves a changed word passing its tag.
//
// Each input runs on a fresh Heap (release_all at the end), so damage never carries
// over between inputs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "heap/heap.hpp"
#include "heap/integrity.hpp"
#include "heap/poison.hpp"
#include "pages/pages.hpp"

#include "../fuzz_input.hpp"

namespace {

using dbgalloc::fuzz::FuzzInput;
using dbgalloc::heap::CheckResult;
using dbgalloc::heap::Fault;
using dbgalloc::heap::Heap;

constexpr int kSlots = 24;
constexpr int kStale = 16;

struct Slot {
  unsigned char* p = nullptr;
  std::size_t size = 0;
  std::size_t usable = 0;
  std::uint8_t id = 0;
  bool dirty = false;  // its chunk's words (or the next chunk's) or its bytes were written
};

std::size_t size_from(FuzzInput& in) {
  std::uint8_t scale = in.byte();
  std::size_t value = in.two_bytes();
  switch (scale % 8) {
    case 0: case 1: case 2: return value % 128;
    case 3: case 4: return value % 2048;
    case 5: case 6: return value;
    default: return Heap::kDirectThreshold + value;  // a direct block
  }
}

[[noreturn]] void fail(const char* what, const void* where) {
  std::fprintf(stderr, "metadata_ops: %s (%p)\n", what, where);
  abort();
}

// Block bytes: a pattern from the slot's id, written and checked at both ends and a
// few points between (overlaps are found by comparing ranges, not by the pattern).
unsigned char pattern(std::uint8_t id, std::size_t i) { return static_cast<unsigned char>(id * 29 + i * 7 + 1); }
std::size_t next_index(std::size_t i, std::size_t size) {
  if (i < 64 || i + 65 >= size) return i + 1;
  std::size_t next = i + 4093;
  return next + 64 < size ? next : size - 64;
}
void fill(const Slot& s) {
  for (std::size_t i = 0; i < s.size; i = next_index(i, s.size)) s.p[i] = pattern(s.id, i);
}
void verify(const Slot& s, std::size_t length) {
  for (std::size_t i = 0; i < length; i = next_index(i, s.size))
    if (s.p[i] != pattern(s.id, i)) fail("a clean block's bytes changed", s.p + i);
}

struct Harness {
  Heap& heap;
  Slot slots[kSlots];
  std::uintptr_t stale[kStale] = {};  // blocks freed earlier: targets for writes
  unsigned stale_next = 0;
  std::uint8_t next_id = 1;

  bool owned_by_heap(std::uintptr_t address, std::size_t bytes) const {
    dbgalloc::pages::Span* span = dbgalloc::pages::page_allocator().span_of(address);
    return span != nullptr && span->owner == &heap && span->contains(address) && span->contains(address + bytes - 1);
  }

  // A block just handed out: inside the heap's spans, overlapping no clean block.
  void place(Slot& s) {
    auto begin = reinterpret_cast<std::uintptr_t>(s.p);
    std::size_t bytes = s.size > 0 ? s.size : 1;
    if (!owned_by_heap(begin, bytes)) fail("a block outside the heap's spans", s.p);
    for (const Slot& other : slots) {
      if (&other == &s || other.p == nullptr || other.dirty) continue;
      auto other_begin = reinterpret_cast<std::uintptr_t>(other.p);
      std::size_t other_bytes = other.size > 0 ? other.size : 1;
      if (begin < other_begin + other_bytes && other_begin < begin + bytes) fail("a block overlaps a clean live block", s.p);
    }
    s.usable = heap.usable_size(s.p);
    s.id = next_id++;
    fill(s);
  }

  void expect_fault(const char* refused, const void* where) {
    Fault fault;
    if (!dbgalloc::heap::take_fault(&fault)) fail(refused, where);
  }

  void forget(Slot& s) {
    stale[stale_next++ % kStale] = reinterpret_cast<std::uintptr_t>(s.p);
    s = Slot();
  }

  void release(Slot& s) {
    if (!s.dirty) verify(s, s.size);
    if (!heap.owns_live_block(s.p)) {
      if (heap.check_around(reinterpret_cast<std::uintptr_t>(s.p)).ok) fail("a block is not live, with no damage near", s.p);
      s = Slot();  // a block the heap does not recognise for its damage: left to it
      return;
    }
    if (!heap.deallocate(s.p)) expect_fault("a free was refused without a fault", s.p);
    forget(s);
  }

  // A changed word that passes its tag: a head (PINUSE is outside its tag) or any
  // other tagged word. A change of PINUSE alone is no luck: the heap must cope with it.
  static bool passes_by_luck(const void* where, std::uint64_t before, std::uint64_t now) {
    namespace integrity = dbgalloc::heap::integrity;
    if (((before ^ now) & ~std::uint64_t{2}) == 0) return false;
    for (unsigned role = 0; role < integrity::kRoles; ++role) {
      for (std::uint64_t covered : {integrity::kValueMask, integrity::kValueMask & ~std::uint64_t{2}})
        if (integrity::intact(where, now, covered, static_cast<integrity::Role>(role))) return true;
    }
    return false;
  }

  // Arbitrary bytes at `address` (if the heap's span holds them), written past ASan:
  // chunk words are poisoned for everything but the heap's accessors.
  DBGALLOC_NO_ASAN void write(std::uintptr_t address, const std::uint8_t* bytes, std::size_t n) {
    if (!owned_by_heap(address, n)) return;
    std::uintptr_t first_word = address & ~std::uintptr_t{7};
    std::uintptr_t end_word = (address + n + 7) & ~std::uintptr_t{7};
    std::uint64_t saved[3];
    for (std::uintptr_t w = first_word, i = 0; w < end_word; w += 8, ++i)
      saved[i] = *reinterpret_cast<volatile std::uint64_t*>(w);
    for (std::size_t i = 0; i < n; ++i) reinterpret_cast<volatile std::uint8_t*>(address)[i] = bytes[i];
    for (std::uintptr_t w = first_word, i = 0; w < end_word; w += 8, ++i) {
      std::uint64_t now = *reinterpret_cast<volatile std::uint64_t*>(w);
      if (now != saved[i] && passes_by_luck(reinterpret_cast<void*>(w), saved[i], now)) {
        // A forgery that passes its tag by luck: outside the promise, undone.
        for (std::uintptr_t u = first_word, j = 0; u < end_word; u += 8, ++j)
          *reinterpret_cast<volatile std::uint64_t*>(u) = saved[j];
        return;
      }
    }
    for (Slot& s : slots) {
      if (s.p == nullptr) continue;
      // Its chunk's words, its bytes, and the next chunk's words (which decide whether
      // it is live).
      auto begin = reinterpret_cast<std::uintptr_t>(s.p) - Heap::kHeaderSize;
      std::uintptr_t end = reinterpret_cast<std::uintptr_t>(s.p) + s.usable + Heap::kHeaderSize;
      if (address < end && begin < address + n) s.dirty = true;
    }
  }

  void corrupt(FuzzInput& in) {
    std::uint8_t how = in.byte();
    std::uint8_t count = static_cast<std::uint8_t>(1 + in.byte() % 8);
    std::uint8_t bytes[8];
    for (std::uint8_t i = 0; i < count; ++i) bytes[i] = in.byte();
    Slot& s = slots[in.byte() % kSlots];
    std::uintptr_t base;
    if ((how & 1) != 0 || s.p == nullptr) {
      base = stale[in.byte() % kStale];  // a freed block: its words and links
      if (base == 0) return;
    } else {
      base = reinterpret_cast<std::uintptr_t>(s.p);
    }
    std::uintptr_t target;
    if ((how & 2) == 0) {
      target = base - 16 + (how >> 2) % 48;  // prev_size, size word, then links or bytes
    } else {
      // The end of a live block: the next chunk's prev_size and size words.
      std::size_t usable = s.p != nullptr && base == reinterpret_cast<std::uintptr_t>(s.p) ? s.usable : 0;
      target = base + usable + (how >> 2) % 24 - 8;
    }
    write(target, bytes, count);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Heap heap;
  Harness h{heap, {}, {}, 0, 1};
  FuzzInput in(data, size);
  Fault stale_fault;
  dbgalloc::heap::take_fault(&stale_fault);
  while (!in.empty()) {
    std::uint8_t op = in.byte();
    Slot& s = h.slots[in.byte() % kSlots];
    switch (op % 10) {
      case 0:
      case 1: {
        if (s.p != nullptr) break;
        s.size = size_from(in);
        s.p = static_cast<unsigned char*>(heap.allocate(s.size));
        if (s.p == nullptr) {
          s = Slot();
          break;  // damage may have cost the heap memory; nothing is promised
        }
        h.place(s);
        break;
      }
      case 2: {
        if (s.p != nullptr) break;
        std::size_t alignment = std::size_t{32} << (in.byte() % 8);
        s.size = size_from(in);
        s.p = static_cast<unsigned char*>(heap.allocate_aligned(alignment, s.size));
        if (s.p == nullptr) {
          s = Slot();
          break;
        }
        if (reinterpret_cast<std::uintptr_t>(s.p) % alignment != 0) fail("misaligned block", s.p);
        h.place(s);
        break;
      }
      case 3:
        if (s.p != nullptr) h.release(s);
        break;
      case 4: {
        if (s.p == nullptr || !heap.owns_live_block(s.p)) break;
        std::size_t n = size_from(in);
        if (!s.dirty) verify(s, s.size);
        auto* moved = static_cast<unsigned char*>(heap.reallocate(s.p, n));
        if (moved == nullptr) {
          h.expect_fault("a realloc was refused without a fault", s.p);
          break;
        }
        if (!s.dirty) {
          Slot copy = s;
          copy.p = moved;
          verify(copy, n < s.size ? n : s.size);
        }
        if (moved != s.p) h.stale[h.stale_next++ % kStale] = reinterpret_cast<std::uintptr_t>(s.p);
        s.p = moved;
        s.size = n;
        s.dirty = false;  // a new block, its words the heap's own
        h.place(s);
        break;
      }
      case 5: {
        if (s.p == nullptr || !heap.owns_live_block(s.p)) break;
        std::size_t n = size_from(in);
        if (heap.resize_in_place(s.p, n)) {
          if (heap.usable_size(s.p) < n) fail("resize_in_place left too little room", s.p);
          s.size = n;
          if (!s.dirty) h.place(s);
        }
        break;
      }
      case 6:
      case 7:
      case 8:
        h.corrupt(in);
        break;
      default:
        if ((op & 0x80) != 0) heap.trim();
        else (void)heap.check();  // must not crash on any damage
        break;
    }
  }
  for (Slot& s : h.slots)
    if (s.p != nullptr) h.release(s);
  (void)heap.check();
  heap.release_all();
  dbgalloc::heap::take_fault(&stale_fault);
  return 0;
}
