#include "tlv.hpp"

#include <cstdlib>
#include <cstring>

namespace tlv {

namespace {

char* copy_text(const std::uint8_t* value, std::size_t length) {
  char* text = static_cast<char*>(std::malloc(length + 1));
  if (text == nullptr) return nullptr;
  std::memcpy(text, value, length);
  text[length] = '\0';
  return text;
}

// BUG (heap-buffer-overflow): for a quoted string the buffer is sized for the text
// between the quotes, without room for the terminating NUL written after it.
char* decode_string(const std::uint8_t* value, std::size_t length) {
  if (length >= 2 && value[0] == '"' && value[length - 1] == '"') {
    std::size_t inner = length - 2;
    char* text = static_cast<char*>(std::malloc(inner == 0 ? 1 : inner));
    if (text == nullptr) return nullptr;
    std::memcpy(text, value + 1, inner);
    text[inner] = '\0';
    return text;
  }
  return copy_text(value, length);
}

std::uint64_t little_endian(const std::uint8_t* value, std::size_t length) {
  std::uint64_t result = 0;
  for (std::size_t i = length; i > 0; --i) result = (result << 8) | value[i - 1];
  return result;
}

}  // namespace

bool parse(const std::uint8_t* data, std::size_t size, Document* doc) {
  std::size_t at = 0;
  while (at < size) {
    if (size - at < 2) return false;
    std::uint8_t type = data[at];
    std::size_t length = data[at + 1];
    const std::uint8_t* value = data + at + 2;
    if (size - at - 2 < length) return false;
    at += 2 + length;
    switch (type) {
      case 'I':
        if (length == 0 || length > 8) return false;
        doc->integer_sum += little_endian(value, length);
        break;
      case 'S': {
        char* text = decode_string(value, length);
        if (text == nullptr) return false;
        doc->strings += 1;
        doc->string_bytes += std::strlen(text);
        std::free(text);
        break;
      }
      case 'K': {
        char* key = copy_text(value, length);
        if (key == nullptr) return false;
        // BUG (leak): the error return below forgets `key`.
        if (size - at < 2 || data[at] != 'V') return false;
        std::size_t value_length = data[at + 1];
        if (size - at - 2 < value_length) {
          std::free(key);
          return false;
        }
        auto* entry = static_cast<Entry*>(std::malloc(sizeof(Entry)));
        if (entry == nullptr) {
          std::free(key);
          return false;
        }
        entry->key = key;
        entry->value = copy_text(data + at + 2, value_length);
        entry->next = doc->entries;
        doc->entries = entry;
        at += 2 + value_length;
        break;
      }
      case 'A': {
        if (length < 4 || doc->items != nullptr) return false;
        std::uint64_t count = little_endian(value, 4);
        // Allocated before checking the input holds `count` items: a short input can
        // ask for gigabytes.
        doc->items = static_cast<std::uint64_t*>(std::malloc(count * sizeof(std::uint64_t)));
        if (doc->items == nullptr) return false;
        if ((length - 4) / 8 < count) return false;
        for (std::uint64_t i = 0; i < count; ++i) doc->items[i] = little_endian(value + 4 + 8 * i, 8);
        doc->item_count = count;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

void release(Document* doc) {
  std::free(doc->items);
  doc->items = nullptr;
  while (doc->entries != nullptr) {
    Entry* next = doc->entries->next;
    std::free(doc->entries->key);
    std::free(doc->entries->value);
    std::free(doc->entries);
    doc->entries = next;
  }
}

}  // namespace tlv
