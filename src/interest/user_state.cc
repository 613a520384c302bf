#include "vane/interest/user_state.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

#include "vane/core/binary_io.h"

namespace vane {
namespace {

uint64_t Key(uint32_t i, uint32_t j) { return (static_cast<uint64_t>(i) << 32) | j; }

// Relevance used to pick the node to evict: the larger of its short and long weight.
float Strength(const InterestNode& n) { return std::max(n.s, n.l); }

// The weakest of the first n nodes that is not in `written`; -1 when every node is.
int WeakestSlot(const InterestNode* nodes, int n, uint32_t written) {
  int slot = -1;
  for (int i = 0; i < n; ++i)
    if (!(written & (1u << i)) && (slot < 0 || Strength(nodes[i]) < Strength(nodes[slot]))) slot = i;
  return slot;
}

// The long-term decay factor over a gap of dt seconds: the user's own time, capped (InterestConfig::long_idle_cap_s).
double LongDecay(double dt, const InterestConfig& cfg) {
  return std::exp2(-std::min(dt, cfg.long_idle_cap_s) / cfg.long_half_life_s);
}

}  // namespace

InterestStore::InterestStore(const Dataset& ds, InterestConfig cfg) : ds_(ds), cfg_(cfg) {
  users_.resize(ds.num_users());
  consumed_.resize(ds.num_users());
  interacted_.resize(ds.num_users());
  RebuildKeywordIndex();
}

void InterestStore::RebuildKeywordIndex() {
  const Catalog& cat = ds_.catalog;
  std::vector<std::unordered_map<uint32_t, float>> acc(cat.keyword_vocab().size());
  std::vector<float> tot(cat.keyword_vocab().size(), 0);
  for (uint32_t i = 0; i < cat.size(); ++i) {
    auto cats = cat.categories(ItemIdx(i));
    if (cats.empty()) continue;
    for (uint32_t k : cat.keywords(ItemIdx(i))) {
      tot[k] += 1;
      for (uint32_t c : cats) acc[k][c] += 1.0f / static_cast<float>(cats.size());
    }
  }
  kw_cats_.assign(acc.size(), {});
  for (size_t k = 0; k < acc.size(); ++k) {
    if (acc[k].empty()) continue;
    auto& v = kw_cats_[k];
    for (auto [c, n] : acc[k]) v.emplace_back(c, n / tot[k]);
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
    // A keyword that appears everywhere says little about category: keep the top 3 with share >= 0.2.
    while (!v.empty() && (v.size() > 3 || v.back().second < 0.2f)) v.pop_back();
  }
}

std::span<const std::pair<uint32_t, float>> InterestStore::KeywordCategories(uint32_t keyword) const {
  if (keyword >= kw_cats_.size()) return {};
  return kw_cats_[keyword];
}

UserState& InterestStore::Touch(UserIdx u) {
  if (u.v >= users_.size()) {
    users_.resize(u.v + 1);
    consumed_.resize(u.v + 1);
    interacted_.resize(u.v + 1);
  }
  return users_[u.v];
}

int InterestStore::UpsertCat(UserState& st, uint32_t id, float w) {
  for (int i = 0; i < st.num_cats; ++i) {
    if (st.cats[i].id == id) {
      st.cats[i].s += w;
      st.cats[i].l += w;
      cats_written_ |= 1u << i;
      return i;
    }
  }
  if (w <= 0) return -1;  // a negative signal about an interest the user does not hold: nothing to lower
  int slot;
  if (st.num_cats < UserState::kCats) {
    slot = st.num_cats++;
  } else {
    slot = WeakestSlot(st.cats.data(), st.num_cats, cats_written_);
    if (slot < 0 || Strength(st.cats[slot]) > w) return -1;  // every held interest is stronger than this event
    // Edges of the evicted slot refer to another category now: drop them.
    int k = 0;
    for (int e = 0; e < st.num_edges; ++e)
      if (st.edges[e].from != slot && st.edges[e].to != slot) st.edges[k++] = st.edges[e];
    st.num_edges = static_cast<uint8_t>(k);
    if (st.current_cat == slot) st.current_cat = -1;
  }
  st.cats[slot] = InterestNode{id, w, w};
  cats_written_ |= 1u << slot;
  return slot;
}

void InterestStore::UpsertKw(UserState& st, uint32_t id, float w) {
  for (int i = 0; i < st.num_kws; ++i) {
    if (st.kws[i].id == id) {
      st.kws[i].s += w;
      st.kws[i].l += w;
      kws_written_ |= 1u << i;
      return;
    }
  }
  if (w <= 0) return;
  int slot;
  if (st.num_kws < UserState::kKeywords) {
    slot = st.num_kws++;
  } else {
    slot = WeakestSlot(st.kws.data(), st.num_kws, kws_written_);
    if (slot < 0 || Strength(st.kws[slot]) > w) return;
  }
  st.kws[slot] = InterestNode{id, w, w};
  kws_written_ |= 1u << slot;
}

void InterestStore::AddEdge(UserState& st, int from, int to) {
  for (int e = 0; e < st.num_edges; ++e) {
    if (st.edges[e].from == from && st.edges[e].to == to) {
      if (st.edges[e].count < 65535) ++st.edges[e].count;
      return;
    }
  }
  int slot;
  if (st.num_edges < UserState::kEdges) {
    slot = st.num_edges++;
  } else {
    slot = 0;
    for (int e = 1; e < st.num_edges; ++e)
      if (st.edges[e].count < st.edges[slot].count) slot = e;
  }
  st.edges[slot] = UserState::Edge{static_cast<uint8_t>(from), static_cast<uint8_t>(to), 1};
}

void InterestStore::Apply(const Event& e) { ApplyImpl(e, true); }
void InterestStore::ApplyUserOnly(const Event& e) { ApplyImpl(e, false); }

void InterestStore::ApplyImpl(const Event& e, bool global) {
  UserState& st = Touch(e.user);
  auto ts = static_cast<uint32_t>(std::max<Timestamp>(0, e.ts));
  DecayAndCount(st, ts);
  cats_written_ = kws_written_ = 0;  // this event's nodes: never evicted by its own later nodes
  float w = ds_.actions.EffectiveWeight(e.action, e.value, e.has_value);
  int primary = -1;  // slot of the event's main category
  if (e.item.valid()) primary = ApplyItem(st, e, w, global);
  if (e.query != kNoQuery && e.query < ds_.query_keywords.size()) {
    int q = ApplyQuery(st, e, w);
    if (primary < 0) primary = q;
  }
  if (w > 0 && primary >= 0) ApplyTransition(st, primary, global);
  PushRecent(st, e, ts);
}

void InterestStore::DecayAndCount(UserState& st, uint32_t ts) {
  // Decay every node to the event's time: exact because all nodes share the user's last update time.
  if (st.num_events > 0 && ts > st.last_ts) {
    double dt = ts - st.last_ts;
    auto fs = static_cast<float>(std::exp2(-dt / cfg_.short_half_life_s));
    auto fl = static_cast<float>(LongDecay(dt, cfg_));
    for (int i = 0; i < st.num_cats; ++i) { st.cats[i].s *= fs; st.cats[i].l *= fl; }
    for (int i = 0; i < st.num_kws; ++i) { st.kws[i].s *= fs; st.kws[i].l *= fl; }
    if (dt > cfg_.session_gap_s) {
      st.session_start_ts = ts;
      st.session_events = 0;
      st.session_searches = 0;
    }
  }
  if (st.num_events == 0) st.session_start_ts = ts;
  st.last_ts = std::max(st.last_ts, ts);
  ++st.num_events;
  ++st.session_events;
}

int InterestStore::ApplyItem(UserState& st, const Event& e, float w, bool global) {
  int primary = -1;
  auto cats = ds_.catalog.categories(e.item);
  for (uint32_t c : cats) {
    int slot = UpsertCat(st, c, w);
    if (primary < 0) primary = slot;
    if (global && w > 0) {
      if (c >= cat_pop_.size()) cat_pop_.resize(c + 1, 0);
      cat_pop_[c] += w;
      cat_pop_total_ += w;
    }
  }
  auto kws = ds_.catalog.keywords(e.item);
  float kw = w * cfg_.keyword_share;
  for (size_t i = 0; i < kws.size() && i < 6; ++i) UpsertKw(st, kws[i], kw);
  if (w > 0) {
    auto push = [&](std::vector<ItemIdx>& list) {
      list.push_back(e.item);
      if (cfg_.history_cap > 0 && list.size() >= cfg_.history_cap + cfg_.history_cap / 2)
        list.erase(list.begin(), list.end() - static_cast<std::ptrdiff_t>(cfg_.history_cap));
    };
    push(interacted_[e.user.v]);
    if (ds_.actions.spec(e.action).consumes) push(consumed_[e.user.v]);
  }
  return primary;
}

int InterestStore::ApplyQuery(UserState& st, const Event& e, float w) {
  int primary = -1;
  ++st.session_searches;
  const auto& qk = ds_.query_keywords[e.query];
  // Categories the query's words point to, merged over the words.
  scratch_cats_.clear();
  std::vector<std::pair<uint32_t, float>> qc;
  for (uint32_t k : qk) {
    UpsertKw(st, k, w);
    for (auto [c, share] : KeywordCategories(k)) {
      auto it = std::find_if(qc.begin(), qc.end(), [c = c](auto& p) { return p.first == c; });
      if (it == qc.end()) qc.emplace_back(c, share);
      else it->second += share;
    }
  }
  float total = 0;
  for (auto& p : qc) total += p.second;
  std::sort(qc.begin(), qc.end(), [](auto& a, auto& b) { return a.second > b.second; });
  for (auto& [c, share] : qc) {
    int slot = UpsertCat(st, c, w * cfg_.search_category_share * share / total);
    if (primary < 0) primary = slot;
  }
  return primary;
}

void InterestStore::ApplyTransition(UserState& st, int primary, bool global) {
  if (st.current_cat >= 0) {
    AddEdge(st, st.current_cat, primary);
    if (global) {
      uint32_t from = st.cats[st.current_cat].id, to = st.cats[primary].id;
      float& cnt = trans_[Key(from, to)];
      if (cnt == 0) {
        if (from >= trans_succ_.size()) trans_succ_.resize(from + 1);
        trans_succ_[from].push_back(to);
      }
      cnt += 1;
      if (from >= trans_row_.size()) trans_row_.resize(from + 1, 0);
      trans_row_[from] += 1;
    }
  }
  st.current_cat = static_cast<int8_t>(primary);
}

void InterestStore::PushRecent(UserState& st, const Event& e, uint32_t ts) {
  RecentEvent& r = st.recent[st.recent_head];
  r.ref = e.item.valid() ? e.item.v : e.query;
  r.is_query = !e.item.valid();
  r.ts = ts;
  r.action = e.action;
  st.recent_head = static_cast<uint8_t>((st.recent_head + 1) % UserState::kRecent);
  if (st.num_recent < UserState::kRecent) ++st.num_recent;
}

std::span<const ItemIdx> InterestStore::Consumed(UserIdx u) const {
  if (u.v >= consumed_.size()) return {};
  return consumed_[u.v];
}

std::span<const ItemIdx> InterestStore::Interacted(UserIdx u) const {
  if (u.v >= interacted_.size()) return {};
  return interacted_[u.v];
}

void InterestStore::ForgetUser(UserIdx u) {
  if (u.v >= users_.size()) return;
  users_[u.v] = UserState{};
  consumed_[u.v] = {};
  interacted_[u.v] = {};
}

namespace {
std::vector<WeightedInterest> Decayed(const InterestNode* nodes, int n, const UserState& st, Timestamp now,
                                      const InterestConfig& cfg) {
  double dt = now > st.last_ts ? static_cast<double>(now - st.last_ts) : 0.0;
  auto fs = static_cast<float>(std::exp2(-dt / cfg.short_half_life_s));
  auto fl = static_cast<float>(LongDecay(dt, cfg));
  std::vector<WeightedInterest> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) out.push_back({nodes[i].id, nodes[i].s * fs, nodes[i].l * fl});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.s > b.s || (a.s == b.s && a.l > b.l); });
  return out;
}
}  // namespace

bool InSession(const UserState& st, Timestamp now, const InterestConfig& cfg) {
  return st.num_events > 0 && static_cast<double>(now - static_cast<Timestamp>(st.last_ts)) <= cfg.session_gap_s;
}

std::vector<WeightedInterest> InterestStore::Categories(UserIdx u, Timestamp now) const {
  const UserState* st = Find(u);
  if (!st) return {};
  return Decayed(st->cats.data(), st->num_cats, *st, now, cfg_);
}

std::vector<WeightedInterest> InterestStore::Keywords(UserIdx u, Timestamp now) const {
  const UserState* st = Find(u);
  if (!st) return {};
  return Decayed(st->kws.data(), st->num_kws, *st, now, cfg_);
}

float InterestStore::CategoryPrior(uint32_t c) const {
  size_t n = std::max<size_t>(1, ds_.catalog.category_vocab().size());
  if (cat_pop_total_ <= 0) return 1.0f / n;
  float pop = c < cat_pop_.size() ? cat_pop_[c] : 0.0f;
  // Add-one smoothing so unseen categories keep a small prior.
  return static_cast<float>((pop + 1.0) / (cat_pop_total_ + n));
}

float InterestStore::GlobalTransition(uint32_t i, uint32_t j) const {
  float row = i < trans_row_.size() ? trans_row_[i] : 0.0f;
  auto it = trans_.find(Key(i, j));
  float c = it == trans_.end() ? 0.0f : it->second;
  float g = cfg_.markov_global_gamma;
  return (c + g * CategoryPrior(j)) / (row + g);
}

std::vector<std::pair<uint32_t, float>> InterestStore::PredictNextCategory(UserIdx u, size_t k, bool exclude_current) const {
  const UserState* st = Find(u);
  if (!st || st->current_cat < 0) return {};
  uint32_t from = st->cats[st->current_cat].id;
  // Candidates: the category's global successors and the user's own successors.
  std::vector<uint32_t> cand;
  if (from < trans_succ_.size()) cand = trans_succ_[from];
  float user_row = 0;
  for (int e = 0; e < st->num_edges; ++e) {
    if (st->edges[e].from != st->current_cat) continue;
    user_row += st->edges[e].count;
    cand.push_back(st->cats[st->edges[e].to].id);
  }
  std::sort(cand.begin(), cand.end());
  cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
  float beta = cfg_.markov_user_beta;
  std::vector<std::pair<uint32_t, float>> out;
  out.reserve(cand.size());
  for (uint32_t j : cand) {
    if (exclude_current && j == from) continue;
    float cu = 0;
    for (int e = 0; e < st->num_edges; ++e)
      if (st->edges[e].from == st->current_cat && st->cats[st->edges[e].to].id == j) cu += st->edges[e].count;
    out.emplace_back(j, (cu + beta * GlobalTransition(from, j)) / (user_row + beta));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
  if (out.size() > k) out.resize(k);
  return out;
}

float InterestStore::LikeProbability(UserIdx u, uint32_t category, Timestamp now) const {
  float prior = CategoryPrior(category);
  float mine = 0, total = 0;
  for (const auto& c : Categories(u, now)) {
    float l = std::max(0.0f, c.l);
    total += l;
    if (c.id == category) mine = l;
  }
  float a = cfg_.bayes_alpha;
  return (a * prior + mine) / (a + total);
}

size_t InterestStore::HistoryBytes() const {
  size_t b = 0;
  for (size_t u = 0; u < consumed_.size(); ++u)
    b += consumed_[u].capacity() * sizeof(ItemIdx) + interacted_[u].capacity() * sizeof(ItemIdx) +
         2 * sizeof(std::vector<ItemIdx>);
  return b;
}

std::string Ago(Timestamp then, Timestamp now, bool zh) {
  int64_t d = std::max<int64_t>(0, now - then);
  auto n = [](int64_t x) { return std::to_string(x); };
  if (zh) {
    if (d < 60) return "刚刚";
    if (d < 3600) return n(d / 60) + " 分钟前";
    if (d < 86400) return n(d / 3600) + " 小时前";
    if (d < 2 * 86400) return "昨天";
    return n(d / 86400) + " 天前";
  }
  if (d < 60) return "just now";
  if (d < 120) return "a minute ago";
  if (d < 3600) return n(d / 60) + " minutes ago";
  if (d < 7200) return "an hour ago";
  if (d < 86400) return n(d / 3600) + " hours ago";
  if (d < 2 * 86400) return "yesterday";
  return n(d / 86400) + " days ago";
}

// Snapshots ---------------------------------------------------------------------------------------------------------

namespace {
static_assert(std::is_trivially_copyable_v<UserState>);
struct TransEntry {
  uint64_t key;
  float count;
};

// A state that names slots, items, queries, categories or keywords beyond what exists would be read out of bounds
// later.
bool Plausible(const UserState& st, const Dataset& ds) {
  if (st.num_cats > UserState::kCats || st.num_kws > UserState::kKeywords || st.num_recent > UserState::kRecent ||
      st.recent_head >= UserState::kRecent || st.num_edges > UserState::kEdges || st.current_cat >= st.num_cats)
    return false;
  for (int i = 0; i < st.num_cats; ++i)
    if (st.cats[i].id >= ds.catalog.category_vocab().size()) return false;
  for (int i = 0; i < st.num_kws; ++i)
    if (st.kws[i].id >= ds.catalog.keyword_vocab().size()) return false;
  for (int e = 0; e < st.num_edges; ++e)
    if (st.edges[e].from >= st.num_cats || st.edges[e].to >= st.num_cats) return false;
  for (int k = 0; k < st.num_recent; ++k) {
    const RecentEvent& r = st.Recent(k);
    if (r.ref >= (r.is_query ? ds.queries.size() : ds.num_items()) || r.action >= ds.actions.size()) return false;
  }
  return true;
}
}  // namespace

void InterestStore::Save(BinaryWriter& w) const {
  w.Tag("interests");
  w.PodVec(users_);
  w.NestedPodVec(consumed_);
  w.NestedPodVec(interacted_);
  std::vector<TransEntry> trans;
  trans.reserve(trans_.size());
  for (const auto& [k, c] : trans_) trans.push_back({k, c});
  w.PodVec(trans);
  w.NestedPodVec(trans_succ_);
  w.PodVec(trans_row_);
  w.PodVec(cat_pop_);
  w.F64(cat_pop_total_);
}

Status InterestStore::Load(BinaryReader& r) {
  r.Expect("interests");
  r.PodVec(users_);
  r.NestedPodVec(consumed_);
  r.NestedPodVec(interacted_);
  std::vector<TransEntry> trans;
  r.PodVec(trans);
  r.NestedPodVec(trans_succ_);
  r.PodVec(trans_row_);
  r.PodVec(cat_pop_);
  cat_pop_total_ = r.F64();
  if (!r.ok()) return r.status();
  if (consumed_.size() != users_.size() || interacted_.size() != users_.size() || users_.size() > ds_.num_users())
    r.Fail(fmt::format("interest tables for {} users; the dataset has {}", users_.size(), ds_.num_users()));
  for (const UserState& st : users_)
    if (r.ok() && !Plausible(st, ds_)) r.Fail("a user state's counts exceed its capacity");
  for (const auto* lists : {&consumed_, &interacted_})
    for (const auto& list : *lists)
      for (ItemIdx i : list)
        if (r.ok() && i.v >= ds_.num_items()) r.Fail("a history list names an item out of range");
  trans_.clear();
  trans_.reserve(trans.size());
  for (const TransEntry& e : trans) trans_.emplace(e.key, e.count);
  return r.status();
}

}  // namespace vane
