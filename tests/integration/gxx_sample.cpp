// Compiled by g++ under dbgalloc in the integration tests (gxx_workload.sh); the
// compiler, assembler and linker all run with the preload. Deterministic output.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace {

struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
  virtual std::string name() const = 0;
};

struct Rect final : Shape {
  double w, h;
  Rect(double w_, double h_) : w(w_), h(h_) {}
  double area() const override { return w * h; }
  std::string name() const override { return "rect"; }
};

struct Circle final : Shape {
  double r;
  explicit Circle(double r_) : r(r_) {}
  double area() const override { return 3.0 * r * r; }
  std::string name() const override { return "circle"; }
};

template <typename T>
T checksum(const std::vector<T>& v) {
  return std::accumulate(v.begin(), v.end(), T{}, [](T a, T b) { return a * 31 + b; });
}

std::uint32_t next(std::uint32_t& s) { return s = s * 1664525u + 1013904223u; }

}  // namespace

int main() {
  std::uint32_t seed = 42;
  std::vector<std::unique_ptr<Shape>> shapes;
  for (int i = 0; i < 1000; ++i) {
    if (next(seed) % 2) shapes.push_back(std::make_unique<Rect>(i % 7 + 1, i % 5 + 1));
    else shapes.push_back(std::make_unique<Circle>(i % 3 + 1));
  }
  std::map<std::string, double> by_name;
  for (const auto& s : shapes) by_name[s->name()] += s->area();
  for (const auto& [n, a] : by_name) std::cout << n << ' ' << a << '\n';

  std::vector<std::uint64_t> nums(50000);
  for (auto& n : nums) n = next(seed) % 100000;
  std::sort(nums.begin(), nums.end());
  std::cout << "median " << nums[nums.size() / 2] << " checksum " << checksum(nums) << '\n';

  std::unordered_map<std::string, int> words;
  std::ostringstream text;
  for (int i = 0; i < 20000; ++i) text << "w" << next(seed) % 500 << ' ';
  std::istringstream in(text.str());
  for (std::string w; in >> w;) ++words[w];
  auto top = std::max_element(words.begin(), words.end(), [](const auto& a, const auto& b) {
    return a.second < b.second || (a.second == b.second && a.first > b.first);
  });
  std::cout << "words " << words.size() << " top " << top->first << '=' << top->second << '\n';

  std::vector<std::variant<int, std::string>> mixed;
  for (int i = 0; i < 100; ++i) {
    if (i % 3) mixed.emplace_back(i);
    else mixed.emplace_back(std::string(i, 'x'));
  }
  std::size_t total = 0;
  for (const auto& m : mixed)
    total += std::visit([](const auto& v) -> std::size_t {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, int>) return v;
      else return v.size();
    }, m);
  std::function<int(int)> fib = [&](int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); };
  std::cout << "mixed " << total << " fib " << fib(20) << '\n';
  return 0;
}
