// Forged heap metadata, one case per way a program could forge it, run under the
// preload by metadata_integrity_test. Layout (canary block, default alignment):
//   chunk: prev_size | size word | debug header (32 B) | left canary (16 B) | user
// so the size word is 56 bytes before the user pointer, prev_size 64 bytes before.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cstdint>
#include <string>

namespace {

char* volatile sink;

__attribute__((noinline)) char* allocate_bytes(std::size_t n) { char* kept = static_cast<char*>(malloc(n)); sink = kept; return kept; }
__attribute__((noinline)) void release_bytes(void* p) { free(p); }

std::uint64_t* word_before(char* user, std::size_t bytes) { return reinterpret_cast<std::uint64_t*>(user - bytes); }

// The low 48 bits of a heap word hold its value (the size and flags of a size word);
// a forger who does not know the key changes them and keeps the rest.
void forge_value(std::uint64_t* word, std::uint64_t value) {
  constexpr std::uint64_t kValue = (std::uint64_t{1} << 48) - 1;
  *word = (*word & ~kValue) | (value & kValue);
}

// The debug header's checksum as a CRC32C chain (what it was): CRC is linear, so the
// checksum of a changed header is the old one xor the CRC of the change alone, with
// no key involved. Returns that 16-bit difference for a change `delta` to the first
// word of a live block's header.
__attribute__((target("sse4.2"))) std::uint16_t crc_difference(std::uint64_t delta) {
  std::uint64_t h = __builtin_ia32_crc32di(0, delta);
  h = __builtin_ia32_crc32di(h, 0);  // stack and thread: unchanged
  h = __builtin_ia32_crc32di(h, 0);  // sequence and state: unchanged
  h = __builtin_ia32_crc32di(h, 0);  // the key: unchanged
  return static_cast<std::uint16_t>(h ^ (h >> 16));
}

int run(const std::string& name) {
  if (name == "forge_header_size_crc") {
    // The requested size (debug header, first word) 100 -> 300, the checksum patched
    // the way a CRC allows; realloc would copy 300 bytes, the neighbour's included.
    char* p = allocate_bytes(100);
    char* neighbour = allocate_bytes(100);
    memset(neighbour, 'N', 100);
    std::uint64_t* bits = word_before(p, 48);
    std::uint64_t* tail = bits + 3;
    std::uint64_t forged = (*bits & ~((std::uint64_t{1} << 40) - 1)) | 300;
    *tail ^= static_cast<std::uint64_t>(crc_difference(*bits ^ forged)) << 48;
    *bits = forged;
    char* moved = static_cast<char*>(realloc(p, 400));
    printf("realloc returned %p; byte 150 is '%c'\n", static_cast<void*>(moved), moved != nullptr ? moved[150] : '?');
  } else if (name == "forge_size_word") {
    // The chunk's size word 112 -> 320 (a 100-byte block's chunk is 112 + canaries;
    // any bigger value would do): freeing it must not hand the neighbour's bytes out.
    char* p = allocate_bytes(100);
    sink = allocate_bytes(100);
    std::uint64_t* size_word = word_before(p, 56);
    forge_value(size_word, (*size_word & 0xffffffffffff) + 208);
    release_bytes(p);
    printf("free returned\n");
  } else if (name == "forge_prev_size") {
    // The previous chunk is free (too big for a thread cache): its size, kept in this
    // chunk's prev_size word, decides where a merge starts.
    char* before = allocate_bytes(2000);
    char* p = allocate_bytes(2000);
    sink = allocate_bytes(2000);
    release_bytes(before);
    std::uint64_t* prev_size = word_before(p, 64);
    forge_value(prev_size, (*prev_size & 0xffffffffffff) + 1024);
    release_bytes(p);
    printf("free returned\n");
  } else {
    fprintf(stderr, "unknown case %s\n", name.c_str());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return argc == 2 ? run(argv[1]) : 2; }
