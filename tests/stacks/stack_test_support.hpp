// Helpers shared by the stack tests: run the known call chain (with or without frame
// pointers) and capture at its leaf with a chosen unwinder.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "call_chain.hpp"

namespace stacks_test {

using CaptureFn = std::size_t (*)(std::uintptr_t* frames, std::size_t max, std::size_t skip);

struct Captured {
  CaptureFn capture = nullptr;
  std::size_t max = 64;
  std::vector<std::uintptr_t> frames;
};

// Skips itself, so frames[0] is the return address into inner_leaf for every unwinder.
__attribute__((noinline)) inline std::size_t capture_at_leaf(void* context) {
  auto* captured = static_cast<Captured*>(context);
  std::uintptr_t frames[128];
  std::size_t count = captured->capture(frames, std::min<std::size_t>(captured->max, 128), 1);
  captured->frames.assign(frames, frames + count);
  asm volatile("" ::: "memory");
  return count;
}

// Stands in for the PC in run_chain's caller, which differs between call sites, so
// stacks captured from different lines of a test compare equal.
inline constexpr std::uintptr_t kChainCaller = 1;

// Runs the chain and returns what `capture` saw at its leaf, the caller's PC replaced
// by kChainCaller.
__attribute__((noinline)) inline std::vector<std::uintptr_t> run_chain(
    bool with_frame_pointers, int depth, unsigned shape, CaptureFn capture, std::size_t max = 64) {
  auto caller = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  Captured captured;
  captured.capture = capture;
  captured.max = max;
  if (with_frame_pointers) {
    chain_with_fp::outer(depth, shape, capture_at_leaf, &captured);
  } else {
    chain_without_fp::outer(depth, shape, capture_at_leaf, &captured);
  }
  asm volatile("" ::: "memory");
  std::replace(captured.frames.begin(), captured.frames.end(), caller, kChainCaller);
  return captured.frames;
}

// The frames up to and including the caller of run_chain (what lies beyond belongs to
// GoogleTest and libc, outside the test's control).
inline std::vector<std::uintptr_t> up_to_chain_caller(const std::vector<std::uintptr_t>& frames) {
  auto end = std::find(frames.begin(), frames.end(), kChainCaller);
  if (end != frames.end()) ++end;
  return {frames.begin(), end};
}

inline bool is_subsequence(const std::vector<std::uintptr_t>& part, const std::vector<std::uintptr_t>& whole) {
  auto it = whole.begin();
  for (std::uintptr_t pc : part) {
    it = std::find(it, whole.end(), pc);
    if (it == whole.end()) return false;
    ++it;
  }
  return true;
}

}  // namespace stacks_test
