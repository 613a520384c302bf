// Offline evaluation: full-ranking leave-one-out and temporal protocols, blend-weight fitting on validation, and a
// streaming replay that measures real-time capture.
//
// Leave-one-out (docs/evaluation.md; the protocol of the published sequential-recommendation results): per user with >= 3 positive item events, the last is the
// test target and the second-to-last the validation target. Global statistics (popularity, co-visitation, Markov
// counts) come from the events before each user's validation target only; the user's own state also sees the
// validation event at test time (the standard practice of sequential recommenders, whose input at test time
// includes the validation item). Every target is ranked against every item except the user's earlier items.
// Temporal: two global time cut-offs at the (1 - 2s) and (1 - s) quantiles of event times (s = temporal_test_share);
// a user's first positive item event after the first cut-off is the validation target and after the second the test
// target, for users with a positive event before the first; events between the cut-offs are ingested fully.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "vane/eval/metrics.h"
#include "vane/eval/ranker_fit.h"
#include "vane/recommend/blend_config.h"
#include "vane/recommend/engine.h"

namespace vane {

struct EvalOptions {
  std::string protocol = "loo";   // "loo" or "temporal"
  double temporal_test_share = 0.1;
  size_t max_users = 0;           // 0 = every eligible user; else a seeded sample
  uint64_t seed = 42;
  bool fit_weights = true;        // fit the base blend on validation NDCG@10
  size_t fit_users = 6000;        // validation users used for fitting (seeded sample)
  bool per_source = true;         // also report each source alone
  bool progress = true;
  std::vector<uint8_t> test_items;  // non-empty: only users whose test target is a flagged item are tested
  // The test as a live server can be tested (`vane replay`), leave-one-out only: targets ranked as a served list
  // ranks them (ties by catalogue order, not counted half; besides the user's earlier items, what the server filters
  // too: unavailable items, consumed items, the items of the user's last 8 events), and per test user in turn the events from the
  // validation target on are ingested fully (a server learns from every event) before the user is scored. Only the
  // blend is tested; validation and fitting are unchanged.
  bool strict = false;
  // Not empty: the blend's test lists are written here, one JSON line per user: {"user", "target", "rank", "top"} (top:
  // the best 20 item ids as ranked), to compare with what `vane replay --dump-lists` got from the server.
  std::string dump_lists;
  // The learned ranking stage (recommend/ranker.h): fitted on validation after the blend (eval/ranker_fit.h), then
  // part of what is tested and of the blend file. `ranker_users` caps the validation users it is fitted on.
  bool fit_ranker = false;
  size_t ranker_users = 12000;
  RankerFitOptions ranker;
  // Also fit the ranker once without each feature group and test each (the ablation table).
  bool ranker_ablation = false;
  // The learned strategy gate (recommend/gate.h): fitted on the validation cases after the blend's weights and the
  // rules' multipliers, kept when it beats the rules on held-out validation users; the test then reports the blend
  // with the gate ("blend") and with the rules ("blend_rules").
  bool fit_gate = false;
  double gate_min_gain_se = 1.0;  // kept only when its held-out gain is above this many standard errors
  // The ranking stage's controls to test (recommend/engine.h RankControls), each on the blend's test users, after the
  // main test: what each costs in NDCG@10 and buys in coverage, diversity and long-tail share.
  std::vector<RankControls> controls;
};

// Cold-start protocol: marks a seeded `share` of the items that are some user's leave-one-out test target as cold
// and removes every other event on them, so a cold item has its text but no interaction before the test. Train and
// evaluate on the returned dataset (same share and seed give the same items); pass the mask as
// EvalOptions::test_items to score the cold targets only. Returns the per-item mask.
std::vector<uint8_t> MakeColdItems(Dataset& ds, double share, uint64_t seed);

struct StrategyResult {
  std::string name;               // a source name, "blend", or "blend_fixed" (no strategy selection)
  RankingMetrics metrics;
};

struct EvalReport {
  std::string dataset, protocol;
  size_t users = 0, items = 0, events = 0;
  std::vector<StrategyResult> validation, test;
  BlendWeights weights{};         // fitted (or configured) base weights
  std::array<BlendWeights, 3> multipliers{};  // fitted (or configured) per-strategy multipliers
  std::vector<std::string> fit_log;
  std::shared_ptr<const Ranker> ranker;   // the fitted ranking stage, when fit_ranker
  std::string ranker_note;                // with fit_ranker: why there is no ranker (the gate), else empty
  std::shared_ptr<const StrategyGate> gate;  // the fitted strategy gate, when fit_gate and it beat the rules
  std::string gate_note;                  // with fit_gate: the held-out comparison with the rules
  struct Ablation {
    std::string without;                  // the feature group left out ("" = all features)
    double holdout_ndcg10 = 0;            // on the ranker's held-out validation users
    RankingMetrics test;
  };
  std::vector<Ablation> ablation;
  std::vector<std::pair<RankControls, RankingMetrics>> controls;   // per tested control setting (test)
  std::vector<std::pair<RankControls, RankingMetrics>> controls_validation;  // the same on validation
  double seconds = 0;
  std::string ToJson() const;
  void Print(std::ostream& os) const;
};

Result<EvalReport> Evaluate(const Dataset& ds, const EngineConfig& cfg, const EvalOptions& opt);

// The leave-one-out protocol as a plan to play into a running server (`vane replay`): the events in the order
// Evaluate ingests them, each event's phase (0: history before the user's validation target, sent first; 1: from the
// validation target up to the test target, sent per user before asking; 2: the test target and later, never sent),
// and per evaluated user the test target event. Users are the ones Evaluate tests (max_users, seed).
struct LooPlan {
  std::vector<uint32_t> order;  // event indices in ingestion order (time order; file order for order-only data)
  std::vector<uint8_t> phase;   // per event
  std::vector<uint32_t> test;   // per evaluated user, the test target's event index
};
Result<LooPlan> PlanLeaveOneOut(const Dataset& ds, size_t max_users = 0, uint64_t seed = 42);

// The blend an evaluation chose, as the artefact `vane recommend --blend` and `vane serve --blend` read: its weights
// and multipliers, whether they were fitted, the validation figures of the blend and where it came from.
BlendConfig FittedBlend(const EvalReport& rep, bool fitted);

// Fits the blend on `ds` as `vane eval` does (leave-one-out, validation NDCG@10, `fit_users` validation users), with
// no per-source report and no progress line: what `vane serve` runs in the background.
// With `fit_ranker`, the learned ranking stage too (EvalOptions::fit_ranker).
// With `fit_gate`, the learned strategy gate too (EvalOptions::fit_gate).
Result<BlendConfig> FitBlend(const Dataset& ds, const EngineConfig& cfg, size_t fit_users = 6000, bool fit_ranker = false,
                             bool fit_gate = false);

struct StreamingReport {
  size_t predictions = 0, events = 0;
  RankingMetrics metrics;
  double ingest_seconds = 0, predict_seconds = 0;
  std::string ToJson() const;
};
// Feeds all events in time order; before every `every`-th positive item event of a user with history, ranks the
// coming item against all items (excluding the user's earlier items) from the live state.
StreamingReport EvaluateStreaming(const Dataset& ds, const EngineConfig& cfg, size_t every, bool progress);

}  // namespace vane
