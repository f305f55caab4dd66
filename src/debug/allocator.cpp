#include "debug/allocator.hpp"

#include <errno.h>

#include <atomic>
#include <cstring>

#include "debug/block.hpp"
#include "debug/block_facts.hpp"
#include "debug/fault_handler.hpp"
#include "debug/guard_blocks.hpp"
#include "debug/guard_sites.hpp"
#include "debug/internal.hpp"
#include "debug/locate.hpp"
#include "debug/quarantine.hpp"
#include "debug/thread_quarantine.hpp"
#include "heap/arenas.hpp"
#include "options/options.hpp"
#include "pages/pages.hpp"
#include "platform/platform.hpp"
#include "platform/reentry.hpp"
#include "report/report.hpp"
#include "stacks/stacks.hpp"

namespace dbgalloc::debug {

using internal::damaged_canary;
using internal::filled_bytes;
using internal::record_stack;
using internal::release_block;
using internal::repair_canaries;

namespace {

struct Config {
  bool canaries = true;
  int malloc_fill = 0xbe;
  std::size_t max_malloc_fill = 4096;
  std::uint8_t free_fill = 0xfd;
  std::size_t max_free_fill = 4096;
  options::guard_choice guard_mode = options::guard_choice::none;
  long long guard_sample_rate = 0;
  bool guard_left = false;
  bool guard_random = false;
  std::size_t guard_alignment = 0;  // 0: flush (flush_alignment)
  std::size_t guard_large = 0;
  std::size_t guard_min = 0;
  std::size_t guard_max = 0;
  long long check_every = 0;
  std::size_t stack_depth = 16;
};

constinit Config config;
constinit GuardBlocks guards;
std::atomic<std::uint64_t> allocations_since_check{0};

thread_local std::uint32_t tls_sequence __attribute__((tls_model("initial-exec"))) = 0;
thread_local std::uint64_t tls_random __attribute__((tls_model("initial-exec"))) = 0;
thread_local long long tls_guard_countdown __attribute__((tls_model("initial-exec"))) = -1;
thread_local int tls_leaks_disabled __attribute__((tls_model("initial-exec"))) = 0;

// What a report says found the problem: the deallocator the program called.
const char* operation_for(Kind kind) { return report::deallocator_name(family_of(kind), false); }

}  // namespace

namespace internal {
// The program's stack at its call into dbgalloc (frame 0: `caller`).
stacks::StackId record_stack(std::uintptr_t caller) {
  if (config.stack_depth == 0) return stacks::kNoStack;
  std::uintptr_t frames[stacks::kMaxFrames];
  std::size_t count = stacks::capture_from_caller(frames, config.stack_depth, caller);
  return stacks::store(frames, count);
}
}  // namespace internal

namespace {

std::uint64_t next_random() {
  std::uint64_t x = tls_random;
  if (x == 0) x = platform::random_u64() | 1;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  tls_random = x;
  return x;
}

bool want_guard(std::size_t bytes) {
  // Blocks that span whole pages anyway: on guard regions a slot costs what a mapping of
  // their own did, and overreads and reads after free fault.
  if (config.guard_large > 0 && bytes >= config.guard_large && guards.guard_regions()) return true;
  if (config.guard_mode == options::guard_choice::none) return false;
  if (bytes < config.guard_min || bytes > config.guard_max) return false;
  if (config.guard_mode == options::guard_choice::all) return true;
  // One in N on average, at random intervals, as GWP-ASan samples.
  if (tls_guard_countdown < 0) tls_guard_countdown = static_cast<long long>(next_random() % (2 * config.guard_sample_rate));
  if (tls_guard_countdown-- > 0) return false;
  tls_guard_countdown = static_cast<long long>(next_random() % (2 * config.guard_sample_rate));
  return true;
}

unsigned log2_of(std::size_t value) { return static_cast<unsigned>(63 - __builtin_clzll(value)); }

// A heap block mapped for it alone (the heap never reuses those) is fresh from the
// kernel, already zero: calloc need not write, nor fault in, a single page of it.
bool fresh_mapping(std::uintptr_t user) {
  pages::Span* span = pages::page_allocator().span_of(user);
  return span != nullptr && span->kind == pages::SpanKind::direct;
}

// fresh: the block's bytes are known to read as zero (fresh_mapping, or a guard slot on
// guard regions, whose pages come back empty).
void fill_new_bytes(const Request& request, std::uintptr_t user, bool internal, bool fresh) {
  if (request.zero) {
    if (!fresh) std::memset(reinterpret_cast<void*>(user), 0, request.bytes);
  } else if (config.malloc_fill >= 0 && !internal) {
    std::size_t n = request.bytes < config.max_malloc_fill ? request.bytes : config.max_malloc_fill;
    std::memset(reinterpret_cast<void*>(user), config.malloc_fill, n);
  }
}

BlockHeader new_header(const Request& request, std::size_t alignment, std::uint64_t flags, stacks::StackId stack) {
  BlockHeader header{};
  header.bits = BlockHeader::pack(request.bytes, request.kind, log2_of(alignment), flags);
  header.alloc_stack = stack;
  header.alloc_thread = static_cast<std::uint32_t>(platform::thread_id());
  header.tail = ++tls_sequence;
  return header;
}

struct NewBlock {
  const BlockHeader* header;
  std::size_t prefix;
};

// Under the arena lock: header and canaries, so no walk sees the block half made.
void set_up_block(void* payload, std::size_t usable, void* context) {
  const auto* block = static_cast<const NewBlock*>(context);
  std::uintptr_t user = reinterpret_cast<std::uintptr_t>(payload) + block->prefix;
  BlockHeader* h = header_before(user);
  *h = *block->header;
  h->set_right_canary(usable - block->prefix - h->size());
  transition(h, State::live);
  fill_canary(user, user - kLeftCanary, user);
  fill_canary(user, user + h->size(), user + h->size() + h->right_canary());
}

// Damage the heap met in its own metadata while serving this thread (heap::Fault).
__attribute__((noinline)) void report_noted_heap_fault(const char* operation, std::uintptr_t caller) {
  heap::Fault fault;
  if (!heap::take_fault(&fault)) return;
  report::heap_metadata_corruption(nullptr, fault.address, fault.problem, operation, record_stack(caller));
}
// After every heap call: one thread-local load when nothing was noted.
inline void report_heap_fault(const char* operation, std::uintptr_t caller) {
  if (__builtin_expect(heap::fault_noted(), 0)) report_noted_heap_fault(operation, caller);
}

// The heap refused to take back `payload`, a block the debug layer knows: its chunk
// words (or a neighbour's it would merge with) fail their integrity check.
void report_refused(const BlockHeader* header, std::uintptr_t user, void* payload, const char* operation,
                    std::uintptr_t caller) {
  heap::Fault fault;
  if (!heap::take_fault(&fault)) {
    heap::CheckResult near = heap::arenas().check_around(payload);
    fault.address = near.ok ? reinterpret_cast<std::uintptr_t>(payload) - heap::Heap::kHeaderSize : near.address;
    fault.problem = near.ok ? "the heap does not hold this block as live: its chunk header was overwritten" : near.problem;
  }
  report::BlockFacts facts = facts_of(*header, user);
  report::heap_metadata_corruption(&facts, fault.address, fault.problem, operation, record_stack(caller));
}

void* allocate_canary_block(const Request& request, std::size_t alignment, const BlockHeader& header) {
  std::size_t prefix = prefix_for(alignment);
  std::size_t total = 0;
  if (__builtin_add_overflow(request.bytes, prefix + kMinRightCanary, &total) || request.bytes > BlockHeader::kMaxSize) {
    errno = ENOMEM;
    return nullptr;
  }
  NewBlock block{&header, prefix};
  heap::Arenas::Initializer initializer{set_up_block, &block};
  void* payload = alignment > 16 ? heap::arenas().allocate_aligned(alignment, total, nullptr, initializer)
                                 : heap::arenas().allocate(total, nullptr, initializer);
  report_heap_fault("malloc", request.caller);
  if (payload == nullptr) return nullptr;
  return reinterpret_cast<char*>(payload) + prefix;
}

// The largest power of two dividing the size, at most 16, so the block ends at its
// guard page (16 bytes would leave up to 15 unguarded). In C++ an object's size is a
// multiple of its alignment, so new and new[] blocks go down to 1. malloc'd memory
// often is not one object: a header before a byte array (flexible array members,
// CPython's bytes and code objects) needs the header's alignment whatever the size, so
// malloc blocks keep 8 (an odd size leaves at most 7 bytes, canaries that are never 0,
// so an unterminated string still runs into the guard page).
std::size_t flush_alignment(std::size_t size, Kind kind) {
  if (size == 0) return 16;
  std::size_t lowest = size & (~size + 1);
  std::size_t floor = kind == Kind::malloc ? 8 : 1;
  return lowest < floor ? floor : lowest < 16 ? lowest : 16;
}

void* allocate_guard_block(const Request& request, const BlockHeader& header) {
  // Right guards: the caller's own alignment if it asked for one larger, else flush
  // (or guard_alignment when set). Left guards start page aligned.
  std::size_t requested = request.alignment > 0 ? request.alignment : 1;
  std::size_t natural = config.guard_alignment > 0 ? config.guard_alignment : flush_alignment(request.bytes, request.kind);
  std::size_t guard_alignment = requested > natural ? requested : natural;
  // guard_side=random: one side or the other per block, so one run can catch both.
  bool left = config.guard_random ? (next_random() & 1) != 0 : config.guard_left;
  GuardRecord* record = guards.allocate(request.bytes, guard_alignment, left);
  if (record == nullptr) return nullptr;
  record->header = header;
  record->header.set_flag(BlockHeader::kGuardFlag);
  if (left) record->header.add_mark(BlockHeader::kMarkLeftGuard);
  transition(&record->header, State::live);
  std::uintptr_t user = record->user;
  std::uintptr_t begin = record->begin();
  std::uintptr_t end = begin + record->size();
  fill_canary(user, begin, user);
  fill_canary(user, user + request.bytes, end);
  return reinterpret_cast<void*>(user);
}

}  // namespace

namespace internal {
// The first canary byte that changed, or 0.
std::uintptr_t damaged_canary(const Located& block) {
  const BlockHeader* h = block.header;
  std::uintptr_t user = block.user;
  std::uintptr_t end = user + h->size();
  if (block.guard != nullptr) {
    std::uintptr_t begin = block.guard->begin();
    std::uintptr_t bad = first_bad_canary(user, begin, user);
    if (bad == 0) bad = first_bad_canary(user, end, begin + block.guard->size());
    return bad;
  }
  // The byte nearest the block is the one an overflow hits first.
  std::uintptr_t bad = first_bad_canary(user, end, end + h->right_canary());
  if (bad != 0) return bad;
  if (first_bad_canary(user, user - kLeftCanary, user) == 0) return 0;
  // Damaged on the left: name the byte nearest the block, the one an underflow hits first.
  for (std::uintptr_t a = user - 1; a >= user - kLeftCanary; --a) {
    if (*reinterpret_cast<const std::uint8_t*>(a) != canary_byte(user, a)) return a;
  }
  return 0;
}

std::size_t filled_bytes(std::size_t size) { return size < config.max_free_fill ? size : config.max_free_fill; }

void repair_canaries(const Located& block) {
  const BlockHeader* h = block.header;
  std::uintptr_t user = block.user;
  std::uintptr_t end = user + h->size();
  if (block.guard != nullptr) {
    fill_canary(user, block.guard->begin(), user);
    fill_canary(user, end, block.guard->begin() + block.guard->size());
    return;
  }
  fill_canary(user, user - kLeftCanary, user);
  fill_canary(user, end, end + h->right_canary());
}

void release_block(const Located& block, const char* operation, std::uintptr_t caller) {
  if (block.guard != nullptr) {
    transition(&block.guard->header, State::freed);
    guards.release(block.guard);
    return;
  }
  BlockHeader* h = block.header;
  transition(h, State::freed);
  void* payload = reinterpret_cast<void*>(block.user - prefix_for(h->alignment()));
  // A refused block stays where it is: lost to the heap, never handed out again.
  if (!heap::arenas().deallocate(payload)) report_refused(h, block.user, payload, operation, caller);
  report_heap_fault(operation, caller);
}
}  // namespace internal

namespace {

// Without block headers (canaries=0): a pointer the heap refused is a bad free, unless
// the chunk it names fails its integrity check (a header overwritten, or forged).
void refused_without_header(void* p, const char* operation, std::uintptr_t caller) {
  heap::Fault fault;
  if (heap::take_fault(&fault)) {
    report::heap_metadata_corruption(nullptr, fault.address, fault.problem, operation, record_stack(caller));
    return;
  }
  auto address = reinterpret_cast<std::uintptr_t>(p);
  heap::CheckResult near = heap::arenas().check_around(p);
  if (!near.ok && near.address == address - heap::Heap::kHeaderSize) {
    report::heap_metadata_corruption(nullptr, near.address, near.problem, operation, record_stack(caller));
    return;
  }
  report::bad_free(address, operation, record_stack(caller), "not a live block of dbgalloc's heap");
}

// Reports a pointer that is not a live block's start; true when it was one.
bool report_bad_pointer(Lookup lookup, const Located& block, std::uintptr_t p, const char* operation,
                        std::uintptr_t caller) {
  switch (lookup) {
    case Lookup::ok:
      return true;
    case Lookup::not_ours:
      report::bad_free(p, operation, record_stack(caller),
                       "the address is not in any heap dbgalloc manages (stack, global, foreign or unmapped memory)");
      return false;
    case Lookup::not_a_block:
      report::bad_free(p, operation, record_stack(caller),
                       "the address is in dbgalloc's heap but is not a live block (freed long ago, or never a block start)");
      return false;
    case Lookup::interior:
      report::interior_free(facts_of(*block.header, block.user), p, operation, record_stack(caller));
      return false;
    case Lookup::corrupted:
      report::header_corruption(p, operation, record_stack(caller));
      return false;
  }
  return false;
}

// Checks shared by free and realloc; false when the block must not be freed.
bool verify_for_release(const Located& block, Kind kind, std::size_t sized, bool aligned, const char* operation,
                        std::uintptr_t caller) {
  BlockHeader* h = block.header;
  if (h->state() == State::quarantined || h->state() == State::freed) {
    report::double_free(facts_of(*h, block.user), operation, record_stack(caller));
    return false;
  }
  bool aligned_block = h->has(BlockHeader::kAlignedNewFlag);
  if (h->kind() != kind || (kind != Kind::malloc && aligned_block != aligned)) {
    report::alloc_dealloc_mismatch(facts_of(*h, block.user), family_of(kind), aligned, operation, record_stack(caller));
  }
  if (sized != 0 && sized != h->size())
    report::new_delete_type_mismatch(facts_of(*h, block.user), sized, record_stack(caller));
  std::uintptr_t bad = damaged_canary(block);
  if (bad != 0) {
    report::heap_buffer_overflow(facts_of(*h, block.user), bad, operation, record_stack(caller));
    repair_canaries(block);  // reported once, not again when it leaves the quarantine
  }
  return true;
}

// A quarantined block's pages past its filled bytes: nothing reads or checks them
// until the heap reuses the chunk, so they go back to the kernel (reads give zeros).
// Only runs of at least kDiscardMin bytes: below that, the system call and the refault
// when the chunk is reused cost more than the memory is worth (at 32 KiB, prodcons spent
// 20% more time, most of it in the kernel).
constexpr std::size_t kDiscardMin = 64 * 1024;
void discard_unfilled_pages(std::uintptr_t user, std::size_t size) {
  std::uintptr_t page = platform::page_size();
  std::uintptr_t begin = (user + filled_bytes(size) + page - 1) & ~(page - 1);
  std::uintptr_t end = (user + size) & ~(page - 1);
  if (end > begin && end - begin >= kDiscardMin) platform::discard(reinterpret_cast<void*>(begin), end - begin);
}

void release_checked(const Located& block, const char* operation, std::uintptr_t caller) {
  BlockHeader* h = block.header;
  h->free_stack = record_stack(caller);
  h->free_thread = static_cast<std::uint32_t>(platform::thread_id());
  // Fill before the state changes, so a concurrent heap check never sees a
  // quarantined block whose fill is half written.
  if (block.guard == nullptr) {
    std::memset(reinterpret_cast<void*>(block.user), config.free_fill, filled_bytes(h->size()));
    discard_unfilled_pages(block.user, h->size());
  }
  transition(h, State::quarantined);
  if (block.guard != nullptr) GuardBlocks::protect(block.guard);
  internal::quarantine_or_release(block, operation, caller);
}

void maybe_check_everything() {
  if (config.check_every <= 0) return;
  if (allocations_since_check.fetch_add(1, std::memory_order_relaxed) + 1 <
      static_cast<std::uint64_t>(config.check_every))
    return;
  allocations_since_check.store(0, std::memory_order_relaxed);
  check_all("periodic heap check", 0);
}

stacks::Unwinder unwinder_of(options::unwinder_choice choice) {
  switch (choice) {
    case options::unwinder_choice::frame_pointer: return stacks::Unwinder::frame_pointer;
    case options::unwinder_choice::cfi: return stacks::Unwinder::cfi;
    case options::unwinder_choice::cfi_cached: break;
  }
  return stacks::Unwinder::cfi_cached;
}
}  // namespace

void configure(const options::Options& o) {
  config.canaries = o.canaries;
  config.malloc_fill = static_cast<int>(o.malloc_fill);
  config.max_malloc_fill = static_cast<std::size_t>(o.max_malloc_fill_size);
  config.free_fill = static_cast<std::uint8_t>(o.free_fill);
  config.max_free_fill = static_cast<std::size_t>(o.max_free_fill_size);
  bool every_block = o.guard == options::guard_choice::sample && o.guard_argument == 1;  // sample:1
  config.guard_mode = every_block ? options::guard_choice::all : o.guard;
  config.guard_sample_rate = o.guard_argument;
  config.guard_left = o.guard_side == options::guard_side_choice::left;
  config.guard_random = o.guard_side == options::guard_side_choice::random;
  config.guard_alignment = static_cast<std::size_t>(o.guard_alignment);
  config.guard_large = static_cast<std::size_t>(o.guard_large_size);
  config.guard_min = static_cast<std::size_t>(o.guard_min_size);
  config.guard_max = static_cast<std::size_t>(o.guard_max_size);
  config.check_every = o.check_every;
  config.stack_depth = static_cast<std::size_t>(o.malloc_stack_depth);
  internal::configure_quarantine(static_cast<std::size_t>(o.quarantine_mb) << 20,
                                 static_cast<std::size_t>(o.quarantine_blocks));
  guards.configure(platform::max_map_count(), o.guard_regions && platform::guard_regions_supported());
  init_secret(platform::random_u64());
  configure_guard_sites(o.guard_sites.c_str());
  if (config.stack_depth > 0) stacks::configure(unwinder_of(o.unwinder), config.stack_depth);
}

static_assert(kMaxRequest <= BlockHeader::kMaxSize, "a header must hold every size served");

void* allocate(const Request& request) {
  if (request.bytes > kMaxRequest) return refuse_request(BadRequest::too_big, request.bytes, 0, request.caller);
  if (!config.canaries) {
    void* p = request.alignment > 16 ? heap::arenas().allocate_aligned(request.alignment, request.bytes)
                                     : heap::arenas().allocate(request.bytes);
    report_heap_fault("malloc", request.caller);
    if (p != nullptr && request.zero && !fresh_mapping(reinterpret_cast<std::uintptr_t>(p)))
      std::memset(p, 0, request.bytes);
    return p;
  }
  std::size_t alignment = request.alignment > 16 ? request.alignment : 16;
  bool internal = platform::in_internal_code();
  std::uint64_t flags = 0;
  if (internal) flags |= BlockHeader::kInternalFlag;
  if (request.aligned_new) flags |= BlockHeader::kAlignedNewFlag;
  stacks::StackId stack = internal ? stacks::kNoStack : record_stack(request.caller);
  BlockHeader header = new_header(request, alignment, flags, stack);
  if (tls_leaks_disabled > 0) header.add_mark(BlockHeader::kMarkIgnoredForLeaks);
  void* user = nullptr;
  bool fresh = false;
  // Once per thread: a guard fault or a stack overflow is reported on it.
  if (!internal) ensure_alternate_stack();
  if (!internal && (want_guard(request.bytes) || guard_site_matches(request.caller))) {
    user = allocate_guard_block(request, header);
    fresh = user != nullptr && guards.guard_regions();
  }
  if (user == nullptr) user = allocate_canary_block(request, alignment, header);
  if (user == nullptr) return nullptr;
  if (!fresh) fresh = fresh_mapping(reinterpret_cast<std::uintptr_t>(user));
  fill_new_bytes(request, reinterpret_cast<std::uintptr_t>(user), internal, fresh);
  maybe_check_everything();
  return user;
}

void deallocate(void* p, Kind kind, std::size_t sized, bool aligned, std::uintptr_t caller) {
  if (p == nullptr) return;
  int saved_errno = errno;
  auto address = reinterpret_cast<std::uintptr_t>(p);
  if (!config.canaries) {
    if (!heap::arenas().deallocate(p)) refused_without_header(p, operation_for(kind), caller);
    report_heap_fault(operation_for(kind), caller);
    errno = saved_errno;
    return;
  }
  Located block;
  Lookup lookup = locate(address, &block);
  if (report_bad_pointer(lookup, block, address, operation_for(kind), caller)) {
    if (block.header->has(BlockHeader::kInternalFlag)) {
      release_block(block, operation_for(kind), caller);
    } else if (verify_for_release(block, kind, sized, aligned, operation_for(kind), caller)) {
      release_checked(block, operation_for(kind), caller);
    }
  }
  errno = saved_errno;
}

void* reallocate(void* p, std::size_t bytes, std::uintptr_t caller) {
  Request request;
  request.bytes = bytes;
  request.caller = caller;
  if (p == nullptr) return allocate(request);
  auto address = reinterpret_cast<std::uintptr_t>(p);
  if (!config.canaries) {
    bool invalid = false;
    void* moved = heap::arenas().reallocate(p, bytes, &invalid);
    if (invalid) {
      refused_without_header(p, "realloc", caller);
      errno = ENOMEM;
    }
    report_heap_fault("realloc", caller);
    return moved;
  }
  Located block;
  Lookup lookup = locate(address, &block);
  if (!report_bad_pointer(lookup, block, address, "realloc", caller)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (block.header->has(BlockHeader::kInternalFlag)) {
    void* moved = allocate(request);
    if (moved == nullptr) return nullptr;
    std::size_t old_size = block.header->size();
    std::memcpy(moved, p, old_size < bytes ? old_size : bytes);
    release_block(block, "realloc", caller);
    return moved;
  }
  if (!verify_for_release(block, Kind::malloc, 0, false, "realloc", caller)) {
    errno = ENOMEM;
    return nullptr;
  }
  // Always move, so a stale pointer to the old block lands in the quarantine.
  request.alignment = block.header->alignment() > 16 ? block.header->alignment() : 0;
  void* moved = allocate(request);
  if (moved == nullptr) return nullptr;
  std::size_t old_size = block.header->size();
  std::memcpy(moved, p, old_size < bytes ? old_size : bytes);
  release_checked(block, "realloc", caller);
  return moved;
}

std::size_t usable_size(const void* p) {
  if (p == nullptr) return 0;
  if (!config.canaries) return heap::arenas().usable_size(p);
  Located block;
  if (locate(reinterpret_cast<std::uintptr_t>(p), &block) != Lookup::ok) return 0;
  return block.header->state() == State::live ? block.header->size() : 0;
}

const char* guard_mechanism() {
  if (guards.guard_regions()) return "guard regions (madvise MADV_GUARD_INSTALL: no mapping split, no map-count limit)";
  if (!options::current().guard_regions) return "mprotect (guard_regions=0)";
  return "mprotect (the kernel has no guard regions, which came with Linux 6.13)";
}

bool is_guard_block(const void* p) { return GuardBlocks::record_at(reinterpret_cast<std::uintptr_t>(p)) != nullptr; }

int& leak_check_disabled_depth() { return tls_leaks_disabled; }

namespace internal {
bool canaries_on() { return config.canaries; }
std::uint8_t free_fill() { return config.free_fill; }
GuardBlocks& guard_blocks() { return guards; }
}  // namespace internal

DebugStats stats() {
  GuardStats g = guards.stats();
  ThreadQuarantine::Totals parked = ThreadQuarantine::totals();
  return DebugStats{internal::quarantine().blocks() + parked.blocks, internal::quarantine().bytes() + parked.bytes, g.live_spans,
                    g.fallbacks, g.slabs, g.bytes};
}

void lock_for_fork() {
  ThreadQuarantine::lock_registry();
  internal::quarantine().lock();
  guards.lock();
  heap::arenas().lock_all();
}

void unlock_after_fork() {
  heap::arenas().unlock_all();
  guards.unlock();
  internal::quarantine().unlock();
  ThreadQuarantine::unlock_registry();
}

void reset_after_fork() {
  heap::arenas().reset_locks_after_fork();
  guards.reset_lock_after_fork();
  internal::quarantine().reset_lock_after_fork();
  // Last: flushing the dead threads' batches takes the locks reset above.
  ThreadQuarantine::reset_after_fork();
}

}  // namespace dbgalloc::debug
