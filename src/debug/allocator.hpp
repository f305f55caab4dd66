// The debug layer's entry points, called by the interpose layer for every allocation
// function: block headers, canaries, fill patterns, guard blocks and the quarantine
// around the heap core (see block.hpp for the layout). `caller` is the return address
// into the program, so recorded stacks start at the program's own call.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::options {
struct Options;
}

namespace dbgalloc::debug {

// Which family allocated a block, so the matching deallocator can be checked.
enum class Kind : std::uint8_t { malloc = 0, new_scalar = 1, new_array = 2 };

struct Request {
  std::size_t bytes = 0;
  std::size_t alignment = 0;     // 0: the default 16
  Kind kind = Kind::malloc;
  bool aligned_new = false;      // operator new(align_val_t)
  bool zero = false;             // calloc
  std::uintptr_t caller = 0;
};

void configure(const options::Options& options);

// nullptr with errno = ENOMEM when memory is exhausted.
void* allocate(const Request& request);
// `sized` is the size passed to a sized delete (0: none); `aligned` says the
// align_val_t form of delete was used.
void deallocate(void* p, Kind kind, std::size_t sized, bool aligned, std::uintptr_t caller);
// glibc semantics: p == nullptr allocates; on failure nullptr, errno = ENOMEM, p kept.
void* reallocate(void* p, std::size_t bytes, std::uintptr_t caller);
// The requested size of a live block; 0 for a pointer dbgalloc does not own.
std::size_t usable_size(const void* p);

// Verifies every live block's canaries, every quarantined block's fill and the heap's
// invariants; reports each problem. Returns the number found. `caller` (0: none) is
// the program's call to the check, the stack shown with each finding.
std::size_t check_all(const char* operation, std::uintptr_t caller);
// check_all at exit. In a forked child it reads only the blocks on pages the child may
// have written since the fork (heap::Heap::walk_written): the pages it still shares
// hold what the parent holds, and the parent checks them at its own exit.
std::size_t check_at_exit();
// Called in a forked child: exit-time walks may then read only what it wrote.
void note_forked_child();
// Which guard-page mechanism is in use (chosen by configure), as a line of text.
const char* guard_mechanism();
// True when p lies in a guard block's span or slot.
bool is_guard_block(const void* p);

// Releases the whole quarantine (after verifying it).
void purge_quarantine();

// Requests the C API refuses. refuse_request reports one when allocator_may_return_null
// is 0 (with the stack of `caller`, the program's return address), then sets errno
// (EINVAL for alignments, else ENOMEM) and returns nullptr. `first`/`second`: count and
// size (overflows), the size (too big, pvalloc), the alignment and size (alignments).
enum class BadRequest : std::uint8_t {
  calloc_overflow,
  reallocarray_overflow,
  pvalloc_overflow,
  too_big,
  memalign_alignment,
  aligned_alloc_alignment,
  posix_memalign_alignment,
};
void* refuse_request(BadRequest what, std::size_t first, std::size_t second, std::uintptr_t caller);
// The largest request served (bytes); larger ones are refused as too big.
inline constexpr std::size_t kMaxRequest = (std::size_t{1} << 40) - 1;

// A live block as the leak scanner sees it.
struct BlockView {
  std::uintptr_t user;
  std::size_t size;
  Kind kind;
  std::uint32_t alloc_stack;   // stacks::StackId
  std::uint32_t alloc_thread;
  bool ignored;                // __lsan_ignore_object, or allocated while leak checks were disabled
  // Where the block's memory starts (its header; `user` for a guard block). Between the
  // block turning live and malloc returning, the allocating thread may hold it only by
  // this address (a register, a stack slot).
  std::uintptr_t begin;
};
using BlockVisitor = void (*)(const BlockView& block, void* context);
// Every live block the program owns (dbgalloc's internal blocks excluded), guard blocks
// included. Runs with allocator locks held: the visitor must not allocate or free.
void for_each_live_block(BlockVisitor visit, void* context);
// In a forked child: for_each_live_block narrowed to the blocks on pages the child may
// have written since the fork (every block it allocated: it wrote the header), guard
// blocks all. False, nothing visited, elsewhere or when pagemap cannot tell.
bool for_each_written_live_block(BlockVisitor visit, void* context);
// Marks the live block starting at p as not a leak; false when p is not one.
bool ignore_for_leaks(const void* p);
// Marks every block live now as not a leak (a test listener's baseline); returns how
// many were marked.
std::size_t ignore_all_live_blocks();
// While > 0 on a thread, its new blocks are marked ignored (__lsan_disable).
int& leak_check_disabled_depth();

struct DebugStats {
  std::size_t quarantined_blocks;
  std::size_t quarantined_bytes;
  std::size_t guard_blocks;     // live or quarantined
  std::size_t guard_fallbacks;  // guard wanted, canary block given
  std::size_t guard_slabs;      // mappings holding guard slots (guard regions)
  std::size_t guard_bytes;      // pages of the guard blocks (live or quarantined)
};
DebugStats stats();
// The quarantine ring's mapping (see Quarantine::mapping): the leak scan leaves it out
// of its roots. False when there is none.
bool quarantine_mapping(std::uintptr_t* begin, std::uintptr_t* end);

void lock_for_fork();
void unlock_after_fork();
void reset_after_fork();

}  // namespace dbgalloc::debug
