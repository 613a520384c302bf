#include "vane/retrieve/source.h"

#include <algorithm>

namespace vane {

void ScoreBuffer::Reset(size_t n) {
  if (score_.size() != n) {
    score_.assign(n, 0);
    best_.assign(n, 0);
    ev_.assign(n, Evidence{});
    seen_.assign(n, 0);
    touched_.clear();
    return;
  }
  for (uint32_t i : touched_) seen_[i] = 0;
  touched_.clear();
}

float ScoreBuffer::MaxScore() const {
  float m = 0;
  for (uint32_t i : touched_) m = std::max(m, score_[i]);
  return m;
}

void TopK(const ScoreBuffer& buf, size_t k, std::vector<std::pair<ItemIdx, float>>& out) {
  out.clear();
  out.reserve(buf.touched().size());
  for (uint32_t i : buf.touched()) out.emplace_back(ItemIdx(i), buf.Score(ItemIdx(i)));
  auto better = [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); };
  if (out.size() > k) {
    std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), better);
    out.resize(k);
  }
  std::sort(out.begin(), out.end(), better);
}

}  // namespace vane
