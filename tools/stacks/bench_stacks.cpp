// bench_stacks: what a stack costs on this machine.
//   1. ns per capture, depth 16, for each unwinder, at the leaf of a call chain built
//      with and without frame pointers (frames found, and the ratio to Boost's
//      _Unwind_Backtrace collect, are printed too);
//   2. ns per record() (capture + depot insert of an already-stored stack);
//   3. depot inserts per second with 1 and 2 threads (new stacks, and repeats);
//   4. ns per symbolized frame (Boost.Stacktrace + libbacktrace), cold and warm.
// Usage: bench_stacks [iterations-scale]   (default 1; use 0.1 for a quick look)
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "call_chain.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"
#include "stacks/cached_cfi_unwinder.hpp"
#include "stacks/cfi_unwinder.hpp"
#include "stacks/frame_pointer_unwinder.hpp"
#include "stacks/stack_depot.hpp"
#include "stacks/stacks.hpp"

namespace {

using namespace dbgalloc;
using namespace dbgalloc::stacks;
using Clock = std::chrono::steady_clock;

double scale = 1.0;
constexpr std::size_t kDepth = 16;

double ns_since(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

using CaptureFn = std::size_t (*)(std::uintptr_t*, std::size_t, std::size_t);

struct LeafJob {
  CaptureFn capture = nullptr;
  bool record_instead = false;
  long iterations = 0;
  double ns_per_op = 0;
  std::size_t frames = 0;
  std::size_t agree = 0;  // leading frames equal to what _Unwind_Backtrace returns
};

// Runs at the leaf of the chain: every capture walks the whole chain above it.
__attribute__((noinline)) std::size_t measure_at_leaf(void* context) {
  auto* job = static_cast<LeafJob*>(context);
  std::uintptr_t frames[kDepth];
  std::size_t count = 0;
  auto start = Clock::now();
  if (job->record_instead) {
    for (long i = 0; i < job->iterations; ++i) count += record(0) != kNoStack;
    count = kDepth;
  } else {
    for (long i = 0; i < job->iterations; ++i) count = job->capture(frames, kDepth, 0);
  }
  job->ns_per_op = ns_since(start) / static_cast<double>(job->iterations);
  job->frames = count;
  if (!job->record_instead) {
    // Both captures are made from this frame, at different call sites: compare from 1.
    std::uintptr_t reference[kDepth];
    std::size_t reference_count = cfi_unwinder::capture(reference, kDepth, 0);
    job->agree = 1;
    while (job->agree < count && job->agree < reference_count && frames[job->agree] == reference[job->agree])
      ++job->agree;
  }
  asm volatile("" ::: "memory");
  return count;
}

// 20 levels of chain: deeper than 16, so every unwinder is cut by the depth, not by
// the end of the stack. Shape 0x1b1b1b1b mixes plain, alloca, large and detour frames.
LeafJob run_at_leaf(bool with_frame_pointers, LeafJob job) {
  constexpr int kChainLevels = 20;
  constexpr unsigned kShape = 0x1b1b1b1b;
  LeafJob warm = job;
  warm.iterations = 1000;
  for (LeafJob* j : {&warm, &job}) {
    if (with_frame_pointers) {
      chain_with_fp::outer(kChainLevels, kShape, measure_at_leaf, j);
    } else {
      chain_without_fp::outer(kChainLevels, kShape, measure_at_leaf, j);
    }
  }
  return job;
}

void bench_captures() {
  std::printf("== capture, depth %zu, at the leaf of a 20-level chain (ns per capture, best of 5) ==\n", kDepth);
  std::printf("(correct: leading frames identical to _Unwind_Backtrace's)\n");
  std::printf("%-28s %-22s %10s %8s %8s %10s\n", "unwinder", "chain", "ns", "frames", "correct", "vs cfi");
  struct Row {
    const char* name;
    CaptureFn capture;
    long iterations;
  };
  const Row rows[] = {{"frame_pointer", frame_pointer_unwinder::capture, 2000000},
                      {"cfi (Boost collect)", cfi_unwinder::capture, 50000},
                      {"cfi_cached", cached_cfi_unwinder::capture, 1000000}};
  for (bool with_fp : {true, false}) {
    double cfi_ns = 0;
    double results[3] = {};
    std::size_t frames[3] = {};
    std::size_t agree[3] = {};
    for (int r = 0; r < 3; ++r) {
      double best = 1e30;
      for (int round = 0; round < 5; ++round) {
        LeafJob job;
        job.capture = rows[r].capture;
        job.iterations = static_cast<long>(rows[r].iterations * scale) + 1;
        job = run_at_leaf(with_fp, job);
        if (job.ns_per_op < best) best = job.ns_per_op;
        frames[r] = job.frames;
        agree[r] = job.agree;
      }
      results[r] = best;
      if (r == 1) cfi_ns = best;
    }
    for (int r = 0; r < 3; ++r) {
      std::printf("%-28s %-22s %10.1f %8zu %8zu %9.1fx\n", rows[r].name,
                  with_fp ? "with frame pointers" : "without frame pointers", results[r], frames[r],
                  agree[r], cfi_ns / results[r]);
    }
  }
  auto stats = cached_cfi_unwinder::stats();
  std::printf("cfi_cached: %llu rules cached, %llu fallbacks to _Unwind_Backtrace\n\n",
              static_cast<unsigned long long>(stats.rules_cached),
              static_cast<unsigned long long>(stats.fallbacks));
}

void bench_record() {
  std::printf("== record(): capture + depot insert of a stack already stored (ns per record) ==\n");
  struct Row {
    const char* name;
    Unwinder unwinder;
    long iterations;
  };
  const Row rows[] = {{"frame_pointer", Unwinder::frame_pointer, 2000000},
                      {"cfi (Boost collect)", Unwinder::cfi, 50000},
                      {"cfi_cached", Unwinder::cfi_cached, 1000000}};
  for (bool with_fp : {true, false}) {
    for (const Row& row : rows) {
      configure(row.unwinder, kDepth);
      double best = 1e30;
      for (int round = 0; round < 5; ++round) {
        LeafJob job;
        job.record_instead = true;
        job.iterations = static_cast<long>(row.iterations * scale) + 1;
        job = run_at_leaf(with_fp, job);
        if (job.ns_per_op < best) best = job.ns_per_op;
      }
      std::printf("%-28s %-22s %10.1f\n", row.name, with_fp ? "with frame pointers" : "without frame pointers", best);
    }
  }
  configure(Unwinder::cfi_cached, kDepth);
  std::printf("\n");
}

void make_stack(std::uint64_t index, std::uintptr_t* frames) {
  for (std::size_t i = 0; i < kDepth; ++i) frames[i] = 0x555555554000 + (index * 2654435761u + i * 40503) % 0x100000;
  frames[0] = index;  // distinct per index
}

double depot_inserts_per_second(int threads, bool repeats) {
  // 2 x 200,000 distinct 16-frame stacks (58 MB) fit the default 64 MiB budget.
  const std::uint64_t per_thread = static_cast<std::uint64_t>(200000 * scale) + 1;
  StackDepot depot;  // process-default geometry: 1 Mi slots, 64 MiB arena
  if (repeats) {
    // Pre-store the stacks: the measured inserts are all lookups that find them.
    std::uintptr_t frames[kDepth];
    for (std::uint64_t i = 0; i < per_thread; ++i) {
      make_stack(i, frames);
      depot.insert(frames, kDepth);
    }
  }
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  std::vector<double> seconds(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < threads) {
      }
      std::uintptr_t frames[kDepth];
      auto start = Clock::now();
      for (std::uint64_t i = 0; i < per_thread; ++i) {
        // New stacks: each thread its own; repeats: all threads the same ones.
        make_stack(repeats ? i : t * per_thread + i, frames);
        depot.insert(frames, kDepth);
      }
      seconds[t] = ns_since(start) / 1e9;
    });
  }
  for (auto& worker : workers) worker.join();
  double slowest = 0;
  for (double s : seconds) slowest = s > slowest ? s : slowest;
  auto stats = depot.stats();
  if (stats.dropped != 0) std::printf("  (dropped %llu)\n", static_cast<unsigned long long>(stats.dropped));
  depot.release();
  return static_cast<double>(per_thread) * threads / slowest;
}

void bench_depot() {
  std::printf("== depot inserts per second (16-frame stacks) ==\n");
  for (bool repeats : {false, true}) {
    for (int threads : {1, 2}) {
      double best = 0;
      for (int round = 0; round < 3; ++round) {
        double rate = depot_inserts_per_second(threads, repeats);
        if (rate > best) best = rate;
      }
      std::printf("%-34s %d thread%s %12.0f /s  (%.1f ns per insert per thread)\n",
                  repeats ? "already stored (lookup hits)" : "new stacks", threads, threads == 1 ? " " : "s",
                  best, 1e9 * threads / best);
    }
  }
  std::printf("\n");
}

StackId symbolized_stack;
__attribute__((noinline)) std::size_t record_for_symbolization(void*) {
  configure(Unwinder::cfi_cached, kDepth);
  symbolized_stack = record(0);
  return 0;
}

void bench_symbolize() {
  std::printf("== symbolization (Boost.Stacktrace, libbacktrace backend) ==\n");
  chain_without_fp::outer(20, 0x1b1b1b1b, record_for_symbolization, nullptr);
  std::uintptr_t frames[kMaxFrames];
  std::size_t count = lookup(symbolized_stack, frames, kMaxFrames);
  int saved = platform::report_fd();
  int null_fd = open("/dev/null", O_WRONLY);
  platform::set_report_fd(null_fd);
  platform::StackText<4096> out;
  auto start = Clock::now();
  print_frames(frames, count, out);
  out.flush();
  double cold = ns_since(start);
  int rounds = static_cast<int>(200 * scale) + 1;
  start = Clock::now();
  for (int i = 0; i < rounds; ++i) {
    print_frames(frames, count, out);
    out.flush();
  }
  double warm = ns_since(start) / rounds / static_cast<double>(count);
  platform::set_report_fd(saved);
  close(null_fd);
  std::printf("first print (libbacktrace state per thread) %.1f ms for %zu frames\n", cold / 1e6, count);
  std::printf("warm: %.0f ns per symbolized frame (name + file:line + formatting)\n\n", warm);
  std::printf("== the stack above, as a report prints it ==\n");
  platform::StackText<4096> shown;
  print(symbolized_stack, shown);
  shown.flush();
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) scale = std::atof(argv[1]);
  if (scale <= 0) scale = 1;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  bench_captures();
  bench_record();
  bench_depot();
  bench_symbolize();
  auto stats = depot_stats();
  std::printf("process depot: %llu stacks, %llu bytes used of %llu\n",
              static_cast<unsigned long long>(stats.stacks_stored),
              static_cast<unsigned long long>(stats.bytes_used),
              static_cast<unsigned long long>(stats.bytes_budget));
  return 0;
}
