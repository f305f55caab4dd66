// Heap core benchmark: the same randomized alloc/free workload against glibc malloc
// and dbgalloc's heap core (the arenas, no debug features), in one process, runs
// interleaved so machine noise hits both alike. Prints ops/s and the ratio.
//
//   bench_heap [--rounds N] [--ops N]
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

#include "heap/arenas.hpp"

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

template <typename Fn>
void compare(const char* workload, int rounds, Fn&& run) {
  std::vector<double> glibc, core;
  for (int round = 0; round < rounds; ++round) {
    std::fprintf(stderr, "\r%s: round %d/%d", workload, round + 1, rounds);
    // Alternate the order so neither side always runs on a warm machine.
    if (round % 2 == 0) {
      glibc.push_back(run(Glibc{}, round));
      core.push_back(run(Core{}, round));
    } else {
      core.push_back(run(Core{}, round));
      glibc.push_back(run(Glibc{}, round));
    }
  }
  std::fprintf(stderr, "\r%*s\r", 60, "");
  double g = median(glibc), c = median(core);
  std::printf("%-28s %14.0f %14.0f %10.2fx\n", workload, g, c, g / c);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 7;
  std::size_t ops = 2000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (flag == "--ops") ops = static_cast<std::size_t>(std::atoll(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: %s [--rounds N] [--ops N]\n", argv[0]);
      return 2;
    }
  }
  if (rounds < 1 || ops < 1000) {
    std::fprintf(stderr, "bench_heap: --rounds must be >= 1 and --ops >= 1000\n");
    return 2;
  }
  std::printf("heap core vs glibc, median of %d rounds, %zu ops each (ops/s; ratio = time vs glibc)\n", rounds, ops);
  std::printf("%-28s %14s %14s %11s\n", "workload", "glibc ops/s", "dbgalloc ops/s", "slowdown");
  compare("1 thread, 10k live", rounds, [&](auto a, int round) {
    return single_thread<decltype(a)>(ops, 42 + static_cast<std::uint64_t>(round));
  });
  compare("4 threads, cross-thread free", rounds, [&](auto a, int round) {
    return cross_thread<decltype(a)>(ops, 42 + static_cast<std::uint64_t>(round));
  });
  return 0;
}
