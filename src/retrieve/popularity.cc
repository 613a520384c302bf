#include <algorithm>
#include <cmath>

#include "vane/retrieve/sources.h"

namespace vane {

PopularitySource::PopularitySource(const Dataset& ds, Config cfg) : ds_(ds), cfg_(cfg) { Grow(); }

void PopularitySource::Grow() {
  pop_.resize(ds_.num_items(), 0);
  trend_.resize(ds_.num_items(), 0);
}

void PopularitySource::OnCatalogChanged() {
  Grow();
  ++version_;
}

// Exponential decay without touching every item: an event at time t adds 2^((t - t0)/h) and all counts are
// compared at the same reference, which equals decaying them all. The scale is renormalised before it overflows.
double PopularitySource::Inc(double half_life, double& ref_log2, std::vector<double>& v, double& total, Timestamp ts) {
  if (half_life <= 0) return 1.0;
  double e = static_cast<double>(ts - t0_) / half_life - ref_log2;
  // Keep every count within float range (scores leave this class as floats): renormalise past 2^60.
  if (e > 60) {
    double shift = std::floor(e);
    double f = std::exp2(-shift);
    for (double& x : v) x *= f;
    total *= f;
    ref_log2 += shift;
    e -= shift;
  }
  return std::exp2(e);
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
  double hl = ds_.has_timestamps ? cfg_.half_life_s : 0;
  double th = ds_.has_timestamps ? cfg_.trend_half_life_s : 0;
  double ip = w * Inc(hl, pop_ref_, pop_, pop_total_, e.ts);
  double it = w * Inc(th, trend_ref_, trend_, trend_total_, e.ts);
  pop_[e.item.v] += ip;
  pop_total_ += ip;
  trend_[e.item.v] += it;
  trend_total_ += it;
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
      float pa = a.v < pop_.size() ? static_cast<float>(pop_[a.v]) : 0.0f;
      float pb = b.v < pop_.size() ? static_cast<float>(pop_[b.v]) : 0.0f;
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
    if (pop_[i.v] <= 0) break;
    Evidence ev;
    ev.kind = EvidenceKind::kPopular;
    auto cats = ds_.catalog.categories(i);
    // "Trending in X today" when the item's share of today's activity is at least 1.5 times its share of the
    // longer horizon's.
    if (trending && !cats.empty() && trend_total_ > 0 && pop_total_ > 0 &&
        trend_[i.v] / trend_total_ >= 1.5 * pop_[i.v] / pop_total_) {
      ev.kind = EvidenceKind::kTrending;
      ev.ref = cats[0];
    }
    out.Add(i, static_cast<float>(pop_[i.v]), ev);
  }
}

size_t PopularitySource::MemoryBytes() const {
  return (pop_.capacity() + trend_.capacity()) * sizeof(double) + ranked_.capacity() * sizeof(ItemIdx);
}

}  // namespace vane
