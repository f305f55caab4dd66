// Cached CFI unwinder: complete stacks through code without frame pointers at close to
// frame-pointer speed.
//
// Each return address met in a walk is looked up in a lock-free open-addressing table
// keyed by PC. A miss parses the module's .eh_frame once (eh_frame.hpp) and publishes
// the resulting rule; a hit costs one cache line. A step is then three loads:
//   CFA = (RSP or RBP) + offset; next PC = *(CFA + ra_offset);
//   RBP = *(CFA + rbp_offset) when the frame saved it.
// Every address read must lie in the thread's stack, above the previous frame.
//
// Table: kSlots entries of { atomic key, atomic rule }, mapped on first use. An empty
// key is 0; a writer claims a slot by CAS 0 -> (pc | kBusy), stores the rule, then
// publishes key = pc with release. Readers trust a slot only when key == pc. Slots are
// written once and never cleared, so the table needs no lock and no epoch. When the
// probe window is full the rule is still used, just not cached.
//
// Fallback: a PC whose rule the cache cannot express (DWARF expressions, signal
// frames, CFA in another register), or a CFA outside the thread's stack (e.g. a signal
// handler on an alternate stack), restarts the whole capture with _Unwind_Backtrace
// (cfi_unwinder), so the result always equals what libgcc would have produced.
//
// Replay: a thread keeps the states of its previous walk (one per trail: capture_keyed
// picks it by key) and the stack slots each step read; a new walk that meets one of
// those states re-reads the slots and, while they hold the same words, follows the
// recorded states without rule lookups. The result is
// the same as a full walk's (tests/stacks/cached_cfi_unwinder_test.cpp).
//
// Limitation: rules are keyed by address, so a library dlclose'd and replaced by
// different code at the same address would be walked with stale rules.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::stacks::cached_cfi_unwinder {

// skip = 0: frames[0] is a PC in the caller. Async-signal-safe on glibc >= 2.35, where
// modules are found with _dl_find_object.
std::size_t capture(std::uintptr_t* frames, std::size_t max, std::size_t skip);
// The same, replaying from the trail kept for `key` (the caller's choice: e.g. the
// program's return address, so allocations and frees each replay their own last walk).
std::size_t capture_keyed(std::uintptr_t* frames, std::size_t max, std::size_t skip, std::uintptr_t key);
// Walks from a live frame record { saved rbp, return address } above the caller's frame
// (the one an entry point marked, entry_frame.hpp), in the thread's stack that ends at
// `high`: frames[0] is its return address, and the trail is the one kept for that
// address. False when the rules cannot finish the walk (the caller then falls back to
// _Unwind_Backtrace itself).
bool capture_from_record(std::uintptr_t* frames, std::size_t max, std::uintptr_t record, std::uintptr_t high,
                         std::size_t* count);

struct Stats {
  std::uint64_t rules_cached;  // distinct PCs in the table
  std::uint64_t fallbacks;     // captures handed to _Unwind_Backtrace
};
Stats stats();
// Walk steps this thread replayed from its previous walk instead of taking by rules.
std::uint64_t steps_replayed_in_thread();

}  // namespace dbgalloc::stacks::cached_cfi_unwinder
