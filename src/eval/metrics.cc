#include "vane/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace vane {

double HitAt(double rank, int k) { return rank <= k ? 1.0 : 0.0; }
double NdcgAt(double rank, int k) { return rank <= k ? 1.0 / std::log2(rank + 1.0) : 0.0; }

PairedGain MeasurePairedGain(std::span<const double> d) {
  PairedGain g;
  g.n = d.size();
  if (d.empty()) return g;
  double sum = 0;
  for (double x : d) sum += x;
  g.mean = sum / static_cast<double>(d.size());
  if (d.size() < 2) return g;
  double ss = 0;
  for (double x : d) ss += (x - g.mean) * (x - g.mean);
  g.se = std::sqrt(ss / static_cast<double>(d.size() - 1) / static_cast<double>(d.size()));
  return g;
}

MetricAccumulator::MetricAccumulator(const Catalog& catalog, std::span<const uint32_t> counts)
    : catalog_(catalog) {
  size_t n = catalog.size();
  info_.assign(n, 0);
  short_head_.assign(n, 0);
  seen_.assign(n, 0);
  double total = 0;
  for (size_t i = 0; i < n && i < counts.size(); ++i) total += counts[i];
  for (size_t i = 0; i < n; ++i) {
    double c = i < counts.size() ? counts[i] : 0;
    info_[i] = -std::log2((c + 1.0) / (total + static_cast<double>(n)));
  }
  // Short head: the most popular 20% of items by training interactions (rounded up; an item nobody touched is never
  // in it). Every other item is long tail.
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto count = [&](uint32_t i) { return i < counts.size() ? counts[i] : 0u; };
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return count(a) > count(b); });
  const size_t head = (n + 4) / 5;
  for (size_t k = 0; k < head && k < n; ++k)
    if (count(order[k]) > 0) short_head_[order[k]] = 1;
}

void MetricAccumulator::Add(double rank, std::span<const ItemIdx> top) {
  ++users_;
  hr10_ += HitAt(rank, 10);
  ndcg10_ += NdcgAt(rank, 10);
  hr20_ += HitAt(rank, 20);
  ndcg20_ += NdcgAt(rank, 20);
  rr_ += 1.0 / rank;
  size_t k = std::min<size_t>(10, top.size());
  for (size_t a = 0; a < k; ++a) {
    uint32_t i = top[a].v;
    if (!seen_[i]) {
      seen_[i] = 1;
      ++distinct_;
    }
    nov_ += info_[i];
    tail_ += short_head_[i] ? 0 : 1;
    ++listed_;
    auto ca = catalog_.categories(top[a]);
    for (size_t b = a + 1; b < k; ++b) {
      auto cb = catalog_.categories(top[b]);
      size_t inter = 0;
      for (uint32_t x : ca) inter += std::find(cb.begin(), cb.end(), x) != cb.end();
      size_t uni = ca.size() + cb.size() - inter;
      div_ += uni == 0 ? 0.0 : 1.0 - static_cast<double>(inter) / static_cast<double>(uni);
      ++pairs_;
    }
  }
}

RankingMetrics MetricAccumulator::Result() const {
  RankingMetrics m;
  m.users = users_;
  if (users_ == 0) return m;
  double u = static_cast<double>(users_);
  m.hr10 = hr10_ / u;
  m.ndcg10 = ndcg10_ / u;
  m.hr20 = hr20_ / u;
  m.ndcg20 = ndcg20_ / u;
  m.mrr = rr_ / u;
  m.coverage10 = catalog_.size() ? static_cast<double>(distinct_) / static_cast<double>(catalog_.size()) : 0;
  m.diversity10 = pairs_ ? div_ / static_cast<double>(pairs_) : 0;
  m.novelty10 = listed_ ? nov_ / static_cast<double>(listed_) : 0;
  m.long_tail10 = listed_ ? tail_ / static_cast<double>(listed_) : 0;
  return m;
}

}  // namespace vane
