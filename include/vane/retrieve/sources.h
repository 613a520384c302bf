// The built-in candidate sources. See source.h for the interface contract.
#pragma once

#include <memory>
#include <cmath>
#include <mutex>
#include <string>
#include <vector>

#include "vane/retrieve/source.h"
#include "vane/text/tokenize.h"

namespace vane {

// A slot that scores nothing (an unconfigured optional source).
class EmptySource final : public CandidateSource {
 public:
  explicit EmptySource(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  void Observe(const Event&, const UserState&) override {}
  void Generate(const RetrievalContext&, ScoreBuffer&) const override {}
  size_t MemoryBytes() const override { return 0; }

 private:
  std::string name_;
};

// Time-decayed item popularity (counts of positive events, weighted by action weight). With timestamps, a
// short half-life gives "trending" and a long one "popular"; order-only data uses plain counts.
class PopularitySource final : public CandidateSource {
 public:
  struct Config {
    double half_life_s = 7 * 86400.0;   // 0 = no decay
    double trend_half_life_s = 86400.0; // "today"
  };
  PopularitySource(const Dataset& ds, Config cfg);
  std::string_view name() const override { return "popular"; }
  void Observe(const Event& e, const UserState& before) override;
  void OnCatalogChanged() override;
  void Generate(const RetrievalContext& ctx, ScoreBuffer& out) const override;
  size_t MemoryBytes() const override;

  // Decayed popularity of an item at the latest observed event time (comparable across items; 0 when none).
  float Popularity(ItemIdx i) const { return Scaled(pop_, pop_ref_, i); }
  float Trend(ItemIdx i) const { return Scaled(trend_, trend_ref_, i); }
  // Popularity of `i` relative to `top`'s (0 when either has none), exact however old both are.
  float Relative(ItemIdx i, ItemIdx top) const {
    if (i.v >= pop_.size() || top.v >= pop_.size() || std::isinf(pop_[i.v]) || std::isinf(pop_[top.v])) return 0.0f;
    return static_cast<float>(std::exp2(pop_[i.v] - pop_[top.v]));
  }
  // Items by decreasing popularity (cached; refreshed when stale).
  const std::vector<ItemIdx>& Ranked() const;
  // Items of a category by decreasing popularity (cached per category).
  const std::vector<ItemIdx>& RankedInCategory(uint32_t category) const;
  void SaveState(BinaryWriter& w) const override;
  Status LoadState(BinaryReader& r) override;

 private:
  void Grow();
  // Counts are kept in the log domain: an event at time t adds w * 2^((t - t0)/h), i.e. log2(w) + (t - t0)/h is
  // log-added to the item's log2 count, which equals decaying every count without touching them. Nothing
  // overflows or underflows however far apart the events are (an event dated decades ahead cannot zero the
  // others: the comparison stays in logs). `ref` is the exponent of the latest event, the time counts are read at.
  static void LogAdd(double& acc, double x);
  static float Scaled(const std::vector<double>& v, double ref, ItemIdx i);
  const Dataset& ds_;
  Config cfg_;
  std::vector<double> pop_, trend_;         // log2 of the decayed counts; -inf: none
  double pop_ref_ = 0, trend_ref_ = 0;      // exponent of the latest event
  double pop_total_ = -INFINITY, trend_total_ = -INFINITY;  // log2 of the sums
  Timestamp t0_ = 0;
  bool t0_set_ = false;
  uint64_t version_ = 0;
  mutable std::mutex cache_mu_;
  mutable std::vector<ItemIdx> ranked_;
  mutable uint64_t ranked_version_ = UINT64_MAX;
  mutable std::vector<std::vector<ItemIdx>> by_cat_;
  mutable std::vector<uint64_t> by_cat_version_;
};

// Item-to-item co-visitation: for each positive item event, edges from the user's previous items in the same
// session (within `window` events) to the new item, weighted 1/distance and by time decay; the reverse edge gets
// `reverse_weight` of it ("viewed together"). Generate scores P(next | recent item) summed over the user's recent
// items, weighted by recency and action.
class CovisitSource final : public CandidateSource {
 public:
  struct Config {
    int window = 5;
    float reverse_weight = 0.3f;
    double half_life_s = 0;       // 0 = no time decay
    double session_gap_s = 1800;  // edges only within a session (ignored for order-only data)
    int recent_items = 5;         // user items used at query time
    float recency_decay = 0.4f;   // weight of the k-th most recent item: decay^k
    // History mode ("item_knn"): query with the user's last `history_items` positive items from the full history
    // instead of the recent-event ring — long-standing taste rather than the last few steps. Observe is a no-op
    // in this mode when `shared` tables are given (the edges are learnt once, by the recent-mode instance).
    // Serving (bounded ctx.limit) reads each item's `serve_neighbours` strongest neighbours from a cache that is
    // rebuilt when the item's edges grew by more than 10%; evaluation (unbounded limit) reads every edge.
    size_t serve_neighbours = 100;
    // 0: every edge is kept. Otherwise an item whose out-edges reach twice this many keeps only its
    // max_edges_per_item strongest (the weights of the dropped ones stay in its total, so kept edges keep their
    // share): bounded memory for a long-running server, at the price of forgetting rare pairs.
    size_t max_edges_per_item = 0;
    bool history_mode = false;
    int history_items = 50;
    float history_decay = 0.95f;
  };
  // `interests` is needed in history mode. `shared`: read edges from another instance instead of learning them.
  CovisitSource(const Dataset& ds, Config cfg, const InterestStore* interests = nullptr,
                const CovisitSource* shared = nullptr);
  std::string_view name() const override { return cfg_.history_mode ? "item_knn" : "covisit"; }
  void Observe(const Event& e, const UserState& before) override;
  void Generate(const RetrievalContext& ctx, ScoreBuffer& out) const override;
  size_t MemoryBytes() const override;
  // Edge weight a -> b (for tests).
  float Weight(ItemIdx a, ItemIdx b) const;
  size_t num_edges() const { return num_edges_; }
  // The edge tables as they are (slot order included: scoring walks them in that order). An instance that reads
  // another's edges (`shared`) has none of its own.
  void SaveState(BinaryWriter& w) const override;
  Status LoadState(BinaryReader& r) override;

 private:
  struct Table {  // open addressing, key = neighbour + 1 (0 = empty)
    std::vector<uint32_t> keys;
    std::vector<float> vals;
    uint32_t size = 0;
    float total = 0;
  };
  void AddEdge(uint32_t a, uint32_t b, float w);
  // Rebuilds `t` with room for `cap` slots, keeping its `keep` strongest edges (all when keep >= size).
  void Rehash(Table& t, size_t cap, size_t keep);
  void ScoreNeighbours(uint32_t item, float w, bool all, const Evidence& ev, ScoreBuffer& out) const;
  struct TopList {
    std::vector<std::pair<uint32_t, float>> items;  // (neighbour, weight / total), strongest first
    float total_at_build = -1;
  };
  const Dataset& ds_;
  Config cfg_;
  const InterestStore* interests_;
  const CovisitSource* shared_;
  std::vector<Table> out_;
  size_t num_edges_ = 0;
  mutable std::mutex top_mu_;
  mutable std::vector<TopList> top_;
  double ref_log2_ = 0;
  Timestamp t0_ = 0;
  bool t0_set_ = false;
};

// Content similarity over item text and categories: an inverted index keyword -> items with idf weights.
// Scores items that match the user's recent searches (the strongest evidence of intent) and the keywords of the
// user's short-term interests.
class ContentSource final : public CandidateSource {
 public:
  struct Config {
    float search_weight = 1.0f;     // per recent search, times recency
    float profile_weight = 0.5f;    // keyword interests
    int recent_searches = 3;
    double max_df_share = 0.2;      // keywords in more than this share of items (and > 100 items) are not used
  };
  ContentSource(const Dataset& ds, const InterestStore& interests, Config cfg);
  std::string_view name() const override { return "content"; }
  void Observe(const Event&, const UserState&) override {}
  void OnCatalogChanged() override;
  void Generate(const RetrievalContext& ctx, ScoreBuffer& out) const override;
  size_t MemoryBytes() const override;
  // Items matching a free-text query, best first (search retrieval).
  std::vector<std::pair<ItemIdx, float>> Search(std::string_view query, size_t k) const;

 private:
  void ScoreKeywords(const std::vector<uint32_t>& kws, float w, const Evidence& ev, ScoreBuffer& out) const;
  const Dataset& ds_;
  const InterestStore& interests_;
  Config cfg_;
  std::vector<std::vector<uint32_t>> postings_;
  std::vector<float> idf_;
  std::vector<float> item_norm_;
};

// Interest-graph affinity: items of the categories the user holds, scored by the category's weight times the
// item's popularity within it. Mode kNow uses short-term weights plus the Markov next-interest prediction; kLong
// uses the Bayesian long-term estimate.
class AffinitySource final : public CandidateSource {
 public:
  enum class Mode { kNow, kLong };
  struct Config {
    Mode mode = Mode::kNow;
    float markov_weight = 0.5f;
    size_t per_category = 100;   // items taken per category when ctx.limit is bounded
  };
  AffinitySource(const Dataset& ds, const InterestStore& interests, const PopularitySource& pop, Config cfg);
  std::string_view name() const override { return cfg_.mode == Mode::kNow ? "interest_now" : "interest_long"; }
  void Observe(const Event&, const UserState&) override {}
  void Generate(const RetrievalContext& ctx, ScoreBuffer& out) const override;
  size_t MemoryBytes() const override { return 0; }

 private:
  const Dataset& ds_;
  const InterestStore& interests_;
  const PopularitySource& pop_;
  Config cfg_;
};

}  // namespace vane
