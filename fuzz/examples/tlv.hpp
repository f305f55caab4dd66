// A tiny TLV ("type, length, value") configuration format, written for dbgalloc's
// fuzzing example. It has two deliberate bugs that ASan would find, and that dbgalloc
// finds instead when linked into the fuzz target (see README.md in this folder):
//   - a quoted string ('S' record whose value is "...") is copied into a buffer one
//     byte too small for its terminating NUL: a heap-buffer-overflow by one byte;
//   - a key ('K') not followed by its value ('V') is an error, and that error path
//     forgets the key it already copied: a leak.
// It also allocates an array ('A') of the size the input declares before checking
// that the input holds that much: libFuzzer's -malloc_limit_mb catches that.
//
// Records: type (1 byte), length (1 byte), value (length bytes).
//   'I'  integer, 1..8 bytes little endian
//   'S'  string; "quoted" strings lose their quotes
//   'K'  key, must be followed by a 'V' record: the pair joins the document
//   'V'  value
//   'A'  array (one per document): count (4 bytes little endian), then count 8-byte items
#pragma once

#include <cstddef>
#include <cstdint>

namespace tlv {

struct Entry {
  char* key;
  char* value;
  Entry* next;
};

struct Document {
  std::uint64_t integer_sum = 0;
  std::size_t strings = 0;
  std::size_t string_bytes = 0;
  std::uint64_t* items = nullptr;  // the one array
  std::size_t item_count = 0;
  Entry* entries = nullptr;
};

// False when the input is malformed; `doc` holds what was parsed either way and must
// be released with release().
bool parse(const std::uint8_t* data, std::size_t size, Document* doc);
void release(Document* doc);

}  // namespace tlv
