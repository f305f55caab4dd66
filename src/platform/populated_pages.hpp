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
    runs_where(begin, end, kPresent | kSwapped, 0, visit);
  }

  // The same for the pages this process may have written since it was forked: in
  // memory and mapped by this process alone (PM_MMAP_EXCLUSIVE), or swapped out (then
  // pagemap cannot tell). A private page the child writes is copied for it, so it is
  // exclusive; one the parent writes after the fork is copied for the parent, which
  // leaves the child's copy exclusive too (read although unchanged). A page still
  // shared holds the same bytes in both processes; one never touched reads as zero.
  template <typename Visit>
  void for_each_written_run(std::uintptr_t begin, std::uintptr_t end, Visit&& visit) {
    auto counted = [this, &visit](std::uintptr_t run_begin, std::uintptr_t run_end) {
      written_ += run_end - run_begin;
      visit(run_begin, run_end);
    };
    if (!exclusive_known_) {
      if (begin < end) counted(begin, end);
      return;
    }
    runs_where(begin, end, kSwapped, kPresent | kExclusive, counted);
  }
  // Whether for_each_written_run can tell pages apart (else each range is one run).
  bool written_pages_known() const { return exclusive_known_; }

  std::size_t pages_read() const { return pages_read_; }
  std::size_t written_bytes() const { return written_; }  // in the runs for_each_written_run gave

  std::size_t skipped_bytes() const { return skipped_; }

 private:
  // A page belongs to a run when its entry has any of the `any` bits or all of the
  // `all` bits (all != 0), or when pagemap cannot describe it.
  template <typename Visit>
  void runs_where(std::uintptr_t begin, std::uintptr_t end, std::uint64_t any, std::uint64_t all, Visit& visit) {
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
        bool member = !known || (entries[i] & any) != 0 || (all != 0 && (entries[i] & all) == all);
        if (member && !in_run) {
          run = at < begin ? begin : at;
          in_run = true;
        } else if (!member && in_run) {
          visit(run, at);
          in_run = false;
        }
      }
    }
    if (in_run) visit(run, end);
  }

  static constexpr std::size_t kBatch = 512;
  static constexpr std::uint64_t kExclusive = std::uint64_t{1} << 56;
  static constexpr std::uint64_t kPresent = std::uint64_t{1} << 63;
  static constexpr std::uint64_t kSwapped = std::uint64_t{1} << 62;
  static std::uintptr_t page_bytes();
  bool read(std::uintptr_t first_page, std::size_t count, std::uint64_t* out);

  int fd_ = -1;
  std::size_t skipped_ = 0;
  std::size_t pages_read_ = 0;
  std::size_t written_ = 0;
  bool exclusive_known_ = false;  // the kernel marks exclusive pages (Linux 4.2+)
};

}  // namespace dbgalloc::platform
