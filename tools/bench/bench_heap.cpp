// Allocator benchmark: the same randomized alloc/free workloads against glibc malloc,
// dbgalloc's heap core (the arenas, no debug features) and dbgalloc's debug layer in
// its default mode (header, canaries, fill, quarantine, alloc and free stacks), with
// guard=sample:1000 and with guard=all, in one process, runs interleaved so machine
// noise hits all alike. Prints ops/s and the slowdown against glibc.
//
//   bench_heap [--rounds N] [--ops N] [--no-guard-all] [--mode DBGALLOC_OPTIONS]
//
// --mode adds a column for the debug layer with those options (e.g.
// "quarantine_mb=0:malloc_stack_depth=0" to see what the quarantine and stacks cost).
//
// Workloads: one thread keeping ~10k live blocks (8 B - 64 KiB, mostly small), and
// four threads passing blocks round-robin so most frees are cross-thread.
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "debug/allocator.hpp"
#include "heap/arenas.hpp"
#include "options/options.hpp"

namespace {

struct Glibc {
  static const char* name() { return "glibc"; }
  static void* allocate(std::size_t n) { return malloc(n); }
  static void release(void* p) { free(p); }
};

struct Core {
  static const char* name() { return "dbgalloc core"; }
  static void* allocate(std::size_t n) { return dbgalloc::heap::arenas().allocate(n); }
  static void release(void* p) { dbgalloc::heap::arenas().deallocate(p); }
};

// The debug layer as the preload drives it; the mode is set by use_mode().
struct Debug {
  static void* allocate(std::size_t n) {
    dbgalloc::debug::Request request;
    request.bytes = n;
    request.caller = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
    return dbgalloc::debug::allocate(request);
  }
  static void release(void* p) {
    dbgalloc::debug::deallocate(p, dbgalloc::debug::Kind::malloc, 0, false,
                                reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));
  }
};

void use_mode(const char* text) {
  dbgalloc::debug::purge_quarantine();
  dbgalloc::options::Options options;
  dbgalloc::platform::StackText<512> error;
  if (!dbgalloc::options::parse(text, &options, error)) {
    std::fprintf(stderr, "%.*s", static_cast<int>(error.size()), error.data());
    std::exit(2);
  }
  dbgalloc::options::set_current(options);
  dbgalloc::debug::configure(options);
}

std::size_t pick_size(std::mt19937_64& rng) {
  // Most allocations in real programs are small; a tail reaches 64 KiB.
  unsigned r = static_cast<unsigned>(rng() % 100);
  if (r < 60) return 8 + rng() % 120;
  if (r < 90) return 128 + rng() % 896;
  if (r < 98) return 1024 + rng() % 7168;
  return 8192 + rng() % (65536 - 8192);
}

template <typename A>
double single_thread(std::size_t ops, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<void*> live(10000, nullptr);
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < ops; ++i) {
    void*& slot = live[rng() % live.size()];
    if (slot != nullptr) {
      A::release(slot);
      slot = nullptr;
    } else {
      std::size_t n = pick_size(rng);
      slot = A::allocate(n);
      static_cast<char*>(slot)[0] = 1;  // touch it, as a program would
    }
  }
  for (void*& p : live) {
    if (p != nullptr) A::release(p);
  }
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return static_cast<double>(ops) / elapsed.count();
}

// Four threads in a ring: each allocates blocks into its outbox and frees the blocks
// its neighbour allocated, so nearly every free crosses threads.
template <typename A>
double cross_thread(std::size_t ops, std::uint64_t seed) {
  constexpr int kThreads = 4;
  constexpr std::size_t kRing = 4096;
  struct Mailbox {
    std::atomic<void*> slots[kRing];
  };
  std::vector<Mailbox> boxes(kThreads);
  for (auto& box : boxes)
    for (auto& slot : box.slots) slot.store(nullptr);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  std::size_t per_thread = ops / kThreads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + static_cast<std::uint64_t>(t));
      Mailbox& mine = boxes[static_cast<std::size_t>(t)];
      Mailbox& theirs = boxes[static_cast<std::size_t>((t + 1) % kThreads)];
      while (!go.load()) {
      }
      for (std::size_t i = 0; i < per_thread; ++i) {
        std::size_t index = rng() % kRing;
        if (i % 2 == 0) {
          void* p = A::allocate(pick_size(rng));
          static_cast<char*>(p)[0] = 1;
          void* old = mine.slots[index].exchange(p);
          if (old != nullptr) A::release(old);
        } else {
          void* p = theirs.slots[index].exchange(nullptr);
          if (p != nullptr) A::release(p);
        }
      }
    });
  }
  auto start = std::chrono::steady_clock::now();
  go = true;
  for (auto& thread : threads) thread.join();
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  for (auto& box : boxes)
    for (auto& slot : box.slots)
      if (void* p = slot.load()) A::release(p);
  return static_cast<double>(per_thread * kThreads) / elapsed.count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct Mode {
  const char* label;
  const char* options;  // nullptr: glibc; "core": the heap core alone
};

template <typename Fn>
void compare(const char* workload, int rounds, const std::vector<Mode>& modes, Fn&& run) {
  std::vector<std::vector<double>> results(modes.size());
  for (int round = 0; round < rounds; ++round) {
    // Rotate the order so no mode always runs on a warm (or cold) machine.
    for (std::size_t k = 0; k < modes.size(); ++k) {
      std::size_t m = (k + static_cast<std::size_t>(round)) % modes.size();
      std::fprintf(stderr, "\r%s: round %d/%d, %-20s", workload, round + 1, rounds, modes[m].label);
      double ops;
      if (modes[m].options == nullptr) {
        ops = run(Glibc{}, round);
      } else if (std::string(modes[m].options) == "core") {
        ops = run(Core{}, round);
      } else {
        use_mode(modes[m].options);
        ops = run(Debug{}, round);
        dbgalloc::debug::purge_quarantine();
      }
      results[m].push_back(ops);
    }
  }
  std::fprintf(stderr, "\r%*s\r", 80, "");
  double glibc = median(results[0]);
  std::printf("%-30s", workload);
  for (std::size_t m = 0; m < modes.size(); ++m) {
    double ops = median(results[m]);
    if (m == 0) std::printf(" %11.2fM", ops / 1e6);
    else std::printf(" %7.2fx", glibc / ops);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  std::size_t ops = 1000000;
  bool guard_all = true;
  const char* extra_mode = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else if (flag == "--ops" && i + 1 < argc) ops = static_cast<std::size_t>(std::atoll(argv[++i]));
    else if (flag == "--no-guard-all") guard_all = false;
    else if (flag == "--mode" && i + 1 < argc) extra_mode = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--rounds N] [--ops N] [--no-guard-all] [--mode DBGALLOC_OPTIONS]\n", argv[0]);
      return 2;
    }
  }
  if (rounds < 1 || ops < 1000) {
    std::fprintf(stderr, "bench_heap: --rounds must be >= 1 and --ops >= 1000\n");
    return 2;
  }
  std::vector<Mode> modes = {{"glibc", nullptr},
                             {"core", "core"},
                             {"default", "guard=none"},
                             {"sample:1000", "guard=sample:1000"}};
  if (guard_all) modes.push_back({"guard=all", "guard=all"});
  if (extra_mode != nullptr) modes.push_back({extra_mode, extra_mode});
  std::printf("median of %d rounds, %zu ops each; glibc in M ops/s, others as time relative to glibc\n", rounds, ops);
  std::printf("%-30s %12s", "workload", "glibc");
  for (std::size_t m = 1; m < modes.size(); ++m) std::printf(" %8s", modes[m].label);
  std::printf("\n");
  compare("1 thread, 10k live", rounds, modes, [&](auto a, int round) {
    return single_thread<decltype(a)>(ops, 42 + static_cast<std::uint64_t>(round));
  });
  compare("4 threads, cross-thread free", rounds, modes, [&](auto a, int round) {
    return cross_thread<decltype(a)>(ops, 42 + static_cast<std::uint64_t>(round));
  });
  return 0;
}
