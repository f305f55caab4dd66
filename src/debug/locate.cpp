#include "debug/locate.hpp"

#include "heap/arenas.hpp"
#include "heap/poison.hpp"
#include "pages/pages.hpp"
#include "platform/platform.hpp"

namespace dbgalloc::debug {

namespace {
bool plausible(const BlockHeader* header) {
#ifdef DBGALLOC_HAS_ASAN
  // Fuzz builds: the heap poisons free memory, and no block lives there. (Elsewhere the
  // read is harmless: the span is mapped, and only a sealed header counts.)
  if (__asan_region_is_poisoned(const_cast<BlockHeader*>(header), sizeof *header) != nullptr) return false;
#endif
  return header->well_formed() && sealed(header);
}
}  // namespace

bool block_in_payload(std::uintptr_t payload, std::size_t usable, Located* out) {
  // The header sits at prefix_for(alignment) - 48 into the payload; try each alignment.
  // A freed header counts only when nothing better is found: it may be stale, an
  // earlier and less aligned block's left in this block's alignment padding (a block
  // being released right now also reads as freed until the heap takes it back).
  BlockHeader* freed = nullptr;
  std::size_t freed_prefix = 0;
  for (unsigned shift = 4; shift < 40; ++shift) {
    std::size_t prefix = prefix_for(std::size_t{1} << shift);
    if (prefix > usable) break;
    if (shift == 5) continue;  // 32 and 64 share a prefix
    BlockHeader* header = header_before(payload + prefix);
    if (!plausible(header) || prefix_for(header->alignment()) != prefix) continue;
    if (header->state() == State::freed) {
      if (freed == nullptr) {
        freed = header;
        freed_prefix = prefix;
      }
      continue;
    }
    out->header = header;
    out->user = payload + prefix;
    out->guard = nullptr;
    return true;
  }
  if (freed == nullptr) return false;
  out->header = freed;
  out->user = payload + freed_prefix;
  out->guard = nullptr;
  return true;
}

Lookup locate(std::uintptr_t address, Located* out) {
  pages::Span* span = pages::page_allocator().span_of(address);
  if (span == nullptr) return Lookup::not_ours;
  if (span->kind == pages::SpanKind::guard_block) {
    GuardRecord* record = GuardBlocks::record_at(address);
    if (record == nullptr) return Lookup::not_ours;
    out->header = &record->header;
    out->user = record->user;
    out->guard = record;
    if (!sealed(&record->header)) return Lookup::corrupted;
    if (address == record->user) return Lookup::ok;
    return record->header.state() == State::live && address > record->user &&
                   address < record->user + record->header.size()
               ? Lookup::interior
               : Lookup::not_a_block;
  }
  if (span->kind != pages::SpanKind::heap_segment && span->kind != pages::SpanKind::direct) return Lookup::not_ours;
  // The span's guard pages hold no block, and reading around them would fault.
  if (address < span->base || address >= span->base + span->size) return Lookup::not_a_block;
  BlockHeader* released = nullptr;
  if ((address & 15) == 0 && address >= span->base + kPrefix) {
    BlockHeader* header = header_before(address);
    if (plausible(header) && header->state() != State::freed) {
      out->header = header;
      out->user = address;
      out->guard = nullptr;
      return Lookup::ok;
    }
    // A freed header is a block released to the heap, or a stale copy of one inside
    // memory a live block now covers: the live chunks below tell them apart.
    if (plausible(header)) released = header;
  }
  // Not a block start: find which live chunk (if any) holds the address.
  void* payload = heap::arenas().find_live_block_containing(reinterpret_cast<void*>(address));
  if (payload == nullptr && released != nullptr) {
    out->header = released;
    out->user = address;
    out->guard = nullptr;
    return Lookup::ok;
  }
  if (payload == nullptr) return Lookup::not_a_block;
  auto base = reinterpret_cast<std::uintptr_t>(payload);
  std::size_t usable = heap::arenas().usable_size(payload);
  if (!block_in_payload(base, usable, out)) {
    // A live chunk whose block header is gone: if the address is where a default
    // block would start, its header was overwritten.
    return address == base + kPrefix ? Lookup::corrupted : Lookup::not_a_block;
  }
  if (address >= out->user && address < out->user + out->header->size() && out->header->state() == State::live)
    return Lookup::interior;
  return Lookup::not_a_block;
}

namespace {
// The block at `probe`, a usable byte of `span`.
bool block_in_span(const pages::Span* span, std::uintptr_t probe, Located* out) {
  if (span->kind == pages::SpanKind::guard_block) {
    GuardRecord* record = GuardBlocks::record_at(probe);
    if (record == nullptr || !sealed(&record->header)) return false;
    out->header = &record->header;
    out->user = record->user;
    out->guard = record;
    return true;
  }
  if (span->kind != pages::SpanKind::heap_segment && span->kind != pages::SpanKind::direct) return false;
  std::size_t usable = 0;
  void* payload = heap::arenas().try_find_live_block_containing(reinterpret_cast<void*>(probe), &usable);
  return payload != nullptr && block_in_payload(reinterpret_cast<std::uintptr_t>(payload), usable, out);
}

// The nearest usable byte of the span holding `address` (itself when usable).
std::uintptr_t nearest_usable(const pages::Span* span, std::uintptr_t address) {
  if (address < span->base) return span->base;
  if (address >= span->base + span->size) return span->base + span->size - 1;
  return address;
}
}  // namespace

bool block_near(std::uintptr_t address, std::size_t reach, Located* out) {
  pages::PageAllocator& pages = pages::page_allocator();
  if (const pages::Span* span = pages.span_of(address)) return block_in_span(span, nearest_usable(span, address), out);
  // Unmapped: look for a span ending below it or starting above it within reach, the
  // nearer one first.
  const std::size_t page = platform::page_size();
  for (std::size_t distance = page; distance <= reach; distance += page) {
    if (address >= distance) {
      const pages::Span* below = pages.span_of(address - distance);
      if (below != nullptr && below->size > 0)
        return block_in_span(below, nearest_usable(below, address), out);
    }
    const pages::Span* above = pages.span_of(address + distance);
    if (above != nullptr && above->size > 0) return block_in_span(above, nearest_usable(above, address), out);
  }
  return false;
}

bool live_program_block(const volatile void* p, std::size_t* size) {
  if (p == nullptr) return false;
  Located block;
  if (locate(reinterpret_cast<std::uintptr_t>(const_cast<const void*>(p)), &block) != Lookup::ok) return false;
  if (block.header->state() != State::live || block.header->has(BlockHeader::kInternalFlag)) return false;
  *size = block.header->size();
  return true;
}

}  // namespace dbgalloc::debug
