// Which pages of this process hold data: /proc/self/pagemap says for each page whether
// it is in memory or swapped out. A page of a private mapping never touched is
// neither: it reads as zero (anonymous) or as the file's bytes (a module's data), so it
// cannot hold a pointer the program stored, and a scan for such pointers may skip it
// without reading it (reading would fault every page of a large reservation in).
// Signal-safe: one descriptor, reads into a stack buffer, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::platform {

class PopulatedPages {
 public:
  PopulatedPages() = default;
  PopulatedPages(const PopulatedPages&) = delete;
  PopulatedPages& operator=(const PopulatedPages&) = delete;
  ~PopulatedPages() { close(); }

  // False when /proc/self/pagemap cannot be read: every page then counts as populated.
  bool open();
  void close();

  // Calls visit(run_begin, run_end) for each run of populated pages in [begin, end)
  // (clipped to it); pages pagemap cannot describe count as populated.
  template <typename Visit>
  void for_each_run(std::uintptr_t begin, std::uintptr_t end, Visit&& visit) {
    if (begin >= end) return;
    if (fd_ < 0) {
      visit(begin, end);
      return;
    }
    const std::uintptr_t page = page_bytes();
    std::uintptr_t run = 0;
    bool in_run = false;
    std::uintptr_t at = begin & ~(page - 1);
    while (at < end) {
      std::size_t pages = (end - at + page - 1) / page;
      if (pages > kBatch) pages = kBatch;
      std::uint64_t entries[kBatch];
      bool known = read(at / page, pages, entries);
      for (std::size_t i = 0; i < pages; ++i, at += page) {
        bool populated = !known || (entries[i] & (kPresent | kSwapped)) != 0;
        if (populated && !in_run) {
          run = at < begin ? begin : at;
          in_run = true;
        } else if (!populated && in_run) {
          visit(run, at);
          in_run = false;
        }
      }
    }
    if (in_run) visit(run, end);
  }

  std::size_t skipped_bytes() const { return skipped_; }

 private:
  static constexpr std::size_t kBatch = 512;
  static constexpr std::uint64_t kPresent = std::uint64_t{1} << 63;
  static constexpr std::uint64_t kSwapped = std::uint64_t{1} << 62;
  static std::uintptr_t page_bytes();
  bool read(std::uintptr_t first_page, std::size_t count, std::uint64_t* out);

  int fd_ = -1;
  std::size_t skipped_ = 0;
};

}  // namespace dbgalloc::platform
