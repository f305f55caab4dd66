// The leak check: which live blocks the program can no longer reach, at exit and on
// demand, reported grouped by allocation stack in the LeakSanitizer layout:
//
//   ==PID==ERROR: dbgalloc: detected memory leaks
//
//   Direct leak of 4096 byte(s) in 4 object(s) allocated from:
//       #0 0x... in make_node list.c:12
//   Indirect leak of 96 byte(s) in 2 object(s) allocated from:
//       ...
//   dbgalloc: definitely lost: ... indirectly lost: ... possibly lost: ... still reachable: ...
//   SUMMARY: dbgalloc: 4192 byte(s) leaked in 6 allocation(s).
//
// Reachability is a conservative mark from the roots (leak_roots.cpp) with valgrind's
// classes (leak_scan.hpp): direct (definitely lost), indirect (reachable only from lost
// blocks), possible (reached only through interior pointers: listed with
// show_possible=1, never an error) and still reachable (show_reachable=1). Only direct
// and indirect leaks that no suppression matched count as leaks.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dbgalloc::leaks {

struct LeakTotal {
  std::uint64_t blocks = 0;
  std::uint64_t bytes = 0;
};

struct LeakCounts {
  LeakTotal direct;
  LeakTotal indirect;
  LeakTotal possible;
  LeakTotal reachable;
  LeakTotal suppressed;
  std::uint64_t leaked_blocks() const { return direct.blocks + indirect.blocks; }
};

enum class LeakCheck : std::uint8_t {
  at_exit,       // from the runtime's ELF destructor
  final_check,   // __lsan_do_leak_check: reports, exits with exitcode on leaks, once only
  recoverable,   // dbgalloc_leak_check, __lsan_do_recoverable_leak_check
};

// Runs a check from the caller's frame (the caller's registers and everything above
// its frame on this thread's stack count as roots), prints the report when there is
// something to say, and returns the number of leaked (direct + indirect, unsuppressed)
// blocks. Serialised: a second thread waits for the first check to finish.
std::size_t check_leaks(LeakCheck kind);

// The exit hook: honours detect_leaks, leak_check_children and a __lsan_do_leak_check
// that already ran. Returns the leaked block count (the caller sets the exit status).
std::size_t leak_check_at_exit();

// Counts of the last finished check.
LeakCounts last_leak_counts();

// fork(): the child remembers its pid so that its checks report only the blocks its
// own threads allocated (see leaks.cpp).
void leak_check_note_fork_child();

// __lsan_register_root_region / __lsan_unregister_root_region. False: table full /
// no such region.
bool register_root_region(const void* begin, std::size_t size);
bool unregister_root_region(const void* begin, std::size_t size);

}  // namespace dbgalloc::leaks
