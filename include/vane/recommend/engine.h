// The recommendation engine: live state + candidate sources + strategy + blend + filters + diversity +
// explanations.
//
// Engine keeps a reference to the Dataset (catalogue, vocabularies, actions), owns the InterestStore and the
// candidate sources, and applies every ingested event to all of them at once (read-your-writes). Recommend()
// chooses a strategy from the user's state (new user, focused session intent, stable taste), blends the sources
// with that strategy's weights (base weights can be fitted on validation data, see eval/), filters, diversifies and
// explains every item from the evidence that scored it.
// Thread-safety: Ingest needs exclusive access; Recommend/ScoreAll are const and may run concurrently with each
// other (they use thread-local scratch buffers).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vane/core/clock.h"
#include "vane/retrieve/sources.h"

namespace vane {

class Ranker;
struct StrategyGate;  // recommend/gate.h

enum class Strategy : uint8_t { kNewUser = 0, kSessionIntent = 1, kStableTaste = 2 };
const char* StrategyName(Strategy s);

// Source indices in the blend.
enum SourceId : uint8_t {
  kSrcPopular = 0, kSrcCovisit, kSrcContent, kSrcInterestNow, kSrcInterestLong, kSrcItemKnn, kSrcModel, kNumSources
};
const char* SourceName(int source);

using BlendWeights = std::array<float, kNumSources>;

// The ranking stage's controls, fair and diverse by choice: after the blend (and the ranker), the head of the list is
// re-selected greedily; each next item maximises
//   relevance (its score, scaled to 0..1 over the head) + long_tail (if it is a long-tail item: outside the most
//   popular 20% of items) - diversity x (its mean category similarity, Jaccard, to the items picked before it),
// and no main category holds more than category_cap of the first n items while another category can fill the slot.
// All zero (cap 1): the order of the scores, untouched. The evaluation reports each control's price in NDCG@10 and
// what it buys in coverage, intra-list diversity and long-tail share (docs/evaluation.md).
struct RankControls {
  float diversity = 0;
  float long_tail = 0;
  float category_cap = 1;
  bool active() const { return diversity > 0 || long_tail > 0 || category_cap < 1; }
};

struct EngineConfig {
  InterestConfig interest;
  PopularitySource::Config popularity;
  CovisitSource::Config covisit;
  CovisitSource::Config item_knn{.history_mode = true};
  ContentSource::Config content;
  AffinitySource::Config interest_now{AffinitySource::Mode::kNow};
  AffinitySource::Config interest_long{AffinitySource::Mode::kLong};
  // Base blend (what eval fits on validation); strategies multiply it.
  BlendWeights base = {0.05f, 0.7f, 0.8f, 1.0f, 0.1f, 0.3f, 1.0f};
  std::array<BlendWeights, 3> strategy_multipliers = {{
      {4.0f, 1.0f, 2.0f, 1.0f, 0.5f, 0.5f, 1.0f},   // new user: popularity and any search matter most
      {1.0f, 1.0f, 2.0f, 1.5f, 0.5f, 0.5f, 1.0f},   // session intent: what they search and do now
      {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f},   // stable taste: the fitted base blend
  }};
  bool use_strategies = true;   // false: always the base blend, no multipliers (an ablation)
  int new_user_events = 3;      // fewer events than this: new user
  float intent_share = 0.6f;    // top short-term interest share that marks a focused session
  float diversity = 0.15f;      // penalty per earlier item of the same main category in the list (0 = off)
  size_t per_source_limit = 300;
  // The learned ranking stage (recommend/ranker.h; null: the blend's order). It re-orders the best `rank_depth`
  // items of the blend that the user has not interacted with; the rest follow in the blend's order.
  std::shared_ptr<const Ranker> ranker;
  size_t rank_depth = 100;
  bool use_ranker = true;       // false: the blend's order even with a ranker (an ablation)
  RankControls controls;        // the default controls of every list (a request may bring its own)
  // The learned strategy gate (recommend/gate.h; null: the rules' strategies). Users with no state keep the rules.
  std::shared_ptr<const StrategyGate> gate;
  bool use_gate = true;         // false: the rules even with a gate (an ablation)
  // The model source (slot kSrcModel) is built by whoever links the model (the recommend module does not):
  // called once by the Engine constructor with the dataset and the engine's interest store. Unset: the slot
  // scores nothing.
  std::function<std::unique_ptr<CandidateSource>(const Dataset&, const InterestStore&)> model_source;
};

struct RecommendRequest {
  std::string user;                       // external id; unknown users get the new-user strategy
  size_t n = 10;
  std::string item_type;                  // only this type ("" = any)
  std::vector<std::string> categories;    // only items in one of these ("" = any)
  std::vector<std::string> exclude_ids;
  bool include_consumed = false;          // consumed items (per the action registry) and the items of the user's
                                          // last few events are filtered unless set
  bool explain = true;
  std::vector<std::string> slate_types;   // per-type slates, n_per_slate items each
  size_t n_per_slate = 1;
  Timestamp now = 0;                      // 0 = the engine's clock
  // Per-request changes (an A/B variant): multipliers of the strategy's source weights, and the diversity penalty
  // (negative = the configured one).
  BlendWeights weight_scale = {1, 1, 1, 1, 1, 1, 1};
  float diversity = -1;
  std::optional<RankControls> controls;   // the ranking stage's controls for this request (unset: the configured)
};

struct Recommendation {
  ItemIdx item;
  std::string id, type, title;
  float score = 0;
  std::string source;                      // the source that contributed most
  std::string reason_en, reason_zh;
};

struct RecommendResponse {
  Strategy strategy = Strategy::kNewUser;
  std::string strategy_reason;
  std::vector<Recommendation> items;
  std::vector<std::pair<std::string, std::vector<Recommendation>>> slates;
};

// What a request may ask of this catalogue: n in 1..1000, an item type, categories and slate types the catalogue
// has (unknown_type / unknown_category, 404, naming the value); the one check the server and the CLI share.
Status CheckRequest(const Dataset& ds, const RecommendRequest& req);

class Engine {
 public:
  // REQUIRES: ds outlives the engine; clock may be null (then SystemClock).
  Engine(const Dataset& ds, EngineConfig cfg = {}, const Clock* clock = nullptr);
  ~Engine();

  // Applies one event to every source and the user's interest state.
  void Ingest(const Event& e);
  // Applies an event to the user's state only (global statistics untouched): evaluation phases.
  void IngestUserOnly(const Event& e);
  void OnCatalogChanged();
  // Forgets one user's own state (interest graph, histories, every source's per-user cache): the user is new
  // again. Statistics the user's events fed (co-visitation, popularity, transitions) keep them until the owner
  // rebuilds the engine from a log without them (serve/service.h: deletion).
  void ForgetUser(UserIdx u);
  // Hot model swap: the model slot becomes `model` (null: none); `factory` is what later rebuilds use. The new
  // source must have been built for this engine's dataset and interest store. Needs exclusive access (O(1)).
  void ReplaceModelSource(std::unique_ptr<CandidateSource> model,
                          std::function<std::unique_ptr<CandidateSource>(const Dataset&, const InterestStore&)> factory);

  RecommendResponse Recommend(const RecommendRequest& req) const;
  // Strategy for a user at time `now`, with the reason in words.
  Strategy ChooseStrategy(UserIdx u, Timestamp now, std::string* why = nullptr) const;
  BlendWeights WeightsFor(Strategy s) const;
  // The request's source weights: the learned gate's for a user with state when a gate serves (gating()), else the
  // rules' strategy's. `st` receives the rules' strategy (the fallback, and a feature of the gate and the ranker);
  // `why`, when given, the reason in words.
  BlendWeights ChooseWeights(UserIdx u, Timestamp now, Strategy* st, std::string* why = nullptr) const;
  bool gating() const { return cfg_.gate && cfg_.use_gate && cfg_.use_strategies; }

  // Blended scores of every item a source can score (no filters), for full-ranking evaluation. `weights` overrides
  // the strategy blend when given. Returns the buffer (thread-local; valid until the next call on this thread).
  // `limit` caps each source's candidates as Recommend does (config().per_source_limit); SIZE_MAX: none.
  const ScoreBuffer& ScoreAll(UserIdx u, Timestamp now, const BlendWeights* weights = nullptr, size_t limit = SIZE_MAX) const;
  // The ranking stage's input for a user: the blend under `w` (returned; thread-local like ScoreAll's) and its best
  // `depth` items the user has not interacted with (all items when `skip_interacted` is false), each with its
  // kNumRankFeatures features (row-major in `x`; recommend/ranker.h lists them). Every active source is asked, also
  // one of weight 0, so that the features do not depend on the weights; each source's list is cut to
  // per_source_limit as a served request cuts it. The fitting of the ranker reads the same rows.
  struct RankRows {
    std::vector<ItemIdx> items;
    std::vector<float> x;
  };
  const ScoreBuffer& RankCandidates(UserIdx u, Timestamp now, Strategy st, const BlendWeights& w, size_t limit,
                                    size_t depth, bool skip_interacted, RankRows& out) const;
  bool ranking() const { return cfg_.ranker && cfg_.use_ranker; }
  // Whether an item is in the long tail now: outside the most popular 20% of items (decayed popularity). Refreshed
  // every 4,096 ingested events, at construction and load, and by RefreshLongTail.
  bool LongTail(ItemIdx i) const { return i.v >= head_item_.size() || !head_item_[i.v]; }
  void RefreshLongTail();

  // One source's raw (unnormalised) scores for a user, limit as in RetrievalContext.
  const ScoreBuffer& ScoreSource(int source, UserIdx u, Timestamp now, size_t limit) const;

  const InterestStore& interests() const { return *interests_; }
  const CandidateSource& source(int i) const { return *sources_[i]; }
  // False for the model slot when no model source was configured.
  bool source_active(int i) const { return i != kSrcModel || has_model_; }
  const ContentSource& content() const { return *content_; }
  const PopularitySource& popularity() const { return *pop_; }
  const Dataset& dataset() const { return ds_; }
  EngineConfig& config() { return cfg_; }
  const EngineConfig& config() const { return cfg_; }
  Timestamp Now() const { return clock_->Now(); }
  size_t SourceMemoryBytes() const;

  // Snapshot (core/binary_io.h) of the learnt state: the interest store and every source but the model slot (the
  // model keeps only caches that refill lazily), after a key of the configuration that shapes that state
  // (StateKey). Load needs an engine constructed, with the same configuration, on the dataset loaded from the same
  // snapshot: what derives from the catalogue alone (the keyword -> category index, the content index) is built by
  // the constructor, not stored. Another configuration is a FailedPrecondition; a damaged payload an IoError.
  void Save(BinaryWriter& w) const;
  Status Load(BinaryReader& r);
  // The configuration values that shape the learnt state (half-lives, windows, caps), as text; equal keys mean a
  // snapshot taken under one configuration is valid under the other.
  static std::string StateKey(const EngineConfig& cfg);

  // Text of one explanation.
  // One sentence for the evidence of recommending `item`. A model reason names the history item the model
  // attended to only when it shares a category with `item` (otherwise it would explain something unrelated).
  std::string Explain(const Evidence& ev, ItemIdx item, Timestamp now, bool zh) const;

 private:
  void Blend(UserIdx u, Timestamp now, const BlendWeights& w, size_t limit, ScoreBuffer& blend, bool record = false) const;
  // The ranking stage on `blend`: the ranker's order of the head, written back as scores above every other item.
  void Rank(UserIdx u, Timestamp now, Strategy st, const BlendWeights& w, size_t limit, bool skip_interacted,
            ScoreBuffer& blend) const;
  // The controls on `blend`: the first max(n, 20) items of the head re-selected, written back above every other.
  void Control(UserIdx u, const RankControls& c, size_t n, bool skip_interacted, ScoreBuffer& blend) const;
  // One list entry for item i at its diversified score, with its source and, when `explain`, its reasons (from
  // the evidence of its largest blend contribution; a popularity `fallback` item has a reason of its own).
  Recommendation Explained(ItemIdx i, float score, bool fallback, const ScoreBuffer& blend, Timestamp now,
                           bool explain) const;

  const Dataset& ds_;
  EngineConfig cfg_;
  SystemClock system_clock_;
  const Clock* clock_;
  std::unique_ptr<InterestStore> interests_;
  PopularitySource* pop_ = nullptr;
  ContentSource* content_ = nullptr;
  std::vector<std::unique_ptr<CandidateSource>> sources_;
  bool has_model_ = false;
  std::vector<uint8_t> head_item_;   // 1: among the most popular 20% of items (LongTail)
  uint32_t since_refresh_ = 0;
};

}  // namespace vane
