// C++ container churn: std::map<std::string, std::vector<int>>, std::unordered_map<int,
// std::string>, std::string building and std::vector growth, with a bounded working set
// (entries are erased as new ones come in), all through operator new/delete.
// usage: containers [ROUNDS]   (default 400000)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"

int main(int argc, char **argv) {
  long rounds = arg_size(argc, argv, 400000);
  uint64_t seed = 2024, sum = 0;
  std::map<std::string, std::vector<int>> tree;
  std::unordered_map<int, std::string> hash;
  std::vector<std::string> recent;
  for (long round = 0; round < rounds; round++) {
    uint64_t r = rng_next(&seed);
    // A key of 8..40 characters (past the small-string buffer most of the time).
    std::string key = "key-" + std::to_string(r % 20000);
    key.append(static_cast<size_t>(r >> 40) % 32, 'k');
    auto &vec = tree[key];
    for (unsigned i = 0, n = 1 + (r >> 16) % 24; i < n; i++) vec.push_back(static_cast<int>(round + i));
    if (vec.size() > 200) vec.clear(), vec.shrink_to_fit();

    int hk = static_cast<int>((r >> 8) % 30000);
    std::string &val = hash[hk];
    val += std::to_string(round);
    if (val.size() > 120) {
      sum += val.size();
      hash.erase(hk);
    }

    recent.push_back(key + ":" + std::to_string(round));
    if (recent.size() >= 512) {
      for (const auto &s : recent) sum += s.size();
      recent.clear();
      if (round & 1) recent.shrink_to_fit();
    }
    // Keep the working set bounded: drop a random range of the tree now and then.
    if ((round & 1023) == 1023) {
      auto it = tree.lower_bound("key-" + std::to_string(rng_next(&seed) % 20000));
      for (int i = 0; i < 1000 && it != tree.end(); i++) {
        sum += it->second.size();
        it = tree.erase(it);
      }
    }
  }
  sum += tree.size() + hash.size();
  std::printf("containers rounds=%ld checksum=%llu\n", rounds, static_cast<unsigned long long>(sum));
  return 0;
}
