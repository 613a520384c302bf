#include <algorithm>
#include <cmath>
#include <limits>

#include "vane/core/binary_io.h"
#include "vane/retrieve/sources.h"

namespace vane {

PopularitySource::PopularitySource(const Dataset& ds, Config cfg) : ds_(ds), cfg_(cfg) { Grow(); }

void PopularitySource::Grow() {
  pop_.resize(ds_.num_items(), -INFINITY);
  trend_.resize(ds_.num_items(), -INFINITY);
}

void PopularitySource::OnCatalogChanged() {
  Grow();
  ++version_;
}

void PopularitySource::LogAdd(double& acc, double x) {
  if (std::isinf(acc)) {
    acc = x;
  } else {
    double hi = std::max(acc, x), lo = std::min(acc, x);
    acc = hi + std::log2(1.0 + std::exp2(lo - hi));
  }
}

float PopularitySource::Scaled(const std::vector<double>& v, double ref, ItemIdx i) {
  if (i.v >= v.size() || std::isinf(v[i.v])) return 0.0f;
  // A counted item is never 0: the smallest positive float keeps "has popularity" true far in the past.
  return std::max(static_cast<float>(std::exp2(v[i.v] - ref)), std::numeric_limits<float>::denorm_min());
}

void PopularitySource::Observe(const Event& e, const UserState&) {
  if (!e.item.valid()) return;
  float w = ds_.actions.EffectiveWeight(e.action, e.value, e.has_value);
  if (w <= 0) return;
  if (e.item.v >= pop_.size()) Grow();
  if (!t0_set_) {
    t0_ = e.ts;
    t0_set_ = true;
  }
  auto exponent = [&](double half_life) {
    return ds_.has_timestamps && half_life > 0 ? static_cast<double>(e.ts - t0_) / half_life : 0.0;
  };
  const double ep = exponent(cfg_.half_life_s), et = exponent(cfg_.trend_half_life_s), lw = std::log2(w);
  LogAdd(pop_[e.item.v], lw + ep);
  LogAdd(pop_total_, lw + ep);
  LogAdd(trend_[e.item.v], lw + et);
  LogAdd(trend_total_, lw + et);
  pop_ref_ = std::max(pop_ref_, ep);
  trend_ref_ = std::max(trend_ref_, et);
  ++version_;
}

const std::vector<ItemIdx>& PopularitySource::Ranked() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  // Refresh when the counts moved by more than ~1% of the catalogue since the last sort: ranks of a popularity
  // list change slowly, and a full sort per request would dominate latency.
  if (ranked_version_ == UINT64_MAX || ranked_.size() != pop_.size() ||
      version_ - ranked_version_ > std::max<uint64_t>(1000, pop_.size() / 100)) {
    ranked_.resize(pop_.size());
    for (uint32_t i = 0; i < pop_.size(); ++i) ranked_[i] = ItemIdx(i);
    std::stable_sort(ranked_.begin(), ranked_.end(), [&](ItemIdx a, ItemIdx b) { return pop_[a.v] > pop_[b.v]; });
    ranked_version_ = version_;
  }
  return ranked_;
}

const std::vector<ItemIdx>& PopularitySource::RankedInCategory(uint32_t c) const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  const auto& by = ds_.catalog.items_by_category();
  static const std::vector<ItemIdx> kEmpty;
  if (c >= by.size()) return kEmpty;
  if (by_cat_.size() < by.size()) {
    by_cat_.resize(by.size());
    by_cat_version_.resize(by.size(), UINT64_MAX);
  }
  auto& v = by_cat_[c];
  if (by_cat_version_[c] == UINT64_MAX || v.size() != by[c].size() ||
      version_ - by_cat_version_[c] > std::max<uint64_t>(1000, pop_.size() / 100)) {
    v = by[c];
    std::stable_sort(v.begin(), v.end(), [&](ItemIdx a, ItemIdx b) {
      double pa = a.v < pop_.size() ? pop_[a.v] : -INFINITY;
      double pb = b.v < pop_.size() ? pop_[b.v] : -INFINITY;
      return pa > pb;
    });
    by_cat_version_[c] = version_;
  }
  return v;
}

void PopularitySource::Generate(const RetrievalContext& ctx, ScoreBuffer& out) const {
  const auto& ranked = Ranked();
  size_t n = std::min(ctx.limit, ranked.size());
  bool trending = ds_.has_timestamps;
  for (size_t k = 0; k < n; ++k) {
    ItemIdx i = ranked[k];
    if (std::isinf(pop_[i.v])) break;
    Evidence ev;
    ev.kind = EvidenceKind::kPopular;
    auto cats = ds_.catalog.categories(i);
    // "Trending in X today" when the item's share of today's activity is at least 1.5 times its share of the
    // longer horizon's.
    if (trending && !cats.empty() && !std::isinf(trend_[i.v]) &&
        trend_[i.v] - trend_total_ >= std::log2(1.5) + pop_[i.v] - pop_total_) {
      ev.kind = EvidenceKind::kTrending;
      ev.ref = cats[0];
    }
    out.Add(i, Popularity(i), ev);
  }
}

size_t PopularitySource::MemoryBytes() const {
  return (pop_.capacity() + trend_.capacity()) * sizeof(double) + ranked_.capacity() * sizeof(ItemIdx);
}

void PopularitySource::SaveState(BinaryWriter& w) const {
  w.PodVec(pop_);
  w.PodVec(trend_);
  for (double v : {pop_ref_, trend_ref_, pop_total_, trend_total_}) w.F64(v);
  w.I64(t0_);
  w.Bool(t0_set_);
  w.U64(version_);
}

Status PopularitySource::LoadState(BinaryReader& r) {
  r.PodVec(pop_);
  r.PodVec(trend_);
  for (double* v : {&pop_ref_, &trend_ref_, &pop_total_, &trend_total_}) *v = r.F64();
  t0_ = r.I64();
  t0_set_ = r.Bool();
  version_ = r.U64();
  if (r.ok() && (pop_.size() != trend_.size() || pop_.size() > ds_.num_items()))
    r.Fail("popularity counts for more items than the catalogue has");
  Grow();
  std::lock_guard<std::mutex> lock(cache_mu_);  // the rankings are redone from the loaded counts on first use
  ranked_.clear();
  ranked_version_ = UINT64_MAX;
  by_cat_.clear();
  by_cat_version_.clear();
  return r.status();
}

}  // namespace vane
