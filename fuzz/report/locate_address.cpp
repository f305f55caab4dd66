// libFuzzer harness for address classification (debug::locate, what every report and
// the fault handler start from): the input allocates and frees blocks (canary blocks of
// many sizes and alignments, guard-page blocks, large direct blocks) and then asks
// about addresses inside, around and far from them, and about wild, stack and global
// addresses. Nothing may crash, and wherever the harness knows the answer the
// classification must agree with it:
//   - a live block's start is `ok`, live, with its size; a byte inside it is `interior`
//     of that same block;
//   - a quarantined block's start is `ok` and quarantined; a byte inside it is not a block;
//   - any `ok` or `interior` answer names a block the harness owns, with the address
//     where that block says it is (or, for `ok`, a stale header of a block freed long
//     ago, in state freed);
//   - stack and global addresses are `not_ours`;
//   - block_near (what a deadly-signal report names) names only blocks the harness
//     owns (or a stale freed header), and for a byte of a live block, that block.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "debug/allocator.hpp"
#include "debug/block.hpp"
#include "debug/locate.hpp"
#include "options/options.hpp"
#include "report/report.hpp"

#include "../fuzz_input.hpp"

namespace {

using dbgalloc::fuzz::FuzzInput;
using dbgalloc::debug::Located;
using dbgalloc::debug::Lookup;
using dbgalloc::debug::State;

constexpr int kSlots = 16;

enum class SlotState { empty, live, quarantined };

struct Slot {
  std::uintptr_t user = 0;
  std::size_t size = 0;
  SlotState state = SlotState::empty;
};

Slot slots[kSlots];
// Blocks freed by this input: still in the quarantine (it is sized so that one input
// never evicts), whether or not a slot still names them.
constexpr int kMaxFreed = 8192;
Slot freed[kMaxFreed];
int freed_count = 0;
int findings = 0;
char global_bytes[64];

void on_finding(const dbgalloc::report::Finding&) { ++findings; }

[[noreturn]] void fail(const char* what, std::uintptr_t address, Lookup lookup) {
  std::fprintf(stderr, "locate_address: %s (address %#zx, lookup %d)\n", what, static_cast<std::size_t>(address),
               static_cast<int>(lookup));
  std::abort();
}

void configure_once() {
  static bool done = false;
  if (done) return;
  done = true;
  dbgalloc::options::Options options;
  options.halt_on_error = false;
  options.malloc_stack_depth = 0;
  options.quarantine_mb = 2048;  // one input frees at most ~400 MiB: nothing is evicted
  options.guard = dbgalloc::options::guard_choice::sample;
  options.guard_argument = 4;
  dbgalloc::options::set_current(options);
  dbgalloc::debug::configure(options);
  dbgalloc::report::set_finding_callback(on_finding);
}

std::size_t size_from(FuzzInput& in) {
  std::uint8_t shape = in.byte();
  switch (shape % 8) {
    case 0: return 0;
    case 1: return shape % 33;                           // tiny
    case 6: return 4096 - 16 + in.byte() % 32;           // around a page
    case 7: return (std::size_t{128} << 10) + in.bytes(2); // large: a direct mapping
    default: return in.bytes(2) % 8192;
  }
}

void check_against(Lookup lookup, const Located& found, std::uintptr_t address, const Slot& slot) {
  if (found.header->size() != slot.size) fail("located block has the wrong size", address, lookup);
  if (lookup == Lookup::ok) {
    if (address != slot.user) fail("ok for an address that is not the block start", address, lookup);
    State expected = slot.state == SlotState::live ? State::live : State::quarantined;
    if (found.header->state() != expected) fail("located block has the wrong state", address, lookup);
  } else {
    if (slot.state != SlotState::live) fail("interior of a block that is not live", address, lookup);
    if (address <= slot.user || address >= slot.user + slot.size) fail("interior outside the block", address, lookup);
  }
}

// The harness's block holding `address` as `lookup` says it must be, or abort.
void check_known(Lookup lookup, const Located& found, std::uintptr_t address) {
  if (lookup != Lookup::ok && lookup != Lookup::interior) return;
  // A header left behind by a block released long ago (its memory reused since, or
  // free) still reads as a freed block: free() reports such a pointer as a double free.
  if (lookup == Lookup::ok && found.header->state() == State::freed) return;
  for (const Slot& slot : slots) {
    if (slot.state == SlotState::live && found.user == slot.user) return check_against(lookup, found, address, slot);
  }
  for (int i = 0; i < freed_count; ++i) {
    if (found.user == freed[i].user) return check_against(lookup, found, address, freed[i]);
  }
  fail("located a block the harness does not own", address, lookup);
}

constexpr std::size_t kNearReach = 64 * 1024;  // as the fault handler asks

// block_near's answer for `address`; `expected` (when not 0) is the live block that
// holds it.
void check_near(std::uintptr_t address, std::uintptr_t expected) {
  Located near;
  if (!dbgalloc::debug::block_near(address, kNearReach, &near)) {
    if (expected != 0) fail("block_near misses the live block holding the address", address, Lookup::interior);
    return;
  }
  if (expected != 0 && near.user != expected) fail("block_near names another block", address, Lookup::interior);
  if (near.header->state() == State::freed) return;  // a stale header, as for locate
  for (const Slot& slot : slots) {
    if (slot.state == SlotState::live && near.user == slot.user) return;
  }
  for (int i = 0; i < freed_count; ++i) {
    if (near.user == freed[i].user) return;
  }
  fail("block_near names a block the harness does not own", address, Lookup::ok);
}

void probe(std::uintptr_t address) {
  Located found;
  Lookup lookup = dbgalloc::debug::locate(address, &found);
  check_known(lookup, found, address);
  check_near(address, 0);
}

void probe_slot(const Slot& slot, std::int64_t offset) {
  std::uintptr_t address = slot.user + static_cast<std::uintptr_t>(offset);
  Located found;
  Lookup lookup = dbgalloc::debug::locate(address, &found);
  check_known(lookup, found, address);
  bool inside = offset > 0 && static_cast<std::uint64_t>(offset) < slot.size;
  check_near(address, (inside || offset == 0) && slot.size > 0 && slot.state == SlotState::live ? slot.user : 0);
  if (offset == 0) {
    if (lookup != Lookup::ok || found.user != slot.user) fail("a block start is not found", address, lookup);
  } else if (inside && slot.state == SlotState::live) {
    if (lookup != Lookup::interior || found.user != slot.user) fail("a byte of a live block is not interior", address, lookup);
  } else if (inside && lookup != Lookup::not_a_block) {
    fail("a byte of a quarantined block is classified as a block", address, lookup);
  }
}

void release(Slot& slot) {
  dbgalloc::debug::deallocate(reinterpret_cast<void*>(slot.user), dbgalloc::debug::Kind::malloc, 0, false, 0);
  slot.state = SlotState::quarantined;
  if (freed_count == kMaxFreed) fail("too many frees for one input", slot.user, Lookup::ok);
  freed[freed_count++] = slot;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  configure_once();
  FuzzInput in(data, size);
  int local = 0;
  while (!in.empty()) {
    std::uint8_t op = in.byte();
    Slot& slot = slots[in.byte() % kSlots];
    switch (op % 8) {
      case 0:
      case 1: {  // allocate, sometimes over-aligned
        if (slot.state == SlotState::live) release(slot);
        dbgalloc::debug::Request request;
        request.bytes = size_from(in);
        std::uint8_t align = in.byte();
        request.alignment = (align & 3) == 0 ? std::size_t{32} << (align % 8) : 0;
        void* p = dbgalloc::debug::allocate(request);
        if (p == nullptr) fail("allocation failed", 0, Lookup::not_ours);
        slot = {reinterpret_cast<std::uintptr_t>(p), request.bytes, SlotState::live};
        break;
      }
      case 2:  // free: the block goes to the quarantine
        if (slot.state == SlotState::live) release(slot);
        break;
      case 3:
      case 4:  // an address near a block: inside, in its redzones, in the next blocks
        if (slot.state != SlotState::empty) probe_slot(slot, static_cast<std::int16_t>(in.bytes(2)));
        break;
      case 5:  // far from a block: the same span, neighbouring pages and spans
        if (slot.state != SlotState::empty) probe_slot(slot, static_cast<std::int32_t>(in.bytes(4)));
        break;
      case 6:  // wild addresses
        probe(in.bytes(8));
        break;
      case 7: {  // stack and global memory are never ours
        std::uintptr_t stack = reinterpret_cast<std::uintptr_t>(&local) + in.byte() % sizeof local;
        std::uintptr_t global = reinterpret_cast<std::uintptr_t>(global_bytes) + in.byte() % sizeof global_bytes;
        Located found;
        if (dbgalloc::debug::locate(stack, &found) != Lookup::not_ours) fail("a stack address is ours", stack, Lookup::ok);
        if (dbgalloc::debug::locate(global, &found) != Lookup::not_ours) fail("a global is ours", global, Lookup::ok);
        break;
      }
    }
  }
  for (Slot& s : slots) {
    if (s.state == SlotState::live) release(s);
    s = Slot();
  }
  freed_count = 0;
  // Freed blocks leave the quarantine between inputs, so no stale slot outlives its input.
  dbgalloc::debug::purge_quarantine();
  if (findings != 0) fail("correct use produced a report", 0, Lookup::ok);
  return 0;
}
