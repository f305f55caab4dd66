// libFuzzer harness for the heap core: the input is a sequence of operations
// (allocate, aligned allocate, free, realloc, in-place resize, calloc-style zeroed
// allocate). Every block is filled with a pattern derived from its id and verified
// when it is freed or moved. After every operation the chunks it touched and their
// neighbours are checked (check_around), the whole heap (check()) every kFullCheckEvery
// operations and at the end of each input: a full check after every operation held
// the harness to ~100 inputs/s. In this build the
// heap poisons everything but live payloads (cached chunks included), so ASan also
// catches any access outside what the heap handed out.
//
// The first byte picks the target: even, one Heap (the core alone); odd, the arenas
// with this thread's cache (thread_cache.hpp), where the operations also include a
// second free of the block just freed (must be refused), flushing the cache, trim,
// frees made by a helper thread (cross-thread frees into its cache), the helper's
// exit (its cache goes back to the heaps), and bursts of one size that overflow a
// cache stack and refill it.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "heap/arenas.hpp"
#include "heap/chunk.hpp"  // kFirstSegment
#include "heap/heap.hpp"
#include "heap/poison.hpp"  // the ASan interface in fuzz builds

#include "../fuzz_input.hpp"

namespace {

using dbgalloc::fuzz::FuzzInput;
using dbgalloc::heap::Arenas;
using dbgalloc::heap::CheckResult;
using dbgalloc::heap::Heap;

constexpr int kSlots = 64;
constexpr unsigned kFullCheckEvery = 32;

struct Slot {
  unsigned char* p = nullptr;
  std::size_t size = 0;
  std::uint32_t id = 0;
};

// Mostly small sizes, sometimes up to the direct-mapping range. Direct blocks are
// about one request in twenty: each is a fresh mapping, its page faults and an
// unmap, which at one in five cost most of the run time.
std::size_t size_from(FuzzInput& in) {
  std::uint8_t scale = in.byte();
  std::size_t value = in.two_bytes();
  switch (scale % 4) {
    case 0: return value % 64;
    case 1: return value % 1024;
    case 2: return value;
    default: return (scale & 0x30) == 0 ? value * 16 : value * 3;  // up to ~1 MiB, or 192 KiB
  }
}

unsigned char pattern(std::uint32_t id, std::size_t i) { return static_cast<unsigned char>(id * 167 + i * 13 + 1); }

// Large blocks are sampled (both ends in full, then one byte per 64 KiB), so big sizes
// stay cheap: touching every page of a fresh mapping cost most of the run time. Blocks
// are not trusted to be disjoint because of the fill: place() compares the ranges.
DBGALLOC_NO_COVERAGE std::size_t next_index(std::size_t i, std::size_t size) {
  if (size <= 4096 || i < 256 || i + 257 >= size) return i + 1;
  std::size_t next = i + 65521;
  return next + 256 < size ? next : size - 256;
}

DBGALLOC_NO_COVERAGE void fill(Slot& s) {
  for (std::size_t i = 0; i < s.size; i = next_index(i, s.size)) s.p[i] = pattern(s.id, i);
}

// calloc's part: the whole block is the caller's (ASan knows which bytes are), but
// zeroing a large fresh mapping only costs page faults: its ends are written.
DBGALLOC_NO_COVERAGE void zero(unsigned char* p, std::size_t n) {
  constexpr std::size_t kEnds = 16 * 1024;
  if (n <= 2 * kEnds) {
    std::memset(p, 0, n);
    return;
  }
#ifdef DBGALLOC_HAS_ASAN
  if (__asan_region_is_poisoned(p, n) != nullptr) abort();
#endif
  std::memset(p, 0, kEnds);
  std::memset(p + n - kEnds, 0, kEnds);
}

// A block just handed out (s) overlaps no other live block.
DBGALLOC_NO_COVERAGE void expect_disjoint(const Slot* slots, const Slot& s) {
  auto begin = reinterpret_cast<std::uintptr_t>(s.p);
  std::uintptr_t end = begin + (s.size > 0 ? s.size : 1);
  for (int i = 0; i < kSlots; ++i) {
    const Slot& other = slots[i];
    if (&other == &s || other.p == nullptr) continue;
    auto other_begin = reinterpret_cast<std::uintptr_t>(other.p);
    std::uintptr_t other_end = other_begin + (other.size > 0 ? other.size : 1);
    if (begin < other_end && other_begin < end) {
      __builtin_printf("block %u at %p overlaps block %u at %p\n", s.id, s.p, other.id, other.p);
      abort();
    }
  }
}

void place(const Slot* slots, Slot& s) {
  expect_disjoint(slots, s);
  fill(s);
}

DBGALLOC_NO_COVERAGE void verify(const Slot& s, std::size_t length) {
  for (std::size_t i = 0; i < length; i = next_index(i, s.size)) {
    if (s.p[i] != pattern(s.id, i)) {
      __builtin_printf("block %u byte %zu overwritten\n", s.id, i);
      abort();
    }
  }
}

void expect_sound(CheckResult result) {
  if (!result.ok) {
    __builtin_printf("heap check failed: %s at %#zx\n", result.problem, static_cast<std::size_t>(result.address));
    abort();
  }
}

void check(const Heap& heap) { expect_sound(heap.check()); }

// The addresses an operation touched (a block's old and new place).
struct Touched {
  const void* at[2] = {};
  void add(const void* p) {
    if (p == nullptr) return;
    at[at[0] == nullptr ? 0 : 1] = p;
  }
};

// A second thread that frees blocks it is handed (into its own cache) and can be told
// to exit (its cache then goes back to the heaps) and be started again.
class Helper {
 public:
  ~Helper() { stop(); }
  bool free_block(void* p) { return free_blocks(&p, 1); }
  // Frees them all in one hand-over (a burst's frees one by one cost most of the run
  // time in thread switches); true when every free was accepted.
  bool free_blocks(void* const* blocks, std::size_t count) {
    start();
    std::unique_lock<std::mutex> lock(mutex_);
    jobs_ = blocks;
    count_ = count;
    pending_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !pending_; });
    return result_;
  }
  void stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
    }
    changed_.notify_all();
    thread_.join();
    quit_ = false;
  }

 private:
  void start() {
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      changed_.wait(lock, [this] { return pending_ || quit_; });
      if (quit_) return;
      result_ = true;
      for (std::size_t i = 0; i < count_; ++i) result_ = dbgalloc::heap::arenas().deallocate(jobs_[i]) && result_;
      pending_ = false;
      changed_.notify_all();
    }
  }
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  void* const* jobs_ = nullptr;
  std::size_t count_ = 0;
  bool pending_ = false;
  bool quit_ = false;
  bool result_ = false;
};

void run_on_arenas(FuzzInput& in) {
  static Helper helper;
  Arenas& arenas = dbgalloc::heap::arenas();
  // Two arenas: this thread's and (most often) the helper's; check() walks fewer heaps.
  arenas.set_count(2);
  Slot slots[kSlots];
  std::uint32_t next_id = 1;
  void* just_freed = nullptr;  // a second free of it must be refused
  unsigned ops = 0;
  while (!in.empty()) {
    std::uint8_t op = in.byte();
    Slot& s = slots[in.byte() % kSlots];
    void* freed_now = nullptr;
    Touched touched;
    touched.add(s.p);
    switch (op % 11) {
      case 0:
      case 1: {  // allocate (zeroed for op 1): small sizes mostly, so the cache serves them
        if (s.p != nullptr) break;
        std::size_t n = size_from(in);
        s.p = static_cast<unsigned char*>(arenas.allocate(n));
        if (s.p == nullptr) abort();
        if (arenas.usable_size(s.p) < n) abort();
        if (op % 11 == 1) zero(s.p, n);
        s.size = n;
        s.id = next_id++;
        place(slots, s);
        break;
      }
      case 2: {  // aligned allocate
        if (s.p != nullptr) break;
        std::size_t alignment = std::size_t{1} << (in.byte() % 13);
        std::size_t n = size_from(in);
        s.p = static_cast<unsigned char*>(arenas.allocate_aligned(alignment, n));
        if (s.p == nullptr || reinterpret_cast<std::uintptr_t>(s.p) % alignment != 0) abort();
        s.size = n;
        s.id = next_id++;
        place(slots, s);
        break;
      }
      case 3:
      case 4: {  // free, by this thread or (op 3, half the time) the helper: a cross-thread free
        if (s.p == nullptr) break;
        verify(s, s.size);
        // Each hand-over to the helper is two thread switches: the bulk of a run's
        // time when every op 3 took one.
        bool by_helper = op % 11 == 3 && (op & 0x40) != 0;
        bool freed = by_helper ? helper.free_block(s.p) : arenas.deallocate(s.p);
        if (!freed) abort();
        freed_now = s.p;
        s = Slot();
        break;
      }
      case 5: {  // free again the block freed by the previous operation
        if (just_freed != nullptr && arenas.deallocate(just_freed)) {
          __builtin_printf("second free of %p accepted\n", just_freed);
          abort();
        }
        break;
      }
      case 6: {  // realloc
        if (s.p == nullptr) break;
        std::size_t n = size_from(in);
        bool invalid = false;
        auto* p = static_cast<unsigned char*>(arenas.reallocate(s.p, n, &invalid));
        if (p == nullptr || invalid) abort();
        s.p = p;
        verify(s, n < s.size ? n : s.size);
        s.size = n;
        s.id = next_id++;
        place(slots, s);
        break;
      }
      case 7:
        arenas.flush_thread_cache();
        break;
      case 8:
        if (in.byte() % 16 == 0) helper.stop();  // thread exit: its cache goes back
        else arenas.trim();
        break;
      case 10: {  // a burst of one size: overflows its cache stack (flush), then refills
        std::size_t n = size_from(in) % 1100;
        std::size_t count = in.byte() % 80;
        bool by_helper = (op & 0x80) != 0;
        unsigned char* burst[80];
        for (std::size_t i = 0; i < count; ++i) {
          burst[i] = static_cast<unsigned char*>(arenas.allocate(n));
          if (burst[i] == nullptr) abort();
          if (n > 0) burst[i][0] = burst[i][n - 1] = static_cast<unsigned char>(i);
        }
        for (std::size_t i = 0; i < count; ++i) {
          if (n > 0 && (burst[i][0] != static_cast<unsigned char>(i) || burst[i][n - 1] != static_cast<unsigned char>(i))) abort();
          if (!by_helper && !arenas.deallocate(burst[i])) abort();
        }
        if (by_helper && !helper.free_blocks(reinterpret_cast<void* const*>(burst), count)) abort();
        for (std::size_t i = 0; i < count; ++i) expect_sound(arenas.check_around(burst[i]));
        break;
      }
      default:  // a block freed by the helper comes back from its cache or the heap
        if (s.p != nullptr) break;
        s.p = static_cast<unsigned char*>(arenas.allocate(in.byte()));
        if (s.p == nullptr) abort();
        s.size = 0;
        s.id = next_id++;
        expect_disjoint(slots, s);
        break;
    }
    just_freed = freed_now;
    touched.add(s.p);
    for (const void* p : touched.at)
      if (p != nullptr) expect_sound(arenas.check_around(p));
    if (++ops % kFullCheckEvery == 0) expect_sound(arenas.check());
  }
  for (Slot& s : slots) {
    if (s.p == nullptr) continue;
    verify(s, s.size);
    if (!arenas.deallocate(s.p)) abort();
  }
  expect_sound(arenas.check());
  arenas.flush_thread_cache();
  dbgalloc::heap::ArenaStats stats = arenas.stats();
  if (stats.heap.live_chunks != 0) {
    __builtin_printf("%zu blocks still live\n", stats.heap.live_chunks);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  if (in.byte() % 2 == 1) {
    run_on_arenas(in);
    return 0;
  }
  static Heap heap;
  Slot slots[kSlots];
  std::uint32_t next_id = 1;
  unsigned ops = 0;
  while (!in.empty()) {
    std::uint8_t op = in.byte();
    Slot& s = slots[in.byte() % kSlots];
    Touched touched;
    touched.add(s.p);
    switch (op % 6) {
      case 0:
      case 1: {  // allocate, zeroed for op 1
        if (s.p != nullptr) break;
        std::size_t n = size_from(in);
        s.p = static_cast<unsigned char*>(heap.allocate(n));
        if (s.p == nullptr) abort();
        if (op % 6 == 1) zero(s.p, n);
        s.size = n;
        s.id = next_id++;
        place(slots, s);
        break;
      }
      case 2: {  // aligned allocate
        if (s.p != nullptr) break;
        std::size_t alignment = std::size_t{1} << (in.byte() % 17);
        std::size_t n = size_from(in);
        s.p = static_cast<unsigned char*>(heap.allocate_aligned(alignment, n));
        if (s.p == nullptr || reinterpret_cast<std::uintptr_t>(s.p) % alignment != 0) abort();
        s.size = n;
        s.id = next_id++;
        place(slots, s);
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
        std::size_t n = size_from(in);
        auto* p = static_cast<unsigned char*>(heap.reallocate(s.p, n));
        if (p == nullptr) abort();
        s.p = p;
        verify(s, n < s.size ? n : s.size);
        s.size = n;
        s.id = next_id++;
        place(slots, s);
        break;
      }
      default: {  // in-place resize only
        if (s.p == nullptr) break;
        std::size_t n = size_from(in);
        if (heap.resize_in_place(s.p, n)) {
          if (heap.usable_size(s.p) < n) abort();
          verify(s, n < s.size ? n : s.size);
          s.size = n;
          s.id = next_id++;
          place(slots, s);
        }
        break;
      }
    }
    touched.add(s.p);
    for (const void* p : touched.at)
      if (p != nullptr) expect_sound(heap.check_around(reinterpret_cast<std::uintptr_t>(p)));
    if (++ops % kFullCheckEvery == 0) check(heap);
  }
  for (Slot& s : slots) {
    if (s.p == nullptr) continue;
    verify(s, s.size);
    heap.deallocate(s.p);
  }
  check(heap);
  dbgalloc::heap::HeapStats stats = heap.stats();
  if (stats.live_chunks != 0) abort();
  // Each input starts from the heap a fresh one grows first: one free segment of the
  // first size (empty, sound: checked above). Keeping it, not unmapping and faulting
  // in a fresh one, saves most of a short input's time; any other shape is trimmed.
  if (stats.segments != 1 || stats.mapped_bytes != dbgalloc::heap::chunk_layout::kFirstSegment) heap.trim();
  return 0;
}
