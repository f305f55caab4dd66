// The leak scanner's insides, shared by leaks.cpp (orchestration and reports),
// leak_scan.cpp (the block table and the marking) and leak_roots.cpp (what counts as a
// root). Nothing here allocates through the tracked heap: every table lives in
// ScratchArray memory mapped for the check and registered as scratch, so the root scan
// never mistakes the scanner's own copies of block addresses for program pointers.
//
// Marking follows valgrind memcheck's rules, so the counts can be compared:
//  - a pointer to a block's first byte from a root, or from a block reached that way,
//    makes it *reachable*; a pointer into its interior (or any pointer from a block
//    that is itself only possibly reachable) makes it *possible* at best;
//  - then every block still unreached leads a clique: the unreached blocks it points
//    to (start or interior) become *indirect*; a leader reached from a later leader
//    becomes indirect too. What stays unreached is *direct* (definitely lost).
//  - a root word pointing into a block's header counts as its start: a thread stopped
//    while malloc hands the block out (after it turned live, waiting for a lock the
//    check holds, or in the lock-free thread-cache path) may hold it by that address
//    only. Words inside blocks do not: a program has no pointer to our headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "platform/platform.hpp"
#include "platform/populated_pages.hpp"
#include "platform/stop_threads.hpp"

namespace dbgalloc::leaks {

enum class Reach : std::uint8_t { unreached = 0, possible = 1, reachable = 2, indirect = 3 };

struct Block {
  std::uintptr_t user;
  std::size_t size;
  std::uint32_t alloc_stack;
  std::uint32_t alloc_thread;
  Reach reach;
  bool ignored;
  std::int32_t suppression;  // -1, or the suppression that hides it (leaks.cpp)
  std::uintptr_t begin;      // its header (debug::BlockView::begin), <= user
};

// Marks [begin, end) as the scanner's own memory (never a root); returns false when
// the registry is full. unregister_scratch forgets it.
bool register_scratch(std::uintptr_t begin, std::uintptr_t end);
void unregister_scratch(std::uintptr_t begin);
bool in_scratch(std::uintptr_t address);

// A growable array in mapped memory, registered as scratch. Growing maps a new region
// and copies; never calls malloc, so it may grow inside a live-block visitor.
template <typename T>
class ScratchArray {
 public:
  ScratchArray() = default;
  ScratchArray(const ScratchArray&) = delete;
  ScratchArray& operator=(const ScratchArray&) = delete;
  ~ScratchArray() { release(); }

  bool reserve(std::size_t capacity) {
    if (capacity <= capacity_) return true;
    std::size_t bytes = round_to_page(capacity * sizeof(T));
    auto* fresh = static_cast<T*>(platform::map(bytes));
    if (fresh == nullptr) return false;
    auto begin = reinterpret_cast<std::uintptr_t>(fresh);
    if (!register_scratch(begin, begin + bytes)) {
      platform::unmap(fresh, bytes);
      return false;
    }
    if (size_ > 0) std::memcpy(static_cast<void*>(fresh), static_cast<const void*>(data_), size_ * sizeof(T));
    release_storage();
    data_ = fresh;
    capacity_ = bytes / sizeof(T);
    return true;
  }
  bool push(const T& value) {
    if (size_ == capacity_ && !reserve(capacity_ < 256 ? 256 : capacity_ * 2)) return false;
    data_[size_++] = value;
    return true;
  }
  // Grows (doubling) so that n elements fit, and makes them the contents.
  bool resize(std::size_t n) {
    if (n > capacity_ && !reserve(n > capacity_ * 2 ? n : capacity_ * 2)) return false;
    size_ = n;
    return true;
  }
  T pop() { return data_[--size_]; }
  void clear() { size_ = 0; }
  void release() {
    release_storage();
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

  T* data() { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }

 private:
  static std::size_t round_to_page(std::size_t bytes) {
    std::size_t page = platform::page_size();
    return (bytes + page - 1) & ~(page - 1);
  }
  void release_storage() {
    if (data_ == nullptr) return;
    auto begin = reinterpret_cast<std::uintptr_t>(data_);
    unregister_scratch(begin);
    platform::unmap(data_, round_to_page(capacity_ * sizeof(T)));
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Reads memory that may be unmapped or made inaccessible meanwhile (other threads keep
// running during the check): process_vm_readv on our own pid copies what is readable
// and reports the rest instead of faulting. Where the kernel refuses that call
// (seccomp, very old kernels) it falls back to plain reads of ranges the caller found
// mapped.
class SafeReader {
 public:
  static constexpr std::size_t kChunk = 64 * 1024;
  bool init();
  void release();
  // Calls visit(location, word) for each aligned word of [begin, end) that could be read.
  template <typename Visit>
  void for_each_word(std::uintptr_t begin, std::uintptr_t end, Visit&& visit) {
    begin = (begin + 7) & ~std::uintptr_t{7};
    end &= ~std::uintptr_t{7};
    while (begin < end) {
      std::size_t want = end - begin < kChunk ? end - begin : kChunk;
      std::size_t got = read(begin, want);
      const std::uintptr_t* words = buffer_;
      for (std::size_t i = 0; i < got / 8; ++i) visit(begin + i * 8, words[i]);
      if (got < want) {
        // Skip the page that could not be read.
        std::uintptr_t page = platform::page_size();
        std::uintptr_t bad = begin + got;
        begin = (bad + page) & ~(page - 1);
      } else {
        begin += want;
      }
    }
  }

 private:
  std::size_t read(std::uintptr_t address, std::size_t bytes);

 public:
  static constexpr std::size_t kMaxBatch = 512;
  // Reads several ranges back to back into the buffer in one system call (the sizes are
  // multiples of 8 and add up to at most kChunk). False when any could not be read.
  bool read_batch(const std::uintptr_t* addresses, const std::size_t* sizes, std::size_t count);
  const std::uintptr_t* buffer() const { return buffer_; }

 private:
  std::uintptr_t* buffer_ = nullptr;
  bool direct_ = false;
  int pid_ = 0;
};

// The live blocks, sorted by address, and the marking over them.
class Marker {
 public:
  Marker(Block* blocks, std::size_t count, SafeReader& reader) : blocks_(blocks), count_(count), reader_(reader) {}
  bool init();
  // Sorts the table; call once after filling it.
  static void sort(Block* blocks, std::size_t count);
  // Ignored blocks (__lsan_ignore_object, __lsan_disable) are reachable roots.
  void mark_ignored();
  // One root value (a register).
  void root_value(std::uintptr_t word);
  // Every aligned word of [begin, end) is a root pointer.
  void scan_root(std::uintptr_t begin, std::uintptr_t end);
  // Follows everything reachable from the roots seen so far.
  void propagate();
  // Splits the unreached blocks into direct leaks (clique leaders) and indirect ones.
  void classify_lost();
  // Suppressed direct leaks take the indirect leaks they lead with them: call
  // suppress(index) for each (its Block::suppression set), then spread_suppression().
  void suppress(std::size_t index) { stack_.push(static_cast<std::uint32_t>(index)); }
  void spread_suppression();
  // Index of the block holding address (start or interior), or -1.
  long find(std::uintptr_t address) const;
  // find() for a root word, which may also point into a block's header (is_start then).
  long find_from_root(std::uintptr_t address, bool* is_start) const;

 private:
  void reach(long index, bool is_start, bool prior_definite);
  // Pops blocks off the mark stack until it is empty, calling visit(index, word) for
  // every word of each; small blocks are read in batches (one system call each).
  template <typename Visit>
  void drain(Visit&& visit);
  Block* blocks_;
  std::size_t count_;
  SafeReader& reader_;
  std::uintptr_t low_ = 0;
  std::uintptr_t root_low_ = 0;  // the first block's header
  std::uintptr_t high_ = 0;
  ScratchArray<std::uint32_t> stack_;
};

// Roots: calls marker.scan_root for every root range (see leak_roots.cpp for what is
// and is not scanned). plan_roots runs before the other threads are stopped (it asks
// the loader for the modules); scan_roots while they are. stack_low: the lowest address
// of the calling thread's stack to scan (the check's entry frame, registers spilled into
// it). Fills tids with the process's threads.
struct RootRegion {
  std::uintptr_t begin;
  std::uintptr_t end;
};
struct RootStats {
  std::size_t modules = 0;
  std::size_t module_bytes = 0;
  std::size_t mappings = 0;
  std::size_t mapping_bytes = 0;
  std::size_t threads = 0;
  std::size_t threads_stopped = 0;   // stopped for the check: registers and live stack
  std::size_t threads_blocked = 0;   // not stopped, but blocked: scanned from their stack pointer
  std::size_t quarantine_rings = 0;  // the quarantine ring, left out by its mapping
  std::size_t unpopulated_bytes = 0;  // pages never touched (pagemap): not read
  bool maps_read = false;
  bool maps_needed = true;  // false: every block that could be reported was reached before
};
struct RootPlan {
  ScratchArray<RootRegion> writable;  // module data segments to scan
  ScratchArray<RootRegion> excluded;  // module pages and the quarantine ring: left out of the maps pass
  platform::PopulatedPages populated;
};
// Asked by scan_roots once the threads are listed (tids filled) and again once the
// cheap roots (module data, registers, registered regions) are marked and followed:
// true when no further root could change what the check reports (every block it
// could report already reachable), so the scan of the anonymous mappings is skipped.
struct EnoughSoFar {
  bool (*enough)(void* context, ScratchArray<int>& tids);
  void* context;
};
void plan_roots(RootPlan& plan, RootStats* stats);
void scan_roots(Marker& marker, RootPlan& plan, std::uintptr_t stack_low, const platform::ThreadStop& stop,
                const RootRegion* regions, std::size_t region_count, ScratchArray<int>& tids, RootStats* stats,
                EnoughSoFar enough);

}  // namespace dbgalloc::leaks
