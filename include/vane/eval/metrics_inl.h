// Template implementation of RankTarget (included from metrics.h).
#pragma once

#include <algorithm>

namespace vane {

template <class ScoreFn>
RankResult RankTarget(ItemIdx target, const std::vector<uint32_t>& touched, ScoreFn scores,
                      const std::vector<uint8_t>& excluded, size_t num_excluded, size_t num_items, size_t k,
                      bool strict) {
  RankResult r;
  float ts = scores(target.v);
  size_t greater = 0, ties = 0, ties_before = 0, touched_eligible = 0, touched_zero = 0;
  std::vector<std::pair<float, uint32_t>> best;
  best.reserve(touched.size());
  for (uint32_t i : touched) {
    if (excluded[i] || i == target.v) continue;
    ++touched_eligible;
    float s = scores(i);
    if (s == 0) ++touched_zero;
    if (s > ts) ++greater;
    else if (s == ts) {
      ++ties;
      ties_before += i < target.v;
    }
    if (s > 0) best.emplace_back(s, i);
  }
  if (ts == 0) {
    // Untouched eligible items score 0 too: they tie with the target.
    size_t eligible = num_items - num_excluded - (excluded[target.v] ? 0 : 1);
    ties = eligible - touched_eligible + touched_zero;
  }
  if (!strict) r.rank = 1.0 + static_cast<double>(greater) + static_cast<double>(ties) / 2.0;
  else r.rank = 1.0 + static_cast<double>(greater) + static_cast<double>(ts == 0 ? ties : ties_before);
  if (ts > 0) best.emplace_back(ts, target.v);
  auto better = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  if (best.size() > k) {
    std::nth_element(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(k), best.end(), better);
    best.resize(k);
  }
  std::sort(best.begin(), best.end(), better);
  for (auto& [s, i] : best) r.top.push_back(ItemIdx(i));
  return r;
}

}  // namespace vane
