// libFuzzer harness for the debug layer: the input is a sequence of allocations, frees
// and reallocations, with deliberate misuse mixed in (overflow by k bytes, underflow,
// write after free, double free, wrong deallocator, wrong sized delete, interior and
// wild frees). The harness knows which report each misuse must produce and checks
// that exactly that report came, at exactly the right address; correct operations must
// produce none. Reports arrive through the finding callback instead of aborting.
// After every operation the heap chunks it touched are checked (check_around); the
// whole check (every block's canaries and fill, the heap's invariants) runs every
// kFullCheckEvery operations and at the end of each input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "debug/allocator.hpp"
#include "debug/block.hpp"
#include "heap/arenas.hpp"
#include "options/options.hpp"
#include "report/report.hpp"

#include "../fuzz_input.hpp"

namespace {

using dbgalloc::fuzz::FuzzInput;
using dbgalloc::debug::Kind;
using dbgalloc::report::ErrorClass;
using dbgalloc::report::Finding;

constexpr int kSlots = 32;
constexpr int kMaxFindings = 8;
constexpr unsigned kFullCheckEvery = 32;

struct Slot {
  unsigned char* p = nullptr;
  std::size_t size = 0;
  Kind kind = Kind::malloc;
  bool aligned = false;
  std::size_t alignment = 0;
};

// The heap payload holding a canary block (guard blocks are not in the heap).
const void* payload_of(const Slot& s) {
  return s.p - dbgalloc::debug::prefix_for(s.alignment > 16 ? s.alignment : 16);
}

struct Seen {
  ErrorClass error;
  std::uintptr_t address;
};
Seen seen[kMaxFindings];
int seen_count = 0;

void on_finding(const Finding& finding) {
  if (seen_count < kMaxFindings) seen[seen_count] = {finding.error, finding.address};
  ++seen_count;
}

[[noreturn]] void fail(const char* what, std::uintptr_t address) {
  std::fprintf(stderr, "debug_ops: %s (address %#zx; %d findings", what, static_cast<std::size_t>(address), seen_count);
  for (int i = 0; i < seen_count && i < kMaxFindings; ++i)
    std::fprintf(stderr, "; %s at %#zx", dbgalloc::report::class_name(seen[i].error), static_cast<std::size_t>(seen[i].address));
  std::fprintf(stderr, ")\n");
  abort();
}

void expect_none(const char* after) {
  if (seen_count != 0) fail(after, 0);
}

void expect_exactly(ErrorClass error, std::uintptr_t address, const char* what) {
  if (seen_count != 1 || seen[0].error != error || seen[0].address != address) fail(what, address);
  seen_count = 0;
}

// Mostly small; now and then past the largest guard slab slot (32 pages), which makes
// a guard block a one-slot slab.
std::size_t size_from(FuzzInput& in) {
  std::size_t value = in.two_bytes();
  switch (in.byte() & 7) {
    case 0: return value * 3;
    case 1: case 2: case 3: return value % 256;
    default: return value % 20000;
  }
}

void configure_once() {
  static bool done = false;
  if (done) return;
  done = true;
  dbgalloc::options::Options options;
  options.halt_on_error = false;
  options.quarantine_mb = 1;
  options.malloc_stack_depth = 4;
  options.unwinder = dbgalloc::options::unwinder_choice::frame_pointer;  // the harness is built with them
  options.guard = dbgalloc::options::guard_choice::sample;
  options.guard_argument = 8;
  // Default-mode guard blocks (guard regions only) from 12 KiB, so inputs reach them.
  options.guard_large_size = 12288;
  dbgalloc::options::set_current(options);
  dbgalloc::debug::configure(options);
  dbgalloc::report::set_finding_callback(on_finding);
}

void* allocate(Slot& s, std::size_t size, Kind kind, bool aligned, std::size_t alignment) {
  dbgalloc::debug::Request request;
  request.bytes = size;
  request.kind = kind;
  request.aligned_new = aligned;
  request.alignment = alignment;
  s.p = static_cast<unsigned char*>(dbgalloc::debug::allocate(request));
  if (s.p == nullptr) fail("allocation failed", 0);
  if (dbgalloc::debug::usable_size(s.p) != size) fail("usable size is not the requested size", reinterpret_cast<std::uintptr_t>(s.p));
  s.size = size;
  s.kind = kind;
  s.aligned = aligned;
  s.alignment = alignment;
  std::memset(s.p, 0x5a, size);
  return s.p;
}

void release(Slot& s) {
  dbgalloc::debug::deallocate(s.p, s.kind, 0, s.aligned, 0);
  s = Slot();
}

Kind other_kind(Kind kind) { return kind == Kind::malloc ? Kind::new_scalar : Kind::malloc; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  configure_once();
  Slot slots[kSlots];
  FuzzInput in(data, size);
  unsigned ops = 0;
  while (!in.empty()) {
    std::uint8_t op = in.byte();
    Slot& s = slots[in.byte() % kSlots];
    auto user = reinterpret_cast<std::uintptr_t>(s.p);
    const void* touched = s.p != nullptr ? payload_of(s) : nullptr;
    switch (op % 12) {
      case 0:
      case 1:
      case 2: {  // allocate: malloc, new, new[], sometimes aligned
        if (s.p != nullptr) break;
        auto kind = static_cast<Kind>(in.byte() % 3);
        bool aligned = kind != Kind::malloc && (in.byte() & 1) != 0;
        std::size_t alignment = aligned || (in.byte() & 3) == 0 ? std::size_t{32} << (in.byte() % 6) : 0;
        allocate(s, size_from(in), kind, aligned, alignment);
        expect_none("allocation reported something");
        break;
      }
      case 3:  // correct free
        if (s.p == nullptr) break;
        release(s);
        expect_none("a correct free reported something");
        break;
      case 4: {  // correct realloc (malloc blocks only)
        if (s.p == nullptr || s.kind != Kind::malloc || s.aligned) break;
        std::size_t n = size_from(in);
        if (n == 0) n = 1;
        auto* moved = static_cast<unsigned char*>(dbgalloc::debug::reallocate(s.p, n, 0));
        if (moved == nullptr) fail("realloc failed", user);
        for (std::size_t i = 0; i < (n < s.size ? n : s.size); ++i)
          if (moved[i] != 0x5a) fail("realloc lost contents", reinterpret_cast<std::uintptr_t>(moved + i));
        std::memset(moved, 0x5a, n);
        s.p = moved;
        s.size = n;
        expect_none("a correct realloc reported something");
        break;
      }
      case 5: {  // overflow by k, found at free (guard blocks fault instead)
        if (s.p == nullptr || dbgalloc::debug::is_guard_block(s.p)) break;
        std::size_t k = in.byte() % 16;  // the right canary is at least 16 bytes
        s.p[s.size + k] = 0x01;           // canary bytes are 0x80..0xfe
        std::uintptr_t bad = user + s.size + k;
        release(s);
        expect_exactly(ErrorClass::heap_buffer_overflow, bad, "overflow not reported exactly");
        break;
      }
      case 6: {  // underflow by k
        if (s.p == nullptr || dbgalloc::debug::is_guard_block(s.p)) break;
        std::size_t k = 1 + in.byte() % 16;
        s.p[-static_cast<std::ptrdiff_t>(k)] = 0x01;
        release(s);
        expect_exactly(ErrorClass::heap_buffer_underflow, user - k, "underflow not reported exactly");
        break;
      }
      case 7: {  // write after free, found when the quarantine is purged
        if (s.p == nullptr || s.size == 0 || dbgalloc::debug::is_guard_block(s.p)) break;
        // Only the first max_free_fill_size bytes are filled and checked after a free.
        auto checked = static_cast<std::size_t>(dbgalloc::options::current().max_free_fill_size);
        std::size_t offset = size_from(in) % (s.size < checked ? s.size : checked);
        unsigned char* p = s.p;
        release(s);
        expect_none("a correct free reported something");
        p[offset] = 0x01;  // the free fill is 0xfd
        dbgalloc::debug::purge_quarantine();
        expect_exactly(ErrorClass::heap_use_after_free, user + offset, "write after free not reported exactly");
        break;
      }
      case 8: {  // double free
        if (s.p == nullptr) break;
        unsigned char* p = s.p;
        Kind kind = s.kind;
        bool aligned = s.aligned;
        // A guard block may have left the quarantine first: its slot (or pooled span)
        // still names it, its record freed, so still a double free. A block past the
        // largest slab slot had a slab of its own, unmapped as it left: then the stale
        // pointer is no longer dbgalloc's at all.
        bool via_pool = dbgalloc::debug::is_guard_block(p) && (in.byte() & 1) != 0;
        bool own_slab = s.size > 32 * 4096;
        release(s);
        if (via_pool) {
          dbgalloc::debug::purge_quarantine();
          expect_none("purging the quarantine reported something");
          if (dbgalloc::debug::is_guard_block(p) == own_slab) fail("a purged guard block's slot was not kept, or a one-slot slab was", user);
        }
        dbgalloc::debug::deallocate(p, kind, 0, aligned, 0);
        expect_exactly(via_pool && own_slab ? ErrorClass::bad_free : ErrorClass::double_free, user,
                       "double free not reported exactly");
        break;
      }
      case 9: {  // wrong deallocator
        if (s.p == nullptr) break;
        Kind wrong = other_kind(s.kind);
        dbgalloc::debug::deallocate(s.p, wrong, 0, false, 0);
        s = Slot();
        expect_exactly(ErrorClass::alloc_dealloc_mismatch, user, "mismatch not reported exactly");
        break;
      }
      case 10: {  // interior free, then the correct one
        if (s.p == nullptr || s.size < 2) break;
        std::size_t offset = 1 + size_from(in) % (s.size - 1);
        dbgalloc::debug::deallocate(s.p + offset, s.kind, 0, s.aligned, 0);
        expect_exactly(ErrorClass::bad_free, user + offset, "interior free not reported exactly");
        release(s);
        expect_none("free after an interior free reported something");
        break;
      }
      default: {  // a pointer dbgalloc never handed out
        int local = 0;
        dbgalloc::debug::deallocate(&local, Kind::malloc, 0, false, 0);
        expect_exactly(ErrorClass::bad_free, reinterpret_cast<std::uintptr_t>(&local), "wild free not reported exactly");
        break;
      }
    }
    // Every operation leaves the heap sound and every live block intact.
    for (const void* p : {touched, s.p != nullptr ? payload_of(s) : nullptr}) {
      if (p == nullptr) continue;
      dbgalloc::heap::CheckResult near = dbgalloc::heap::arenas().check_around(p);
      if (!near.ok) fail(near.problem, near.address);
    }
    if (++ops % kFullCheckEvery == 0 && dbgalloc::debug::check_all("fuzz check", 0) != 0)
      fail("heap check found a problem after an operation", op);
  }
  for (Slot& s : slots) {
    if (s.p != nullptr) release(s);
  }
  dbgalloc::debug::purge_quarantine();
  expect_none("releasing everything reported something");
  if (dbgalloc::debug::check_all("fuzz check", 0) != 0) fail("heap check found a problem", 0);
  seen_count = 0;
  return 0;
}
