// The known call chain of call_chain.hpp. Every function is kept out of line and out
// of tail position, so each one is a real frame on the stack.
#include "call_chain.hpp"

#include <alloca.h>

#ifndef CHAIN_NAMESPACE
#error "define CHAIN_NAMESPACE (chain_with_fp or chain_without_fp)"
#endif

#if defined(__clang__)
#define CHAIN_FRAME __attribute__((noinline))
#else
#define CHAIN_FRAME __attribute__((noinline, noipa))
#endif

// Code after a call keeps it from being a tail call.
#define CHAIN_KEEP_FRAME() asm volatile("" ::: "memory")

namespace CHAIN_NAMESPACE {

namespace {
volatile unsigned sink;
}

CHAIN_FRAME std::size_t inner_leaf(stacks_test::Leaf leaf, void* context) {
  std::size_t result = leaf(context);
  CHAIN_KEEP_FRAME();
  return result;
}

CHAIN_FRAME std::size_t descend(int depth, unsigned shape, stacks_test::Leaf leaf, void* context);

CHAIN_FRAME std::size_t detour(int depth, unsigned shape, stacks_test::Leaf leaf, void* context) {
  sink = sink + static_cast<unsigned>(depth);
  std::size_t result = descend(depth, shape, leaf, context);
  CHAIN_KEEP_FRAME();
  return result;
}

CHAIN_FRAME std::size_t descend(int depth, unsigned shape, stacks_test::Leaf leaf, void* context) {
  if (depth <= 0) {
    std::size_t result = inner_leaf(leaf, context);
    CHAIN_KEEP_FRAME();
    return result;
  }
  unsigned kind = shape & 3;
  unsigned next_shape = (shape >> 2) | (shape << 30);
  std::size_t result = 0;
  switch (kind) {
    case 0:
      result = descend(depth - 1, next_shape, leaf, context);
      break;
    case 1: {
      // A variable-sized frame: even without -fno-omit-frame-pointer the compiler then
      // addresses the frame through RBP, so the CFA rule is RBP-based.
      auto* buffer = static_cast<volatile char*>(alloca(16 + (sink & 64)));
      buffer[0] = 1;
      result = descend(depth - 1, next_shape, leaf, context);
      sink = sink + buffer[0];
      break;
    }
    case 2: {
      volatile unsigned locals[300];
      locals[depth % 300] = shape;
      result = descend(depth - 1, next_shape, leaf, context);
      sink = sink + locals[depth % 300];
      break;
    }
    default:
      result = detour(depth - 1, next_shape, leaf, context);
      break;
  }
  CHAIN_KEEP_FRAME();
  return result;
}

CHAIN_FRAME std::size_t middle(int depth, unsigned shape, stacks_test::Leaf leaf, void* context) {
  std::size_t result = descend(depth, shape, leaf, context);
  CHAIN_KEEP_FRAME();
  return result;
}

CHAIN_FRAME std::size_t outer(int depth, unsigned shape, stacks_test::Leaf leaf, void* context) {
  std::size_t result = middle(depth, shape, leaf, context);
  CHAIN_KEEP_FRAME();
  return result;
}

}  // namespace CHAIN_NAMESPACE
