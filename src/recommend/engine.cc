#include "vane/recommend/engine.h"

#include "vane/recommend/gate.h"

#include <algorithm>
#include <array>
#include <limits>
#include <cmath>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "vane/core/binary_io.h"
#include "vane/core/status.h"
#include "vane/recommend/ranker.h"

namespace vane {
namespace {

thread_local ScoreBuffer tl_source_buf;
thread_local ScoreBuffer tl_blend_buf;
// Per-thread scratch of Recommend: exclusion stamps (one generation per request, no per-request clearing) and the
// ranked head of the blend.
thread_local std::vector<uint32_t> tl_excl_stamp;
thread_local uint32_t tl_excl_gen = 0;
thread_local std::vector<std::pair<ItemIdx, float>> tl_ranked;
// The ranking stage's record of the last blend on this thread: each source's list (item, score / source max), best
// first and cut to per_source_limit, and each source's best raw score.
thread_local std::array<std::vector<std::pair<uint32_t, float>>, kNumSources> tl_src_lists;
thread_local std::array<float, kNumSources> tl_src_max;
thread_local std::vector<uint32_t> tl_row_stamp, tl_row_of;
thread_local uint32_t tl_row_gen = 0;
thread_local Engine::RankRows tl_rank_rows;
thread_local std::vector<std::pair<ItemIdx, float>> tl_head;
thread_local std::vector<float> tl_rank_pred;

// A fresh generation of the per-item stamps (sized to the catalogue): marks set before it read as unmarked.
uint32_t NextStamp(size_t items) {
  if (tl_row_stamp.size() < items) {
    tl_row_stamp.resize(items, 0);
    tl_row_of.resize(items, 0);
  }
  if (++tl_row_gen == 0) {
    std::fill(tl_row_stamp.begin(), tl_row_stamp.end(), 0);
    tl_row_gen = 1;
  }
  return tl_row_gen;
}

// The best `depth` items of `blend`, best first (ties by item), leaving out `interacted` (the user's own items,
// filtered from every list and every evaluation). Items past `depth` stay in `out`, unsorted.
void UnseenHead(const ScoreBuffer& blend, std::span<const ItemIdx> interacted, size_t items, size_t depth,
                std::vector<std::pair<ItemIdx, float>>& out) {
  const uint32_t seen = NextStamp(items);
  for (ItemIdx i : interacted)
    if (i.v < items) tl_row_stamp[i.v] = seen;
  out.clear();
  for (uint32_t i : blend.touched())
    if (tl_row_stamp[i] != seen) out.emplace_back(ItemIdx(i), blend.Score(ItemIdx(i)));
  auto better = [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); };
  const size_t m = std::min(depth, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(m), out.end(), better);
}

// A request's filters: available items only, not excluded (the request's ids and, unless include_consumed, the
// user's consumed items and the items of their last few events), of the wanted type and in one of the wanted
// categories. Excluded items are stamped in a thread-local array (no per-request allocation).
class RequestFilter {
 public:
  RequestFilter(const Dataset& ds, const InterestStore& interests, const RecommendRequest& req, UserIdx u) : ds_(ds) {
    if (tl_excl_stamp.size() < ds_.num_items()) tl_excl_stamp.resize(ds_.num_items(), 0);
    if (++tl_excl_gen == 0) {
      std::fill(tl_excl_stamp.begin(), tl_excl_stamp.end(), 0);
      tl_excl_gen = 1;
    }
    for (const auto& id : req.exclude_ids)
      if (auto f = ds_.catalog.Find(id)) Exclude(f->v);
    if (!req.include_consumed && u.valid()) {
      for (ItemIdx i : interests.Consumed(u)) Exclude(i.v);
      // What the user acted on moments ago is not news to them, whatever the action.
      if (const UserState* st = interests.Find(u))
        for (int k = 0; k < st->num_recent; ++k)
          if (!st->Recent(k).is_query) Exclude(st->Recent(k).ref);
    }
    if (!req.item_type.empty()) {
      type_id_ = ds_.catalog.type_vocab().Find(req.item_type);
      type_unknown_ = !type_id_.has_value();
    }
    for (const auto& c : req.categories)
      if (auto f = ds_.catalog.category_vocab().Find(c)) cat_ids_.push_back(*f);
    cats_unknown_ = !req.categories.empty() && cat_ids_.empty();
  }

  bool Pass(ItemIdx i, std::optional<uint32_t> want_type) const {
    if (!ds_.catalog.item(i).available || IsExcluded(i.v)) return false;
    if (want_type && ds_.catalog.type_id(i) != *want_type) return false;
    if (!cat_ids_.empty()) {
      bool hit = false;
      for (uint32_t c : ds_.catalog.categories(i)) hit |= std::find(cat_ids_.begin(), cat_ids_.end(), c) != cat_ids_.end();
      if (!hit) return false;
    }
    return true;
  }
  // The request names a type or categories the catalogue does not know: no item can pass.
  bool impossible() const { return type_unknown_ || cats_unknown_; }
  std::optional<uint32_t> type_id() const { return type_id_; }
  size_t num_excluded() const { return num_excluded_; }

 private:
  void Exclude(uint32_t i) {
    if (i < tl_excl_stamp.size() && tl_excl_stamp[i] != tl_excl_gen) {
      tl_excl_stamp[i] = tl_excl_gen;
      ++num_excluded_;
    }
  }
  bool IsExcluded(uint32_t i) const { return i < tl_excl_stamp.size() && tl_excl_stamp[i] == tl_excl_gen; }

  const Dataset& ds_;
  size_t num_excluded_ = 0;
  std::optional<uint32_t> type_id_;
  bool type_unknown_ = false;
  std::vector<uint32_t> cat_ids_;
  bool cats_unknown_ = false;
};

// The blended items, best first. Only the head is needed: the best `want` are sorted (enough for the lists and
// whatever the filters remove); the tail stays unsorted and is reached only when filters reject nearly everything.
const std::vector<std::pair<ItemIdx, float>>& RankHead(const ScoreBuffer& blend, size_t want) {
  auto& ranked = tl_ranked;
  ranked.clear();
  for (uint32_t i : blend.touched()) ranked.emplace_back(ItemIdx(i), blend.Score(ItemIdx(i)));
  auto better = [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); };
  if (ranked.size() > want) {
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(want), ranked.end(), better);
  } else {
    std::sort(ranked.begin(), ranked.end(), better);
  }
  return ranked;
}

// Candidates of one list: the best-ranked items that pass the filters (up to 4n + 20). So that a list is never
// empty while the catalogue has eligible items, the most popular eligible ones fill up to that size (score 0)
// when fewer than n pass.
std::vector<std::pair<ItemIdx, float>> CandidatePool(const std::vector<std::pair<ItemIdx, float>>& ranked,
                                                     const RequestFilter& filter, std::optional<uint32_t> want_type,
                                                     size_t n, const PopularitySource& pop, const ScoreBuffer& blend) {
  std::vector<std::pair<ItemIdx, float>> pool;
  for (const auto& p : ranked) {
    if (!filter.Pass(p.first, want_type)) continue;
    pool.push_back(p);
    if (pool.size() >= n * 4 + 20) break;
  }
  if (pool.size() < n) {
    for (ItemIdx i : pop.Ranked()) {
      if (pool.size() >= n * 4 + 20) break;
      if (blend.Has(i) || !filter.Pass(i, want_type)) continue;
      pool.emplace_back(i, 0.0f);
    }
  }
  return pool;
}

// Greedy diversified selection of up to n candidates: each earlier pick of the same main category multiplies a
// score by (1 - diversity), re-evaluated lazily (the list is short). Returns (index into pool, diversified score).
std::vector<std::pair<size_t, float>> DiversePicks(const Catalog& catalog,
                                                   const std::vector<std::pair<ItemIdx, float>>& pool, size_t n,
                                                   float diversity) {
  std::vector<std::pair<size_t, float>> picks;
  std::unordered_map<uint32_t, int> cat_count;
  std::vector<bool> used(pool.size(), false);
  while (picks.size() < n) {
    int best = -1;
    float best_s = -1e30f;
    for (size_t k = 0; k < pool.size(); ++k) {
      if (used[k]) continue;
      auto cats = catalog.categories(pool[k].first);
      int c = cats.empty() ? 0 : cat_count[cats[0]];
      float s = pool[k].second * std::pow(1.0f - diversity, static_cast<float>(c));
      if (s > best_s) {
        best_s = s;
        best = static_cast<int>(k);
      }
    }
    if (best < 0) break;
    used[best] = true;
    auto cats = catalog.categories(pool[best].first);
    if (!cats.empty()) ++cat_count[cats[0]];
    picks.emplace_back(static_cast<size_t>(best), best_s);
  }
  return picks;
}

}  // namespace

Engine::Engine(const Dataset& ds, EngineConfig cfg, const Clock* clock)
    : ds_(ds), cfg_(cfg), clock_(clock ? clock : &system_clock_) {
  interests_ = std::make_unique<InterestStore>(ds_, cfg_.interest);
  auto pop = std::make_unique<PopularitySource>(ds_, cfg_.popularity);
  pop_ = pop.get();
  auto content = std::make_unique<ContentSource>(ds_, *interests_, cfg_.content);
  content_ = content.get();
  sources_.push_back(std::move(pop));
  auto covisit = std::make_unique<CovisitSource>(ds_, cfg_.covisit);
  const CovisitSource* edges = covisit.get();
  sources_.push_back(std::move(covisit));
  sources_.push_back(std::move(content));
  sources_.push_back(std::make_unique<AffinitySource>(ds_, *interests_, *pop_, cfg_.interest_now));
  sources_.push_back(std::make_unique<AffinitySource>(ds_, *interests_, *pop_, cfg_.interest_long));
  sources_.push_back(std::make_unique<CovisitSource>(ds_, cfg_.item_knn, interests_.get(), edges));
  std::unique_ptr<CandidateSource> model;
  if (cfg_.model_source) model = cfg_.model_source(ds_, *interests_);
  has_model_ = model != nullptr;
  sources_.push_back(model ? std::move(model) : std::make_unique<EmptySource>("model"));
  RefreshLongTail();
}

void Engine::RefreshLongTail() {
  const size_t n = ds_.num_items();
  head_item_.assign(n, 0);
  since_refresh_ = 0;
  if (n == 0) return;
  std::vector<std::pair<float, uint32_t>> pop(n);
  for (uint32_t i = 0; i < n; ++i) pop[i] = {pop_->Popularity(ItemIdx(i)), i};
  const size_t head = (n + 4) / 5;  // the most popular 20%, rounded up
  auto more = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  std::nth_element(pop.begin(), pop.begin() + static_cast<std::ptrdiff_t>(head - 1), pop.end(), more);
  for (size_t k = 0; k < head; ++k)
    if (pop[k].first > 0) head_item_[pop[k].second] = 1;  // an item nobody touched is never in the head
}

Engine::~Engine() = default;

void Engine::ReplaceModelSource(std::unique_ptr<CandidateSource> model,
                                std::function<std::unique_ptr<CandidateSource>(const Dataset&, const InterestStore&)> factory) {
  has_model_ = model != nullptr;
  sources_[kSrcModel] = model ? std::move(model) : std::make_unique<EmptySource>("model");
  cfg_.model_source = std::move(factory);
}

void Engine::Ingest(const Event& e) {
  static const UserState kEmpty{};
  const UserState* before = interests_->Find(e.user);
  const UserState& b = before ? *before : kEmpty;
  for (auto& s : sources_) s->Observe(e, b);
  interests_->Apply(e);
  // O(items) each time: every max(4,096, items) events, so a large catalogue pays it rarely.
  if (++since_refresh_ >= std::max<size_t>(4096, ds_.num_items()) || head_item_.size() < ds_.num_items()) RefreshLongTail();
}

void Engine::IngestUserOnly(const Event& e) { interests_->ApplyUserOnly(e); }

void Engine::ForgetUser(UserIdx u) {
  interests_->ForgetUser(u);
  for (auto& s : sources_) s->ForgetUser(u);
}

void Engine::OnCatalogChanged() {
  interests_->RebuildKeywordIndex();
  for (auto& s : sources_) s->OnCatalogChanged();
}

size_t Engine::SourceMemoryBytes() const {
  size_t b = 0;
  for (const auto& s : sources_) b += s->MemoryBytes();
  return b;
}

Strategy Engine::ChooseStrategy(UserIdx u, Timestamp now, std::string* why) const {
  const UserState* st = interests_->Find(u);
  if (!cfg_.use_strategies) {
    if (why) *why = "fixed blend";
    return Strategy::kStableTaste;
  }
  if (!st || st->num_events < static_cast<uint32_t>(cfg_.new_user_events)) {
    if (why) *why = "new user: " + std::to_string(st ? st->num_events : 0) + " events so far, so popular items and any searches lead";
    return Strategy::kNewUser;
  }
  const std::string events = std::to_string(st->num_events) + " events";
  // The session as the interest text reads it (InSession): outside one, nothing is "now".
  if (!InSession(*st, now, cfg_.interest)) {
    if (why) *why = "stable taste: " + events + ", no session now (last event " + Ago(st->last_ts, now) + ")";
    return Strategy::kStableTaste;
  }
  auto cats = interests_->Categories(u, now);
  float total = 0;
  for (auto& c : cats) total += std::max(0.0f, c.s);
  float top = cats.empty() || total <= 0 ? 0 : std::max(0.0f, cats[0].s) / total;
  std::string name = cats.empty() || total <= 0 ? "" : ds_.catalog.category_vocab().Name(cats[0].id);
  const std::string share = name.empty() ? "" : std::to_string(static_cast<int>(top * 100 + 0.5f)) + "% on " + name;
  const std::string session = std::to_string(st->session_events) + (st->session_events == 1 ? " event" : " events") +
                              " this session";
  // A search states an intent: it focuses the session from the first event on, as the interest text names the
  // searched category "now" at once. Without one, two events or more mostly on one category do.
  const bool focused = st->session_searches > 0 || (st->session_events >= 2 && top >= cfg_.intent_share);
  if (focused) {
    if (why)
      *why = "focused session: " + session +
             (st->session_searches ? ", " + std::to_string(st->session_searches) + (st->session_searches == 1 ? " search" : " searches") : "") +
             (share.empty() ? "" : ", " + share);
    return Strategy::kSessionIntent;
  }
  if (why)
    *why = "stable taste: " + events + "; " + session +
           (st->session_events < 2 ? ", too few to tell a focus"
                                   : ", no focus" + (share.empty() ? std::string() : " (top: " + share + ", under " +
                                                     std::to_string(static_cast<int>(cfg_.intent_share * 100 + 0.5f)) + "%)"));
  return Strategy::kStableTaste;
}

BlendWeights Engine::WeightsFor(Strategy s) const {
  BlendWeights w = cfg_.base;
  if (!cfg_.use_strategies) return w;
  const auto& m = cfg_.strategy_multipliers[static_cast<int>(s)];
  for (int i = 0; i < kNumSources; ++i) w[i] *= m[i];
  return w;
}

const ScoreBuffer& Engine::ScoreSource(int source, UserIdx u, Timestamp now, size_t limit) const {
  ScoreBuffer& buf = tl_source_buf;
  buf.Reset(ds_.num_items());
  RetrievalContext ctx{u, now, interests_->Find(u), limit};
  sources_[source]->Generate(ctx, buf);
  return buf;
}

void Engine::Blend(UserIdx u, Timestamp now, const BlendWeights& w, size_t limit, ScoreBuffer& blend, bool record) const {
  blend.Reset(ds_.num_items());
  RetrievalContext ctx{u, now, interests_->Find(u), limit};
  ScoreBuffer& buf = tl_source_buf;
  for (int s = 0; s < kNumSources; ++s) {
    if (record) {
      tl_src_lists[s].clear();
      tl_src_max[s] = 0;
    }
    if (w[s] <= 0 && !(record && source_active(s))) continue;
    buf.Reset(ds_.num_items());
    sources_[s]->Generate(ctx, buf);
    float mx = buf.MaxScore();
    if (mx <= 0) continue;
    if (record) {
      tl_src_max[s] = mx;
      auto& list = tl_src_lists[s];
      for (uint32_t i : buf.touched()) list.emplace_back(i, buf.Score(ItemIdx(i)) / mx);
      auto better = [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); };
      const size_t cap = std::min(list.size(), cfg_.per_source_limit);
      std::partial_sort(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(cap), list.end(), better);
      list.resize(cap);
    }
    if (w[s] <= 0) continue;
    // Scores are normalised per source (max 1) so that weights, not raw scales, set each source's say.
    float f = w[s] / mx;
    for (uint32_t i : buf.touched()) {
      Evidence ev = buf.EvidenceOf(ItemIdx(i));
      ev.source = static_cast<uint8_t>(s);
      blend.Add(ItemIdx(i), buf.Score(ItemIdx(i)) * f, ev);
    }
  }
}

const ScoreBuffer& Engine::RankCandidates(UserIdx u, Timestamp now, Strategy st, const BlendWeights& w, size_t limit,
                                          size_t depth, bool skip_interacted, RankRows& out) const {
  namespace rf = rank_feature;
  ScoreBuffer& blend = tl_blend_buf;
  Blend(u, now, w, limit, blend, true);
  out.items.clear();
  out.x.clear();
  auto& ranked = tl_ranked;
  UnseenHead(blend, skip_interacted ? interests_->Interacted(u) : std::span<const ItemIdx>{}, ds_.num_items(), depth, ranked);
  const size_t m = std::min(depth, ranked.size());
  const uint32_t row_mark = NextStamp(ds_.num_items());  // the rows' own marks
  const float nan = std::numeric_limits<float>::quiet_NaN();
  out.x.assign(m * kNumRankFeatures, 0.0f);
  const float bmax = m ? std::max(ranked[0].second, 1e-30f) : 1.0f;

  // The user's side: state, concentration, interest shares by category.
  const UserState* us = interests_->Find(u);
  std::unordered_map<uint32_t, std::pair<float, float>> share;  // category -> (short-term share, long-term share)
  float top_share = 0;
  if (us) {
    auto cats = interests_->Categories(u, now);
    float ts = 0, tl = 0;
    for (auto& c : cats) {
      ts += std::max(0.0f, c.s);
      tl += std::max(0.0f, c.l);
    }
    for (auto& c : cats)
      share[c.id] = {ts > 0 ? std::max(0.0f, c.s) / ts : 0.0f, tl > 0 ? std::max(0.0f, c.l) / tl : 0.0f};
    if (!cats.empty() && ts > 0) top_share = std::max(0.0f, cats[0].s) / ts;
  }
  for (size_t k = 0; k < m; ++k) {
    const ItemIdx i = ranked[k].first;
    out.items.push_back(i);
    tl_row_stamp[i.v] = row_mark;
    tl_row_of[i.v] = static_cast<uint32_t>(k);
    float* x = &out.x[k * kNumRankFeatures];
    for (int s = 0; s < kNumSources; ++s) {
      x[rf::kSourceRank + s] = nan;
      x[rf::kSourceMax + s] = tl_src_max[s];
    }
    x[rf::kBlendScore] = ranked[k].second / bmax;
    x[rf::kBlendRank] = std::log2(2.0f + static_cast<float>(k));
    x[rf::kItemPopularity] = std::log1p(pop_->Popularity(i));
    x[rf::kItemTrend] = std::log1p(pop_->Trend(i));
    float cn = 0, cl = 0;
    for (uint32_t c : ds_.catalog.categories(i)) {
      auto it = share.find(c);
      if (it == share.end()) continue;
      cn = std::max(cn, it->second.first);
      cl = std::max(cl, it->second.second);
    }
    x[rf::kItemCatNow] = cn;
    x[rf::kItemCatLong] = cl;
    x[rf::kUserEvents] = us ? std::log1p(static_cast<float>(us->num_events)) : 0.0f;
    x[rf::kUserSessionEvents] = us ? static_cast<float>(us->session_events) : 0.0f;
    x[rf::kUserSessionSearches] = us ? static_cast<float>(us->session_searches) : 0.0f;
    x[rf::kUserIdle] = us && ds_.has_timestamps && now >= us->last_ts ? std::log1p(static_cast<float>(now - us->last_ts)) : nan;
    x[rf::kUserTopShare] = top_share;
    x[rf::kStrategy] = static_cast<float>(static_cast<int>(st));
  }
  // Per source: the candidates' normalised scores and ranks in that source's (cut) list.
  for (int s = 0; s < kNumSources; ++s) {
    const auto& list = tl_src_lists[s];
    for (size_t r = 0; r < list.size(); ++r) {
      const uint32_t i = list[r].first;
      if (tl_row_stamp[i] != row_mark) continue;
      float* x = &out.x[tl_row_of[i] * kNumRankFeatures];
      x[rf::kSourceScore + s] = list[r].second;
      x[rf::kSourceRank + s] = std::log2(2.0f + static_cast<float>(r));
    }
  }
  return blend;
}

void Engine::Rank(UserIdx u, Timestamp now, Strategy st, const BlendWeights& w, size_t limit, bool skip_interacted,
                  ScoreBuffer& blend) const {
  RankRows& rows = tl_rank_rows;
  RankCandidates(u, now, st, w, limit, cfg_.rank_depth, skip_interacted, rows);
  if (rows.items.empty()) return;
  // The head moves above every other item: its scores become (best blended score + 1 + the ranker's score mapped
  // into (0, 1)), an order-preserving map that keeps the scores positive and readable.
  float top = 0;
  for (uint32_t i : blend.touched()) top = std::max(top, blend.Score(ItemIdx(i)));
  auto& pred = tl_rank_pred;
  pred.resize(rows.items.size());
  cfg_.ranker->PredictBatch(rows.x.data(), rows.items.size(), pred.data());
  for (size_t k = 0; k < rows.items.size(); ++k) blend.Set(rows.items[k], top + 1.0f + 1.0f / (1.0f + std::exp(-pred[k])));
}

void Engine::Control(UserIdx u, const RankControls& c, size_t n, bool skip_interacted, ScoreBuffer& blend) const {
  float top = 0;
  for (uint32_t i : blend.touched()) top = std::max(top, blend.Score(ItemIdx(i)));
  auto& head = tl_head;
  const size_t depth = std::max<size_t>(cfg_.rank_depth, 20);
  UnseenHead(blend, skip_interacted ? interests_->Interacted(u) : std::span<const ItemIdx>{}, ds_.num_items(), depth, head);
  const size_t h = std::min(head.size(), depth);
  head.resize(h);
  if (h < 2) return;
  const float hi = head.front().second, lo = head.back().second;
  const float span = hi > lo ? hi - lo : 1.0f;
  const size_t k_max = std::min(h, std::max<size_t>(n, 20));
  const size_t cap = c.category_cap < 1 ? std::max<size_t>(1, static_cast<size_t>(std::ceil(c.category_cap * static_cast<float>(std::max<size_t>(n, 1))))) : SIZE_MAX;
  std::vector<uint8_t> used(h, 0);
  std::vector<float> sim_sum(h, 0.0f);     // sum of the similarities to the picks so far
  std::unordered_map<uint32_t, size_t> per_cat;
  auto jaccard = [&](ItemIdx a, ItemIdx b) {
    auto ca = ds_.catalog.categories(a), cb = ds_.catalog.categories(b);
    size_t inter = 0;
    for (uint32_t x : ca) inter += std::find(cb.begin(), cb.end(), x) != cb.end();
    const size_t uni = ca.size() + cb.size() - inter;
    return uni == 0 ? 0.0f : static_cast<float>(inter) / static_cast<float>(uni);
  };
  std::vector<size_t> order;
  for (size_t k = 0; k < k_max; ++k) {
    int best = -1;
    float best_v = -1e30f;
    bool best_capped = true;
    for (size_t j = 0; j < h; ++j) {
      if (used[j]) continue;
      const ItemIdx i = head[j].first;
      float v = (head[j].second - lo) / span;
      if (c.long_tail > 0 && LongTail(i)) v += c.long_tail;
      if (c.diversity > 0 && k > 0) v -= c.diversity * sim_sum[j] / static_cast<float>(k);
      bool capped = false;
      if (cap != SIZE_MAX && k < n) {
        auto cats = ds_.catalog.categories(i);
        if (!cats.empty()) {
          auto it = per_cat.find(cats[0]);
          capped = it != per_cat.end() && it->second >= cap;
        }
      }
      // An item over its category's cap is taken only when every other is over it too.
      if ((best_capped && !capped) || (capped == best_capped && v > best_v)) {
        best = static_cast<int>(j);
        best_v = v;
        best_capped = capped;
      }
    }
    if (best < 0) break;
    used[best] = 1;
    order.push_back(static_cast<size_t>(best));
    const ItemIdx picked = head[best].first;
    if (auto cats = ds_.catalog.categories(picked); !cats.empty()) ++per_cat[cats[0]];
    if (c.diversity > 0)
      for (size_t j = 0; j < h; ++j)
        if (!used[j]) sim_sum[j] += jaccard(head[j].first, picked);
  }
  // The picks, in their order, above every other item.
  for (size_t k = 0; k < order.size(); ++k)
    blend.Set(head[order[k]].first, top + 1.0f + static_cast<float>(order.size() - k) / static_cast<float>(order.size() + 1));
}

// (recommend/gate.h) Here rather than in gate.cc, which stays free of the engine (the blend file's fuzz target
// links it alone).
GateFeatures ComputeGateFeatures(const Engine& engine, UserIdx u, Timestamp now, Strategy rules) {
  namespace g = gate_feature;
  GateFeatures x{};
  x[g::kBias] = 1.0f;
  x[g::kRulesNewUser] = rules == Strategy::kNewUser;
  x[g::kRulesSession] = rules == Strategy::kSessionIntent;
  const UserState* us = engine.interests().Find(u);
  if (!us) return x;
  auto capped = [](double v) { return static_cast<float>(std::min(1.0, v)); };
  x[g::kEvents] = capped(std::log1p(us->num_events) / std::log(1000.0));
  x[g::kSessionEvents] = capped(std::log1p(us->session_events) / std::log(50.0));
  x[g::kSearched] = us->session_searches > 0;
  x[g::kInSession] = InSession(*us, now, engine.config().interest);
  if (engine.dataset().has_timestamps && now >= us->last_ts)
    x[g::kIdle] = capped(std::log1p(static_cast<double>(now - us->last_ts)) / std::log(1e7));
  auto cats = engine.interests().Categories(u, now);
  float total = 0;
  for (const auto& c : cats) total += std::max(0.0f, c.s);
  if (!cats.empty() && total > 0) x[g::kTopShare] = std::max(0.0f, cats[0].s) / total;
  if (engine.source_active(kSrcModel))
    x[g::kModelConfidence] = std::clamp(engine.source(kSrcModel).Confidence(u), 0.0f, 1.0f);
  return x;
}

BlendWeights Engine::ChooseWeights(UserIdx u, Timestamp now, Strategy* st, std::string* why) const {
  std::string rules_why;
  *st = ChooseStrategy(u, now, why ? &rules_why : nullptr);
  const UserState* us = interests_->Find(u);
  if (!gating() || !us || us->num_events == 0) {
    if (why) *why = std::move(rules_why);
    return WeightsFor(*st);
  }
  const GateFeatures x = ComputeGateFeatures(*this, u, now, *st);
  const BlendWeights m = cfg_.gate->Multipliers(x);
  BlendWeights w = cfg_.base;
  for (int s = 0; s < kNumSources; ++s) w[s] *= m[s];
  if (why) *why = cfg_.gate->Explain(x) + " (the rules would say " + StrategyName(*st) + ")";
  return w;
}

const ScoreBuffer& Engine::ScoreAll(UserIdx u, Timestamp now, const BlendWeights* weights, size_t limit) const {
  // The strategy is needed for the weights, or as a feature of the ranker; not for given weights alone.
  Strategy st = Strategy::kStableTaste;
  BlendWeights w;
  if (weights) {
    w = *weights;
    if (ranking()) st = ChooseStrategy(u, now);
  } else {
    w = ChooseWeights(u, now, &st);
  }
  if (ranking()) Rank(u, now, st, w, limit, true, tl_blend_buf);
  else Blend(u, now, w, limit, tl_blend_buf);
  if (cfg_.controls.active()) Control(u, cfg_.controls, 10, true, tl_blend_buf);
  return tl_blend_buf;
}

RecommendResponse Engine::Recommend(const RecommendRequest& req) const {
  RecommendResponse resp;
  const Timestamp now = req.now ? req.now : clock_->Now();
  UserIdx u;
  if (auto f = ds_.users.Find(req.user)) u = UserIdx(*f);
  // Strategy, then the blend of the sources under its weights.
  BlendWeights w = ChooseWeights(u, now, &resp.strategy, &resp.strategy_reason);
  for (int i = 0; i < kNumSources; ++i) w[i] *= req.weight_scale[i];  // an A/B variant's change, 1 by default
  ScoreBuffer& blend = tl_blend_buf;
  if (ranking()) Rank(u, now, resp.strategy, w, cfg_.per_source_limit, !req.include_consumed, blend);
  else Blend(u, now, w, cfg_.per_source_limit, blend);
  if (const RankControls& rc = req.controls ? *req.controls : cfg_.controls; rc.active())
    Control(u, rc, req.n, !req.include_consumed, blend);
  // Filters, diversity and explanations, per list: the main one, then one per slate type.
  const RequestFilter filter(ds_, *interests_, req, u);
  const auto& ranked = RankHead(blend, (req.n + req.slate_types.size() * req.n_per_slate) * 4 + 40 + filter.num_excluded());
  const float diversity = req.diversity >= 0 ? req.diversity : cfg_.diversity;
  auto select = [&](size_t n, std::optional<uint32_t> want_type, std::vector<Recommendation>& out) {
    if (filter.impossible()) return;
    auto pool = CandidatePool(ranked, filter, want_type, n, *pop_, blend);
    for (const auto& [k, score] : DiversePicks(ds_.catalog, pool, n, diversity))
      out.push_back(Explained(pool[k].first, score, pool[k].second == 0.0f, blend, now, req.explain));
  };
  select(req.n, filter.type_id(), resp.items);
  for (const auto& t : req.slate_types) {
    std::vector<Recommendation> slate;
    auto tid = ds_.catalog.type_vocab().Find(t);
    if (tid) select(req.n_per_slate, tid, slate);
    resp.slates.emplace_back(t, std::move(slate));
  }
  return resp;
}

Recommendation Engine::Explained(ItemIdx i, float score, bool fallback, const ScoreBuffer& blend, Timestamp now,
                                 bool explain) const {
  Recommendation r;
  r.item = i;
  const Item& it = ds_.catalog.item(i);
  r.id = it.id;
  r.type = it.type;
  r.title = it.title;
  r.score = score;
  const Evidence& ev = blend.EvidenceOf(i);
  r.source = SourceName(ev.source);
  if (!explain) return r;
  if (fallback) {  // no source scored it: a popular item of the wanted kind
    r.reason_en = "popular " + r.type + " (no closer match for you yet)";
    r.reason_zh = "热门" + r.type + "（暂无更贴近你的推荐）";
    r.source = "popular";
  } else {
    r.reason_en = Explain(ev, i, now, false);
    r.reason_zh = Explain(ev, i, now, true);
  }
  return r;
}

std::string Engine::StateKey(const EngineConfig& c) {
  const InterestConfig& i = c.interest;
  return fmt::format("interest {} {} {} {} {} {} {}; popularity {} {}; covisit {} {} {} {} {}", i.short_half_life_s,
                     i.long_half_life_s, i.long_idle_cap_s, i.session_gap_s, i.keyword_share, i.search_category_share,
                     i.history_cap, c.popularity.half_life_s, c.popularity.trend_half_life_s, c.covisit.window,
                     c.covisit.reverse_weight, c.covisit.half_life_s, c.covisit.session_gap_s,
                     c.covisit.max_edges_per_item);
}

void Engine::Save(BinaryWriter& w) const {
  w.Tag("engine");
  w.Str(StateKey(cfg_));
  interests_->Save(w);
  for (int s = 0; s < kNumSources; ++s) {
    if (s == kSrcModel) continue;
    w.Tag(SourceName(s));
    sources_[s]->SaveState(w);
  }
}

Status CheckRequest(const Dataset& ds, const RecommendRequest& req) {
  if (req.n < 1 || req.n > 1000)
    return Status::InvalidArgument("bad_parameter", fmt::format("n must be 1..1000, got {}", req.n));
  for (const auto& c : req.categories)
    if (!c.empty() && !ds.catalog.category_vocab().Find(c))
      return Status::NotFound("unknown_category", "no item has category '" + c + "'");
  auto known_type = [&](const std::string& t) { return t.empty() || ds.catalog.type_vocab().Find(t).has_value(); };
  if (!known_type(req.item_type))
    return Status::NotFound("unknown_type", "no item has type '" + req.item_type + "'");
  for (const auto& t : req.slate_types)
    if (!known_type(t)) return Status::NotFound("unknown_type", "no item has type '" + t + "' (slates)");
  return Status::Ok();
}

Status Engine::Load(BinaryReader& r) {
  r.Expect("engine");
  std::string key = r.Str();
  if (!r.ok()) return r.status();
  if (key != StateKey(cfg_))
    return Status::FailedPrecondition(
        fmt::format("the snapshot was taken under another configuration ({}; this one is {})", key, StateKey(cfg_)));
  VANE_RETURN_IF_ERROR(interests_->Load(r));
  for (int s = 0; s < kNumSources; ++s) {
    if (s == kSrcModel) continue;
    r.Expect(SourceName(s));
    if (!r.ok()) return r.status();
    VANE_RETURN_IF_ERROR(sources_[s]->LoadState(r));
  }
  RefreshLongTail();
  return r.status();
}

}  // namespace vane
