// Fitting the learned ranking stage (recommend/ranker.h): LambdaMART with xgboost (Debian libxgboost-dev) on the
// validation targets, over the rows Engine::RankCandidates builds, so the features fitted are the features served.
//
// A seeded share of the validation users is held out: boosting stops when NDCG@10 on them has not improved for
// `patience` rounds, and the trees of the best round are kept. Users whose validation target is outside the head of
// the blend teach nothing (no pair to order) and are left out of the training rows, but count in the held-out
// NDCG@10 (as a miss, for the blend and the ranker alike).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vane/core/status.h"
#include "vane/recommend/engine.h"
#include "vane/recommend/ranker.h"

namespace vane {

struct RankCase {
  UserIdx user;
  ItemIdx target;
  Timestamp now = 0;
};

struct RankerFitOptions {
  size_t depth = 100;          // rows per user: the head of the blend
  int max_rounds = 500;
  int patience = 40;           // rounds without a better held-out NDCG@10
  int max_depth = 6;
  double eta = 0.08;
  double holdout = 0.25;       // share of the cases held out for early stopping
  uint64_t seed = 42;
  std::vector<std::string> drop_groups;  // feature groups left out (RankFeatureGroup): an ablation
  int threads = 0;             // 0 = xgboost's default
  bool progress = true;
  bool gate = true;            // drop a ranker that does not beat the blend's order on the held-out users
  double min_gain_se = 1.0;    // ... by more than this many standard errors of the paired per-user differences
};

struct RankerFitResult {
  std::shared_ptr<Ranker> ranker;   // null when it does not beat the blend's order on the held-out users (the gate)
  size_t train_users = 0, holdout_users = 0, train_rows = 0;
  size_t train_hits = 0;       // training users whose target is in the head (the ones that teach)
  double holdout_blend_ndcg = 0, holdout_ranker_ndcg = 0;  // NDCG@10 of the held-out users, blend order vs ranker
  double holdout_gain = 0, holdout_gain_se = 0;  // the ranker's mean per-user gain there, and its standard error
  int best_round = 0;
  double seconds = 0;
  std::vector<std::string> log;
};

// The quality gate: the result carries no ranker when its held-out NDCG@10 is not above the blend order's by more than
// `min_gain_se` standard errors of the paired per-user differences.
// REQUIRES: the engine holds the state the cases are scored against (the evaluation's training events) and its
// blend weights are final. Fails when no case's target is in the head of the blend.
Result<RankerFitResult> FitRanker(const Engine& engine, const std::vector<RankCase>& cases, const RankerFitOptions& opt);

}  // namespace vane
