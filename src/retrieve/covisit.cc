#include <algorithm>
#include <cmath>

#include "vane/core/binary_io.h"
#include "vane/retrieve/sources.h"

namespace vane {
namespace {

inline uint32_t Hash(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

}  // namespace

CovisitSource::CovisitSource(const Dataset& ds, Config cfg, const InterestStore* interests, const CovisitSource* shared)
    : ds_(ds), cfg_(cfg), interests_(interests), shared_(shared) {
  VANE_CHECK(!cfg_.history_mode || interests_, "history mode needs the interest store");
}

void CovisitSource::Rehash(Table& t, size_t cap, size_t keep) {
  std::vector<std::pair<float, uint32_t>> edges;
  edges.reserve(t.size);
  for (size_t i = 0; i < t.keys.size(); ++i)
    if (t.keys[i]) edges.emplace_back(t.vals[i], t.keys[i]);
  if (keep < edges.size()) {
    std::nth_element(edges.begin(), edges.begin() + static_cast<std::ptrdiff_t>(keep), edges.end(),
                     [](const auto& x, const auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
    num_edges_ -= edges.size() - keep;
    edges.resize(keep);
  }
  std::vector<uint32_t> keys(cap, 0);
  std::vector<float> vals(cap, 0);
  for (const auto& [v, k] : edges) {
    size_t p = Hash(k) & (cap - 1);
    while (keys[p]) p = (p + 1) & (cap - 1);
    keys[p] = k;
    vals[p] = v;
  }
  t.keys.swap(keys);
  t.vals.swap(vals);
  t.size = static_cast<uint32_t>(edges.size());
}

void CovisitSource::AddEdge(uint32_t a, uint32_t b, float w) {
  if (a >= out_.size()) out_.resize(std::max<size_t>(a + 1, ds_.num_items()));
  Table& t = out_[a];
  const size_t max_edges = cfg_.max_edges_per_item;
  if (max_edges > 0 && t.size >= 2 * max_edges) {
    Rehash(t, t.keys.size(), max_edges);  // the weakest half goes; the table keeps its size for the next ones
  } else if ((t.size + 1) * 4 > t.keys.size() * 3) {  // load factor 0.75
    Rehash(t, t.keys.empty() ? 8 : t.keys.size() * 2, SIZE_MAX);
  }
  uint32_t key = b + 1;
  size_t mask = t.keys.size() - 1;
  size_t p = Hash(key) & mask;
  while (t.keys[p] && t.keys[p] != key) p = (p + 1) & mask;
  if (!t.keys[p]) {
    t.keys[p] = key;
    ++t.size;
    ++num_edges_;
  }
  t.vals[p] += w;
  t.total += w;
}

float CovisitSource::Weight(ItemIdx a, ItemIdx b) const {
  if (a.v >= out_.size()) return 0;
  const Table& t = out_[a.v];
  if (t.keys.empty()) return 0;
  uint32_t key = b.v + 1;
  size_t mask = t.keys.size() - 1;
  for (size_t p = Hash(key) & mask; t.keys[p]; p = (p + 1) & mask)
    if (t.keys[p] == key) return t.vals[p];
  return 0;
}

void CovisitSource::Observe(const Event& e, const UserState& before) {
  if (shared_ || !e.item.valid()) return;
  if (ds_.actions.spec(e.action).weight <= 0) return;
  float scale = 1.0f;
  if (cfg_.half_life_s > 0 && ds_.has_timestamps) {
    if (!t0_set_) {
      t0_ = e.ts;
      t0_set_ = true;
    }
    double ex = static_cast<double>(e.ts - t0_) / cfg_.half_life_s - ref_log2_;
    if (ex > 60) {  // renormalise all weights well before floats overflow
      double shift = std::floor(ex);
      auto f = static_cast<float>(std::exp2(-shift));
      for (Table& t : out_) {
        for (float& v : t.vals) v *= f;
        t.total *= f;
      }
      ref_log2_ += shift;
      ex -= shift;
    }
    scale = static_cast<float>(std::exp2(ex));
  }
  int dist = 0;
  for (int k = 0; k < before.num_recent && dist < cfg_.window; ++k) {
    const RecentEvent& r = before.Recent(k);
    if (r.is_query) continue;
    if (ds_.has_timestamps && static_cast<double>(e.ts) - r.ts > cfg_.session_gap_s) break;
    if (ds_.actions.spec(r.action).weight <= 0) continue;
    ++dist;
    if (r.ref == e.item.v) continue;
    float w = scale / static_cast<float>(dist);
    AddEdge(r.ref, e.item.v, w);
    if (cfg_.reverse_weight > 0) AddEdge(e.item.v, r.ref, w * cfg_.reverse_weight);
  }
}

void CovisitSource::ScoreNeighbours(uint32_t item, float w, bool all, const Evidence& ev, ScoreBuffer& out) const {
  const CovisitSource& src = shared_ ? *shared_ : *this;
  if (item >= src.out_.size()) return;
  const Table& t = src.out_[item];
  if (t.total <= 0) return;
  if (all || t.size <= cfg_.serve_neighbours) {
    float f = w / t.total;
    for (size_t p = 0; p < t.keys.size(); ++p)
      if (t.keys[p]) out.Add(ItemIdx(t.keys[p] - 1), f * t.vals[p], ev);
    return;
  }
  std::lock_guard<std::mutex> lock(top_mu_);
  if (top_.size() < src.out_.size()) top_.resize(src.out_.size());
  TopList& tl = top_[item];
  // Rebuilt whenever the item's edges changed, never kept stale: the answer then depends on the data alone, not
  // on when this item was last read, so two nodes of a cluster that applied the same log answer alike (a list
  // kept until its total grew by 10% made a node that had served more requests answer differently).
  if (tl.total_at_build != t.total) {
    tl.items.clear();
    for (size_t p = 0; p < t.keys.size(); ++p)
      if (t.keys[p]) tl.items.emplace_back(t.keys[p] - 1, t.vals[p] / t.total);
    auto better = [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); };
    size_t k = std::min(cfg_.serve_neighbours, tl.items.size());
    std::partial_sort(tl.items.begin(), tl.items.begin() + static_cast<std::ptrdiff_t>(k), tl.items.end(), better);
    tl.items.resize(k);
    tl.items.shrink_to_fit();
    tl.total_at_build = t.total;
  }
  for (const auto& [nb, share] : tl.items) out.Add(ItemIdx(nb), w * share, ev);
}

void CovisitSource::Generate(const RetrievalContext& ctx, ScoreBuffer& out) const {
  if (!ctx.state) return;
  if (cfg_.history_mode) {
    auto hist = interests_->Interacted(ctx.user);
    float rw = 1.0f;
    int used = 0;
    for (size_t k = hist.size(); k-- > 0 && used < cfg_.history_items; ++used) {
      Evidence ev{hist[k].v, 0, EvidenceKind::kAfterItem, 0, 0};
      ev.ts = 0;
      ScoreNeighbours(hist[k].v, rw, ctx.limit == SIZE_MAX, ev, out);
      rw *= cfg_.history_decay;
    }
    return;
  }
  const UserState& st = *ctx.state;
  float rw = 1.0f;
  int used = 0;
  for (int k = 0; k < st.num_recent && used < cfg_.recent_items; ++k) {
    const RecentEvent& r = st.Recent(k);
    if (r.is_query) continue;
    float aw = ds_.actions.EffectiveWeight(r.action, 0, false);
    if (aw <= 0) continue;
    ++used;
    // Action weight enters softly (sqrt) so a purchase counts more than a view without drowning the rest.
    Evidence ev{r.ref, r.ts, EvidenceKind::kAfterItem, r.action, 0};
    ScoreNeighbours(r.ref, rw * std::sqrt(aw), ctx.limit == SIZE_MAX, ev, out);
    rw *= cfg_.recency_decay;
  }
}

size_t CovisitSource::MemoryBytes() const {
  size_t b = out_.capacity() * sizeof(Table);
  for (const Table& t : out_) b += t.keys.capacity() * (sizeof(uint32_t) + sizeof(float));
  return b;
}

void CovisitSource::SaveState(BinaryWriter& w) const {
  w.U64(out_.size());
  for (const Table& t : out_) {
    w.PodVec(t.keys);
    w.PodVec(t.vals);
    w.U32(t.size);
    w.F32(t.total);
  }
  w.U64(num_edges_);
  w.F64(ref_log2_);
  w.I64(t0_);
  w.Bool(t0_set_);
}

Status CovisitSource::LoadState(BinaryReader& r) {
  uint64_t n = r.Count(24, "co-visitation tables");
  if (n > ds_.num_items()) r.Fail("co-visitation tables for more items than the catalogue has");
  out_.clear();
  out_.resize(r.ok() ? n : 0);
  for (Table& t : out_) {
    r.PodVec(t.keys);
    r.PodVec(t.vals);
    t.size = r.U32();
    t.total = r.F32();
    if (!r.ok()) break;
    const size_t cap = t.keys.size();
    if (cap != t.vals.size() || (cap & (cap - 1)) != 0 || t.size > cap) r.Fail("a co-visitation table is malformed");
    for (uint32_t k : t.keys)
      if (k > ds_.num_items() && r.ok()) r.Fail("a co-visitation edge names an item out of range");
  }
  num_edges_ = r.U64();
  ref_log2_ = r.F64();
  t0_ = r.I64();
  t0_set_ = r.Bool();
  std::lock_guard<std::mutex> lock(top_mu_);  // neighbour lists are redone from the loaded tables on first use
  top_.clear();
  return r.status();
}

}  // namespace vane
