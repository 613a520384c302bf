#include "vane/eval/ranker_fit.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <xgboost/c_api.h>

#include "vane/core/progress.h"
#include "vane/eval/metrics.h"

namespace vane {
namespace {

// Rows of a set of users: features, labels (1 = the user's target), rows per user, the target's row per user
// (-1: not in the head) and the head's size per user.
struct RowSet {
  std::vector<float> x, y;
  std::vector<unsigned> group;
  std::vector<int> target_row;
  std::vector<size_t> first;
};

Status XgbStatus(int rc, const char* what) {
  if (rc == 0) return Status::Ok();
  return Status::Internal(fmt::format("xgboost {}: {}", what, XGBGetLastError()));
}
#define VANE_XGB(call, what) VANE_RETURN_IF_ERROR(XgbStatus((call), (what)))

// How many rows of user g's head are ahead of the target when the head is ordered by `score` (one value per row;
// ties by row order, as the blend's head is ordered). REQUIRES: the target is in the head.
size_t AheadOfTarget(const RowSet& rs, size_t g, const float* score) {
  const size_t a = rs.first[g], t = a + static_cast<size_t>(rs.target_row[g]);
  size_t ahead = 0;
  for (size_t r = a; r < a + rs.group[g]; ++r)
    if (score[r] > score[t] || (score[r] == score[t] && r < t)) ++ahead;
  return ahead;
}

// NDCG@10 of the held-out users when each user's head is ordered by `score`. A target outside the head counts 0.
double HeadNdcg(const RowSet& rs, const float* score) {
  double sum = 0;
  for (size_t g = 0; g < rs.group.size(); ++g)
    if (rs.target_row[g] >= 0) sum += NdcgAt(1.0 + static_cast<double>(AheadOfTarget(rs, g, score)), 10);
  return rs.group.empty() ? 0 : sum / static_cast<double>(rs.group.size());
}

// The per-user NDCG@10 differences of `score` over the blend's order on the held-out users (paired: the same users,
// so the spread of the differences, not of either figure, is the noise).
PairedGain HeadGain(const RowSet& rs, const float* score) {
  std::vector<double> d(rs.group.size(), 0.0);  // a target outside the head is a miss for both orders: 0
  for (size_t g = 0; g < rs.group.size(); ++g)
    if (rs.target_row[g] >= 0)
      d[g] = NdcgAt(1.0 + static_cast<double>(AheadOfTarget(rs, g, score)), 10) -
             NdcgAt(1.0 + static_cast<double>(rs.target_row[g]), 10);
  return MeasurePairedGain(d);
}

// A handle that frees itself.
template <typename H, int (*Free)(H)>
struct Handle {
  H h = nullptr;
  ~Handle() {
    if (h) Free(h);
  }
};

Status MakeMatrix(const RowSet& rs, Handle<DMatrixHandle, XGDMatrixFree>& m, bool labels) {
  const size_t rows = rs.x.size() / kNumRankFeatures;
  VANE_XGB(XGDMatrixCreateFromMat(rs.x.data(), rows, kNumRankFeatures, std::numeric_limits<float>::quiet_NaN(), &m.h),
           "XGDMatrixCreateFromMat");
  if (!labels) return Status::Ok();
  VANE_XGB(XGDMatrixSetFloatInfo(m.h, "label", rs.y.data(), rs.y.size()), "set label");
  // Group sizes (xgboost 1.7 takes "group" as sizes; it builds the pointers itself).
  VANE_XGB(XGDMatrixSetUIntInfo(m.h, "group", rs.group.data(), rs.group.size()), "set group");
  return Status::Ok();
}

}  // namespace

Result<RankerFitResult> FitRanker(const Engine& engine, const std::vector<RankCase>& cases_in, const RankerFitOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  RankerFitResult res;
  std::vector<RankCase> cases = cases_in;
  std::mt19937_64 rng(opt.seed);
  std::shuffle(cases.begin(), cases.end(), rng);
  const size_t n_hold = std::min(cases.size(), static_cast<size_t>(std::ceil(opt.holdout * static_cast<double>(cases.size()))));
  if (cases.size() - n_hold < 10 || n_hold < 10)
    return Status::FailedPrecondition(fmt::format("too few validation users to fit a ranker ({})", cases.size()));

  std::vector<uint8_t> drop(kNumRankFeatures, 0);
  for (int f = 0; f < kNumRankFeatures; ++f)
    for (const auto& g : opt.drop_groups) drop[f] |= RankFeatureGroup(f) == g;

  RowSet train, hold;
  Engine::RankRows rows;
  Progress bar("ranker: scoring validation", cases.size(), "users", false);
  if (!opt.progress) bar.Finish();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t k = 0; k < cases.size(); ++k) {
    const RankCase& c = cases[k];
    const Strategy st = engine.ChooseStrategy(c.user, c.now);
    engine.RankCandidates(c.user, c.now, st, engine.WeightsFor(st), engine.config().per_source_limit, opt.depth, true, rows);
    const bool held = k < n_hold;
    RowSet& rs = held ? hold : train;
    int target = -1;
    for (size_t r = 0; r < rows.items.size(); ++r)
      if (rows.items[r] == c.target) target = static_cast<int>(r);
    if (!held && (target < 0 || rows.items.size() < 2)) {
      if (opt.progress) bar.Update(k + 1);
      continue;  // nothing to order: no training signal
    }
    if (!held) ++res.train_hits;
    rs.first.push_back(rs.y.size());
    rs.group.push_back(static_cast<unsigned>(rows.items.size()));
    rs.target_row.push_back(target);
    for (size_t r = 0; r < rows.items.size(); ++r) {
      rs.y.push_back(static_cast<int>(r) == target ? 1.0f : 0.0f);
      for (int f = 0; f < kNumRankFeatures; ++f) rs.x.push_back(drop[f] ? nan : rows.x[r * kNumRankFeatures + f]);
    }
    if (opt.progress) bar.Update(k + 1);
  }
  bar.Finish();
  res.train_users = cases.size() - n_hold;
  res.holdout_users = n_hold;
  res.train_rows = train.y.size();
  if (train.group.empty()) return Status::FailedPrecondition("no validation target is in the head of the blend: nothing to learn");
  // A held-out user whose head is empty still counts (a miss); the matrix needs at least one row per group for
  // prediction, which an empty group does not have and does not need.
  {
    std::vector<float> order_score(hold.y.size());
    for (size_t g = 0; g < hold.group.size(); ++g)
      for (size_t r = 0; r < hold.group[g]; ++r) order_score[hold.first[g] + r] = -static_cast<float>(r);
    res.holdout_blend_ndcg = HeadNdcg(hold, order_score.data());
  }

  Handle<DMatrixHandle, XGDMatrixFree> dtrain, dhold;
  VANE_RETURN_IF_ERROR(MakeMatrix(train, dtrain, true));
  if (!hold.y.empty()) VANE_RETURN_IF_ERROR(MakeMatrix(hold, dhold, false));
  Handle<BoosterHandle, XGBoosterFree> booster;
  VANE_XGB(XGBoosterCreate(&dtrain.h, 1, &booster.h), "XGBoosterCreate");
  const std::pair<const char*, std::string> params[] = {
      {"objective", "rank:ndcg"},
      {"eval_metric", "ndcg@10"},
      {"tree_method", "hist"},
      {"eta", fmt::format("{}", opt.eta)},
      {"max_depth", std::to_string(opt.max_depth)},
      {"min_child_weight", "1"},
      {"subsample", "0.8"},
      {"colsample_bytree", "0.8"},
      {"lambda", "1"},
      {"seed", std::to_string(opt.seed)},
      {"nthread", std::to_string(opt.threads)},
      {"verbosity", "0"},
  };
  for (const auto& [k, v] : params) VANE_XGB(XGBoosterSetParam(booster.h, k, v.c_str()), "XGBoosterSetParam");

  Progress boost("ranker: boosting", static_cast<size_t>(opt.max_rounds), "rounds", false);
  if (!opt.progress) boost.Finish();
  double best = -1;
  int best_round = 0, since = 0;
  std::vector<float> best_pred;  // the held-out scores of the best round
  for (int round = 1; round <= opt.max_rounds; ++round) {
    VANE_XGB(XGBoosterUpdateOneIter(booster.h, round - 1, dtrain.h), "XGBoosterUpdateOneIter");
    if (round % 5 != 0 && round != opt.max_rounds) continue;
    bst_ulong len = 0;
    const float* pred = nullptr;
    if (!hold.y.empty()) VANE_XGB(XGBoosterPredict(booster.h, dhold.h, 1, 0, 0, &len, &pred), "XGBoosterPredict");
    const double v = hold.y.empty() ? 0 : HeadNdcg(hold, pred);
    if (v > best + 1e-6) {
      best = v;
      best_round = round;
      best_pred.assign(pred, pred + len);
      since = 0;
    } else if ((since += 5) >= opt.patience) {
      res.log.push_back(fmt::format("stopped at round {}: no better held-out NDCG@10 for {} rounds", round, since));
      break;
    }
    if (round % 50 == 0)
      res.log.push_back(fmt::format("round {}: held-out NDCG@10 {:.4f} (best {:.4f} at {})", round, v, best, best_round));
    if (opt.progress) boost.Update(static_cast<size_t>(round));
  }
  boost.Finish();
  bst_ulong len = 0;
  const char* buf = nullptr;
  VANE_XGB(XGBoosterSaveModelToBuffer(booster.h, "{\"format\": \"json\"}", &len, &buf), "XGBoosterSaveModelToBuffer");
  auto j = nlohmann::json::parse(buf, buf + len, nullptr, false);
  if (j.is_discarded()) return Status::Internal("xgboost saved a model that is not JSON");
  VANE_ASSIGN_OR_RETURN(Ranker r, Ranker::FromXgboostJson(j));
  r.Truncate(static_cast<size_t>(best_round));
  res.best_round = best_round;
  res.holdout_ranker_ndcg = best;
  const PairedGain gain = HeadGain(hold, best_pred.data());
  res.holdout_gain = gain.mean;
  res.holdout_gain_se = gain.se;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<std::string> dropped = opt.drop_groups;
  r.info() = {{"objective", "rank:ndcg (LambdaMART, xgboost)"},
              {"depth", opt.depth},
              {"trees", best_round},
              {"max_depth", opt.max_depth},
              {"eta", opt.eta},
              {"train_users", res.train_users},
              {"train_users_with_target_in_head", res.train_hits},
              {"train_rows", res.train_rows},
              {"holdout_users", res.holdout_users},
              {"holdout_ndcg@10_blend", res.holdout_blend_ndcg},
              {"holdout_ndcg@10_ranker", res.holdout_ranker_ndcg},
              {"holdout_gain_standard_errors", res.holdout_gain_se > 0 ? res.holdout_gain / res.holdout_gain_se : 0.0},
              {"dropped_groups", dropped}};
  res.log.push_back(fmt::format("ranker: {} trees; held-out NDCG@10 {:.4f} (blend order {:.4f}; gain {:+.4f} ± {:.4f} standard "
                                "error, {} users); {} training users, {} with the target in the head of {}; {} rows; {:.1f} s",
                                best_round, res.holdout_ranker_ndcg, res.holdout_blend_ndcg, res.holdout_gain,
                                res.holdout_gain_se, res.holdout_users, res.train_users, res.train_hits, opt.depth,
                                res.train_rows, res.seconds));
  // The quality gate: a ranker whose held-out gain over the blend's own order is within the noise is not used. The
  // round was chosen on the same users, so the best round's figure is optimistic; a gain of less than
  // `min_gain_se` standard errors of the paired differences is not evidence.
  if (opt.gate && !gain.Beyond(opt.min_gain_se)) {  // (also when the gain is not positive)
    res.log.push_back(fmt::format("ranker not used: held-out NDCG@10 {:.4f} against the blend's order {:.4f}, a gain of "
                                  "{:+.4f}, not above {} standard error(s) ({:.4f})",
                                  res.holdout_ranker_ndcg, res.holdout_blend_ndcg, res.holdout_gain, opt.min_gain_se,
                                  opt.min_gain_se * res.holdout_gain_se));
    return res;
  }
  res.ranker = std::make_shared<Ranker>(std::move(r));
  return res;
}

}  // namespace vane
