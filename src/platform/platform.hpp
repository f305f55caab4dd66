// Platform: the only code in dbgalloc that talks to the operating system.
//
// Everything here is safe to call from inside malloc and from a signal handler: no
// allocation, no stdio, no locks that callers might already hold. Output goes through
// write(2) from caller-provided buffers (see format.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::platform {

// Page size of the machine; valid before any constructor has run.
std::size_t page_size();

// Anonymous private read-write mapping; nullptr (errno kept) when the kernel refuses,
// e.g. out of memory or vm.max_map_count reached.
void* map(std::size_t bytes);
// Anonymous mapping with no access at all (address-space reservation, guard pages).
void* map_inaccessible(std::size_t bytes);
// Like map(), but counted against the kernel's overcommit limit (no MAP_NORESERVE), as
// glibc's own large blocks are: a request the machine cannot back fails at once.
void* map_accounted(std::size_t bytes);
bool unmap(void* addr, std::size_t bytes);
bool protect_none(void* addr, std::size_t bytes);
bool protect_read_write(void* addr, std::size_t bytes);
// Hands the pages back to the kernel; the range stays mapped and reads as zero.
bool discard(void* addr, std::size_t bytes);
// Leaves the range out of core dumps (MADV_DONTDUMP). For guard pages this also keeps
// them a mapping of their own: the kernel never merges ranges whose flags differ, so
// mprotect on the block next to a guard changes one whole mapping in place instead of
// splitting and merging mappings (about three times cheaper).
bool exclude_from_core_dump(void* addr, std::size_t bytes);

// Guard regions (madvise MADV_GUARD_INSTALL / MADV_GUARD_REMOVE, Linux 6.13+): pages of
// an anonymous private mapping that fault on any access, without splitting the
// mapping (no new VMA, no vm.max_map_count limit). Installing discards the pages'
// contents; removing leaves them reading as zero. False (errno kept) when refused.
bool guard_install(void* addr, std::size_t bytes);
bool guard_remove(void* addr, std::size_t bytes);
// Whether the kernel has guard regions: asked once (an install on a scratch page;
// EINVAL before 6.13), then cached.
bool guard_regions_supported();

int thread_id();
// In a forked child: the calling thread's id changed.
void forget_thread_id();
int process_id();

// Calls visit with each entry of `directory` named by a number (/proc/self/task,
// /proc/self/fd), read with getdents64 into a stack buffer: no allocation. False when
// the directory cannot be opened.
bool for_each_number_in(const char* directory, void (*visit)(int number, void* context), void* context);

// write(2) loop that survives EINTR and short writes.
void write_all(int fd, const char* data, std::size_t size);
// Reports go to the descriptor set with set_report_fd (a log file, or the program's
// choice through __sanitizer_set_report_fd) while it still refers to the object it did
// when set (fstat device and inode), else to stderr. dbgalloc keeps no descriptor of
// its own: stderr is fd 2 while it is the start-up stderr or a redirection of it
// (a write-only descriptor or a terminal); when the program closed fd 2 or put its own
// data there, the start-up stderr is reopened by name if it was a terminal or a file,
// and otherwise (a pipe or socket) the report goes to another descriptor of the process
// still open on it (stdout, with 2>&1), or is dropped rather than written into the
// program's file.
void write_report(const char* data, std::size_t size);
// The descriptor set, or 2.
int report_fd();
void set_report_fd(int fd);
// The descriptor set, or -1 when none is (to put it back after a set_report_fd).
int chosen_report_fd();
// Records what fd 2 is at start-up (device, inode, name).
void remember_stderr();

// Secure execution (getauxval(AT_SECURE)): a setuid, setgid or file-capability program,
// run by someone other than its owner, whose environment must not be trusted.
bool secure_execution();

// Looks a variable up in environ without allocating; nullptr if absent.
const char* get_env(const char* name);

// Cheap random 64-bit value from the kernel (getrandom), with a time-based fallback.
std::uint64_t random_u64();

// Thread stack bounds [low, high) for the calling thread, cached per thread.
bool thread_stack_bounds(std::uintptr_t* low, std::uintptr_t* high);

// Copies up to `bytes` of this process's memory from `from` without faulting
// (process_vm_readv stops at an unmapped page); where the kernel refuses that call, only
// the bytes up to the end of from's page, which the caller knows to be mapped. Returns
// the bytes copied. Signal-safe.
std::size_t copy_own_memory(void* to, std::uintptr_t from, std::size_t bytes);

// The kernel's vm.max_map_count (65530 when it cannot be read).
std::size_t max_map_count();

[[noreturn]] void die();

}  // namespace dbgalloc::platform
