// A known call chain for the stack tests and the benchmark: outer -> middle ->
// descend (recursive, `depth` levels) -> inner_leaf -> the caller's leaf callback.
// call_chain.cpp is compiled twice, once with and once without frame pointers, into
// the namespaces chain_with_fp and chain_without_fp. `shape` picks, level by level, one
// of four frame kinds (plain, alloca, large locals, a detour through another function)
// so many different unwind rules appear along one chain.
#pragma once

#include <cstddef>

namespace stacks_test {
using Leaf = std::size_t (*)(void* context);
}

#define STACKS_TEST_DECLARE_CHAIN(ns)                                                     \
  namespace ns {                                                                           \
  std::size_t outer(int depth, unsigned shape, stacks_test::Leaf leaf, void* context);    \
  }

STACKS_TEST_DECLARE_CHAIN(chain_with_fp)
STACKS_TEST_DECLARE_CHAIN(chain_without_fp)
