// bench_stacks_libunwind: libunwind's unw_backtrace (its x86-64 fast trace keeps a
// per-thread cache of frame rules) on the same chains as bench_stacks, for comparison
// with dbgalloc's cached CFI unwinder. A separate program because libunwind also
// exports _Unwind_Backtrace, which would otherwise replace libgcc's under Boost.
// Built only when libunwind-dev is installed.
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "call_chain.hpp"
#include "stacks/cached_cfi_unwinder.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kDepth = 16;

struct Job {
  long iterations;
  double ns;
  int frames;
  int agree;
};

__attribute__((noinline)) std::size_t measure_at_leaf(void* context) {
  auto* job = static_cast<Job*>(context);
  void* frames[kDepth];
  int count = 0;
  auto start = Clock::now();
  for (long i = 0; i < job->iterations; ++i) count = unw_backtrace(frames, kDepth);
  job->ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / job->iterations;
  job->frames = count;
  // unw_backtrace's frame 0 is in this function; so is the cached unwinder's (skip 0):
  // compare from frame 1 on.
  std::uintptr_t reference[kDepth];
  std::size_t reference_count = dbgalloc::stacks::cached_cfi_unwinder::capture(reference, kDepth, 0);
  job->agree = 1;
  while (job->agree < count && static_cast<std::size_t>(job->agree) < reference_count &&
         reinterpret_cast<std::uintptr_t>(frames[job->agree]) == reference[job->agree])
    ++job->agree;
  asm volatile("" ::: "memory");
  return static_cast<std::size_t>(count);
}

}  // namespace

int main(int argc, char** argv) {
  double scale = argc > 1 ? std::atof(argv[1]) : 1.0;
  if (scale <= 0) scale = 1;
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
  std::printf("== libunwind unw_backtrace, depth %d, leaf of a 20-level chain (best of 5) ==\n", kDepth);
  for (bool with_fp : {true, false}) {
    double best = 1e30;
    Job job{};
    for (int round = 0; round < 6; ++round) {
      job = Job{round == 0 ? 1000 : static_cast<long>(300000 * scale) + 1, 0, 0, 0};
      if (with_fp) {
        chain_with_fp::outer(20, 0x1b1b1b1b, measure_at_leaf, &job);
      } else {
        chain_without_fp::outer(20, 0x1b1b1b1b, measure_at_leaf, &job);
      }
      if (round > 0 && job.ns < best) best = job.ns;
    }
    std::printf("%-28s %-22s %10.1f ns %4d frames %4d same as cfi_cached\n", "libunwind unw_backtrace",
                with_fp ? "with frame pointers" : "without frame pointers", best, job.frames, job.agree);
  }
  return 0;
}
