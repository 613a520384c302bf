// The learned strategy gate: per request, the blend's source weights from the user's state, instead of the three
// hand-written strategies (Engine::ChooseStrategy, kept as the fallback for users with no state and as a feature).
//
// Each source's weight is its base weight times exp(theta_s . x), x the request's gate features (all in [0, 1]):
// session length, searches, concentration of the short-term interests, recency, the behaviour model's confidence
// (the top probability of its interest head), and the rules' strategy. theta is fitted on validation users alone,
// listwise (the NDCG@10 of the target among each user's merged candidates, eval/evaluator.cc), and kept only when it
// beats the rules on held-out validation users. Every answer says in words which sources the gate leaned on and
// which features of the user's state moved it.
#pragma once

#include <array>
#include <string>

#include <nlohmann/json.hpp>

#include "vane/core/status.h"
#include "vane/recommend/engine.h"

namespace vane {

namespace gate_feature {
enum : int {
  kBias = 0,
  kEvents,           // log(1 + events) / log(1000), capped at 1
  kSessionEvents,    // log(1 + events this session) / log(50), capped at 1
  kSearched,         // a search this session
  kTopShare,         // share of the strongest short-term interest
  kInSession,        // the last event is within the session gap
  kIdle,             // log(1 + seconds since the last event) / log(1e7), capped at 1 (0 without timestamps)
  kModelConfidence,  // the behaviour model's interest-head top probability (0 without a model or head)
  kRulesNewUser,     // the rules' strategy, one-hot (stable taste is the reference)
  kRulesSession,
  kCount
};
}  // namespace gate_feature
constexpr int kNumGateFeatures = gate_feature::kCount;
using GateFeatures = std::array<float, kNumGateFeatures>;
const char* GateFeatureName(int f);

struct StrategyGate {
  static constexpr float kMaxLogMultiplier = 4.0f;
  std::array<std::array<float, kNumGateFeatures>, kNumSources> theta{};

  // Per source: exp(clamp(theta_s . x, -4, 4)).
  BlendWeights Multipliers(const GateFeatures& x) const;
  // In words: the sources whose weight the gate moved most (x2.3, x0.4) and the features that moved them.
  std::string Explain(const GateFeatures& x) const;

  nlohmann::json ToJson() const;
  // Every source and feature named, every value finite; errors name the field.
  static Result<StrategyGate> FromJson(const nlohmann::json& j);
};

// The gate's features of a request (what Engine::ChooseWeights reads, and what the fit reads); `rules` is the
// rules' strategy for the user now.
GateFeatures ComputeGateFeatures(const Engine& engine, UserIdx u, Timestamp now, Strategy rules);

}  // namespace vane
