#include "vane/recommend/engine.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "vane/core/status.h"

namespace vane {
namespace {

thread_local ScoreBuffer tl_source_buf;
thread_local ScoreBuffer tl_blend_buf;

}  // namespace

const char* StrategyName(Strategy s) {
  switch (s) {
    case Strategy::kNewUser: return "new_user";
    case Strategy::kSessionIntent: return "session_intent";
    case Strategy::kStableTaste: return "stable_taste";
  }
  return "?";
}

const char* SourceName(int s) {
  static const char* kNames[] = {"popular", "covisit", "content", "interest_now", "interest_long", "item_knn", "model"};
  return s >= 0 && s < kNumSources ? kNames[s] : "?";
}

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
}

void Engine::IngestUserOnly(const Event& e) { interests_->ApplyUserOnly(e); }

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
  bool in_session = static_cast<double>(now - st->last_ts) <= cfg_.interest.session_gap_s;
  if (in_session && st->session_events >= 2) {
    auto cats = interests_->Categories(u, now);
    float total = 0;
    for (auto& c : cats) total += std::max(0.0f, c.s);
    float top = cats.empty() || total <= 0 ? 0 : std::max(0.0f, cats[0].s) / total;
    if (st->session_searches > 0 || top >= cfg_.intent_share) {
      if (why) {
        std::string name = cats.empty() ? "" : ds_.catalog.category_vocab().Name(cats[0].id);
        *why = "focused session: " + std::to_string(st->session_events) + " events this session" +
               (st->session_searches ? ", " + std::to_string(st->session_searches) + (st->session_searches == 1 ? " search" : " searches") : "") +
               (name.empty() ? "" : ", " + std::to_string(static_cast<int>(top * 100 + 0.5f)) + "% on " + name);
      }
      return Strategy::kSessionIntent;
    }
  }
  if (why) *why = "stable taste: " + std::to_string(st->num_events) + " events, no focused session now";
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

void Engine::Blend(UserIdx u, Timestamp now, const BlendWeights& w, size_t limit, ScoreBuffer& blend) const {
  blend.Reset(ds_.num_items());
  RetrievalContext ctx{u, now, interests_->Find(u), limit};
  ScoreBuffer& buf = tl_source_buf;
  for (int s = 0; s < kNumSources; ++s) {
    if (w[s] <= 0) continue;
    buf.Reset(ds_.num_items());
    sources_[s]->Generate(ctx, buf);
    float mx = buf.MaxScore();
    if (mx <= 0) continue;
    // Scores are normalised per source (max 1) so that weights, not raw scales, set each source's say.
    float f = w[s] / mx;
    for (uint32_t i : buf.touched()) {
      Evidence ev = buf.EvidenceOf(ItemIdx(i));
      ev.source = static_cast<uint8_t>(s);
      blend.Add(ItemIdx(i), buf.Score(ItemIdx(i)) * f, ev);
    }
  }
}

const ScoreBuffer& Engine::ScoreAll(UserIdx u, Timestamp now, const BlendWeights* weights) const {
  BlendWeights w = weights ? *weights : WeightsFor(ChooseStrategy(u, now));
  Blend(u, now, w, SIZE_MAX, tl_blend_buf);
  return tl_blend_buf;
}

RecommendResponse Engine::Recommend(const RecommendRequest& req) const {
  const float diversity = req.diversity >= 0 ? req.diversity : cfg_.diversity;
  RecommendResponse resp;
  Timestamp now = req.now ? req.now : clock_->Now();
  UserIdx u;
  if (auto f = ds_.users.Find(req.user)) u = UserIdx(*f);
  resp.strategy = ChooseStrategy(u, now, &resp.strategy_reason);
  BlendWeights w = WeightsFor(resp.strategy);
  for (int i = 0; i < kNumSources; ++i) w[i] *= req.weight_scale[i];  // an A/B variant's change, 1 by default
  ScoreBuffer& blend = tl_blend_buf;
  Blend(u, now, w, cfg_.per_source_limit, blend);

  // Filters. Excluded items are marked in a thread-local array stamped per request (no per-request allocation).
  thread_local std::vector<uint32_t> excl_stamp;
  thread_local uint32_t excl_gen = 0;
  if (excl_stamp.size() < ds_.num_items()) excl_stamp.resize(ds_.num_items(), 0);
  if (++excl_gen == 0) {
    std::fill(excl_stamp.begin(), excl_stamp.end(), 0);
    excl_gen = 1;
  }
  size_t num_excluded = 0;
  auto exclude = [&](uint32_t i) {
    if (i < excl_stamp.size() && excl_stamp[i] != excl_gen) {
      excl_stamp[i] = excl_gen;
      ++num_excluded;
    }
  };
  auto is_excluded = [&](uint32_t i) { return i < excl_stamp.size() && excl_stamp[i] == excl_gen; };
  for (const auto& id : req.exclude_ids)
    if (auto f = ds_.catalog.Find(id)) exclude(f->v);
  if (!req.include_consumed && u.valid()) {
    for (ItemIdx i : interests_->Consumed(u)) exclude(i.v);
    // What the user acted on moments ago is not news to them, whatever the action.
    if (const UserState* st = interests_->Find(u))
      for (int k = 0; k < st->num_recent; ++k)
        if (!st->Recent(k).is_query) exclude(st->Recent(k).ref);
  }
  std::optional<uint32_t> type_id;
  bool type_unknown = false;
  if (!req.item_type.empty()) {
    type_id = ds_.catalog.type_vocab().Find(req.item_type);
    type_unknown = !type_id.has_value();
  }
  std::vector<uint32_t> cat_ids;
  for (const auto& c : req.categories)
    if (auto f = ds_.catalog.category_vocab().Find(c)) cat_ids.push_back(*f);
  bool cats_unknown = !req.categories.empty() && cat_ids.empty();
  auto pass = [&](ItemIdx i, std::optional<uint32_t> want_type) {
    if (!ds_.catalog.item(i).available || is_excluded(i.v)) return false;
    if (want_type && ds_.catalog.type_id(i) != *want_type) return false;
    if (!cat_ids.empty()) {
      bool hit = false;
      for (uint32_t c : ds_.catalog.categories(i)) hit |= std::find(cat_ids.begin(), cat_ids.end(), c) != cat_ids.end();
      if (!hit) return false;
    }
    return true;
  };

  thread_local std::vector<std::pair<ItemIdx, float>> ranked;
  ranked.clear();
  for (uint32_t i : blend.touched()) ranked.emplace_back(ItemIdx(i), blend.Score(ItemIdx(i)));
  // Only the head is needed: sort the best M (enough for the list, the slates and whatever the filters remove); the
  // tail stays unsorted and is reached only when filters reject nearly everything.
  auto better = [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); };
  size_t want = (req.n + req.slate_types.size() * req.n_per_slate) * 4 + 40 + num_excluded;
  if (ranked.size() > want) {
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(want), ranked.end(), better);
  } else {
    std::sort(ranked.begin(), ranked.end(), better);
  }

  auto make = [&](ItemIdx i, float score) {
    Recommendation r;
    r.item = i;
    const Item& it = ds_.catalog.item(i);
    r.id = it.id;
    r.type = it.type;
    r.title = it.title;
    r.score = score;
    const Evidence& ev = blend.EvidenceOf(i);
    r.source = SourceName(ev.source);
    if (req.explain) {
      r.reason_en = Explain(ev, now, false);
      r.reason_zh = Explain(ev, now, true);
    }
    return r;
  };

  // Greedy diversified selection: each earlier pick of the same main category multiplies the score by
  // (1 - diversity), re-evaluated lazily (the list is short).
  auto select = [&](size_t n, std::optional<uint32_t> want_type, std::vector<Recommendation>& out) {
    if (type_unknown || cats_unknown) return;
    std::vector<std::pair<ItemIdx, float>> pool;
    for (const auto& p : ranked) {
      if (!pass(p.first, want_type)) continue;
      pool.push_back(p);
      if (pool.size() >= n * 4 + 20) break;
    }
    // Fallback so a slate is never empty while the catalogue has eligible items: most popular of that kind.
    if (pool.size() < n) {
      for (ItemIdx i : pop_->Ranked()) {
        if (pool.size() >= n * 4 + 20) break;
        if (blend.Has(i) || !pass(i, want_type)) continue;
        pool.emplace_back(i, 0.0f);
      }
    }
    std::unordered_map<uint32_t, int> cat_count;
    std::vector<bool> used(pool.size(), false);
    while (out.size() < n) {
      int best = -1;
      float best_s = -1e30f;
      for (size_t k = 0; k < pool.size(); ++k) {
        if (used[k]) continue;
        auto cats = ds_.catalog.categories(pool[k].first);
        int c = cats.empty() ? 0 : cat_count[cats[0]];
        float s = pool[k].second * std::pow(1.0f - diversity, static_cast<float>(c));
        if (s > best_s) {
          best_s = s;
          best = static_cast<int>(k);
        }
      }
      if (best < 0) break;
      used[best] = true;
      auto cats = ds_.catalog.categories(pool[best].first);
      if (!cats.empty()) ++cat_count[cats[0]];
      Recommendation r = make(pool[best].first, best_s);
      if (pool[best].second == 0.0f && req.explain) {
        r.reason_en = "popular " + r.type + " (no closer match for you yet)";
        r.reason_zh = "热门" + r.type + "（暂无更贴近你的推荐）";
        r.source = "popular";
      }
      out.push_back(std::move(r));
    }
  };

  select(req.n, type_id, resp.items);
  for (const auto& t : req.slate_types) {
    std::vector<Recommendation> slate;
    auto tid = ds_.catalog.type_vocab().Find(t);
    if (tid) select(req.n_per_slate, tid, slate);
    resp.slates.emplace_back(t, std::move(slate));
  }
  return resp;
}

}  // namespace vane
