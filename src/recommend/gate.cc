#include "vane/recommend/gate.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace vane {

const char* GateFeatureName(int f) {
  static const char* kNames[kNumGateFeatures] = {"bias",        "events",    "session_events", "searched",
                                                 "top_share",   "in_session", "idle",          "model_confidence",
                                                 "rules_new_user", "rules_session_intent"};
  return f >= 0 && f < kNumGateFeatures ? kNames[f] : "?";
}

BlendWeights StrategyGate::Multipliers(const GateFeatures& x) const {
  BlendWeights m{};
  for (int s = 0; s < kNumSources; ++s) {
    float z = 0;
    for (int f = 0; f < kNumGateFeatures; ++f) z += theta[s][f] * x[f];
    m[s] = std::exp(std::clamp(z, -kMaxLogMultiplier, kMaxLogMultiplier));
  }
  return m;
}

namespace {

// How a feature reads in the explanation, given its value.
std::string FeatureWords(int f, float v) {
  namespace g = gate_feature;
  switch (f) {
    case g::kEvents: return fmt::format("{} events so far", static_cast<int>(std::lround(std::expm1(v * std::log(1000.0)))));
    case g::kSessionEvents:
      return fmt::format("{} events this session", static_cast<int>(std::lround(std::expm1(v * std::log(50.0)))));
    case g::kSearched: return v > 0 ? "a search this session" : "no search this session";
    case g::kTopShare: return fmt::format("{}% of the session on one interest", static_cast<int>(std::lround(v * 100)));
    case g::kInSession: return v > 0 ? "in a session now" : "no session now";
    case g::kIdle: return "time since the last event";
    case g::kModelConfidence: return fmt::format("the model {}% sure of the next interest", static_cast<int>(std::lround(v * 100)));
    case g::kRulesNewUser: return "a new user";
    case g::kRulesSession: return "a focused session";
    default: return "";
  }
}

}  // namespace

std::string StrategyGate::Explain(const GateFeatures& x) const {
  // The two sources moved most (in log terms), then for the first of them the two features that moved it most.
  std::vector<std::pair<float, int>> moved;
  for (int s = 0; s < kNumSources; ++s) {
    float z = 0;
    for (int f = 0; f < kNumGateFeatures; ++f) z += theta[s][f] * x[f];
    z = std::clamp(z, -kMaxLogMultiplier, kMaxLogMultiplier);
    if (std::fabs(z) > 0.05f) moved.emplace_back(z, s);
  }
  if (moved.empty()) return "learned gate: the fitted base blend";
  std::sort(moved.begin(), moved.end(), [](const auto& a, const auto& b) { return std::fabs(a.first) > std::fabs(b.first); });
  std::string out = "learned gate: ";
  for (size_t k = 0; k < moved.size() && k < 2; ++k)
    out += fmt::format("{}{} x{:.2f}", k ? ", " : "", SourceName(moved[k].second), std::exp(moved[k].first));
  const int s = moved[0].second;
  std::vector<std::pair<float, int>> why;
  for (int f = 1; f < kNumGateFeatures; ++f) {
    float c = theta[s][f] * x[f];
    if (std::fabs(c) > 0.05f && x[f] != 0) why.emplace_back(c, f);
  }
  std::sort(why.begin(), why.end(), [](const auto& a, const auto& b) { return std::fabs(a.first) > std::fabs(b.first); });
  for (size_t k = 0; k < why.size() && k < 2; ++k) out += (k ? ", " : ", because of ") + FeatureWords(why[k].second, x[why[k].second]);
  return out;
}

nlohmann::json StrategyGate::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  for (int s = 0; s < kNumSources; ++s)
    for (int f = 0; f < kNumGateFeatures; ++f) j["theta"][SourceName(s)][GateFeatureName(f)] = theta[s][f];
  return j;
}

Result<StrategyGate> StrategyGate::FromJson(const nlohmann::json& j) {
  StrategyGate g;
  if (!j.is_object() || !j.contains("theta") || !j["theta"].is_object())
    return Status::InvalidArgument("gate: expected an object with \"theta\"").WithField("gate.theta");
  const auto& t = j["theta"];
  for (int s = 0; s < kNumSources; ++s) {
    const std::string sn = SourceName(s);
    auto row = t.find(sn);
    if (row == t.end() || !row->is_object())
      return Status::InvalidArgument("gate: missing source " + sn).WithField("gate.theta." + sn);
    for (int f = 0; f < kNumGateFeatures; ++f) {
      const std::string fn = GateFeatureName(f);
      auto v = row->find(fn);
      if (v == row->end() || !v->is_number() || !std::isfinite(v->get<double>()) || std::fabs(v->get<double>()) > 100)
        return Status::InvalidArgument("gate: missing, non-numeric or out-of-range value")
            .WithField("gate.theta." + sn + "." + fn);
      g.theta[s][f] = v->get<float>();
    }
  }
  return g;
}

}  // namespace vane
