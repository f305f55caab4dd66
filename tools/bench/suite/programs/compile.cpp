// Real-program workload for the benchmark suite: compiled by g++ -O2 -c (cc1plus does
// most of the allocating). Template-heavy standard library code, as real C++ is.
#include <algorithm>
#include <cctype>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

namespace bench {

template <typename T>
struct Node {
  T value;
  std::vector<std::unique_ptr<Node>> children;
};

using Value = std::variant<int, double, std::string, std::vector<int>>;

template <typename K, typename V>
std::map<K, std::vector<V>> group(const std::vector<std::pair<K, V>> &in) {
  std::map<K, std::vector<V>> out;
  for (const auto &[k, v] : in) out[k].push_back(v);
  return out;
}

std::string describe(const Value &v) {
  return std::visit([](const auto &x) -> std::string {
    using X = std::decay_t<decltype(x)>;
    if constexpr (std::is_same_v<X, std::string>) return "str:" + x;
    else if constexpr (std::is_same_v<X, std::vector<int>>) return "vec:" + std::to_string(x.size());
    else return "num:" + std::to_string(x);
  }, v);
}

std::vector<std::string> tokens(const std::string &text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') cur += c;
    else if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

template <typename C, typename F>
auto transform_all(const C &c, F f) {
  std::vector<decltype(f(*c.begin()))> out;
  std::transform(c.begin(), c.end(), std::back_inserter(out), f);
  return out;
}

struct Record {
  std::string name;
  std::optional<double> score;
  std::set<std::string> tags;
  std::tuple<int, int, std::string> key() const { return {static_cast<int>(tags.size()), static_cast<int>(name.size()), name}; }
};

std::unordered_map<std::string, std::vector<Record>> index(const std::vector<Record> &rs) {
  std::unordered_map<std::string, std::vector<Record>> out;
  for (const auto &r : rs)
    for (const auto &t : r.tags) out[t].push_back(r);
  return out;
}

}  // namespace bench

int main(int argc, char **argv) {
  using namespace bench;
  std::vector<std::pair<std::string, int>> pairs;
  for (int i = 0; i < argc; i++) pairs.emplace_back(argv[i], i);
  auto g = group(pairs);
  std::vector<Value> values{1, 2.5, std::string("x"), std::vector<int>{1, 2}};
  auto d = transform_all(values, describe);
  std::vector<Record> rs;
  for (const auto &s : d) rs.push_back({s, std::nullopt, {s, "all"}});
  std::sort(rs.begin(), rs.end(), [](const Record &a, const Record &b) { return a.key() < b.key(); });
  auto idx = index(rs);
  std::ostringstream os;
  for (const auto &[k, v] : idx) os << k << '=' << v.size() << ' ';
  auto t = tokens(os.str());
  std::function<int(int)> fib = [&](int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); };
  std::cout << g.size() << ' ' << t.size() << ' ' << std::accumulate(t.begin(), t.end(), std::string()) << fib(10) << '\n';
  return 0;
}
