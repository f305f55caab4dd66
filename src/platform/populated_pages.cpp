#include "platform/populated_pages.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "platform/platform.hpp"

namespace dbgalloc::platform {

bool PopulatedPages::open() {
  close();
  int saved = errno;
  fd_ = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd_ >= 0) {
    // A kernel that lists no page states (or a sandbox that hides them) answers with
    // an error or nothing: then every page counts.
    std::uint64_t probe = 0;
    auto self = reinterpret_cast<std::uintptr_t>(&probe) / page_bytes();
    if (pread(fd_, &probe, sizeof probe, static_cast<off_t>(self * sizeof probe)) != sizeof probe ||
        (probe & kPresent) == 0) {
      close();
    }
    // The stack page just written is this process's own: a kernel that does not
    // mark it exclusive marks no page (the written-page walks then read everything).
    exclusive_known_ = fd_ >= 0 && (probe & kExclusive) != 0;
  }
  errno = saved;
  return fd_ >= 0;
}

void PopulatedPages::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  exclusive_known_ = false;
}

std::uintptr_t PopulatedPages::page_bytes() { return page_size(); }

bool PopulatedPages::read(std::uintptr_t first_page, std::size_t count, std::uint64_t* out) {
  int saved = errno;
  std::size_t want = count * sizeof(std::uint64_t);
  std::size_t got = 0;
  while (got < want) {
    ssize_t n = pread(fd_, reinterpret_cast<char*>(out) + got, want - got,
                      static_cast<off_t>(first_page * sizeof(std::uint64_t) + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  errno = saved;
  if (got != want) return false;
  pages_read_ += count;
  for (std::size_t i = 0; i < count; ++i) {
    if ((out[i] & (kPresent | kSwapped)) == 0) skipped_ += page_bytes();
  }
  return true;
}

}  // namespace dbgalloc::platform
