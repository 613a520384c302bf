// A/B variants and online outcomes of `vane serve`.
//
// Users are bucketed into variants by a stable hash of their id (sticky across restarts and builds), in proportion
// to each variant's share; a variant scales the strategy's source weights and may set its own diversity. Online
// feedback (impressions, clicks, conversions of served items) is counted per strategy and per variant.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "vane/core/status.h"
#include "vane/recommend/engine.h"

namespace vane {

struct Variant {
  std::string name;
  double share = 1;
  BlendWeights scale = {1, 1, 1, 1, 1, 1, 1};
  float diversity = -1;  // negative: the engine's
};

// One piece of online feedback: type is "impression", "click" or "conversion"; an empty strategy counts as
// "unknown"; an empty variant is the user's.
struct FeedbackRecord {
  std::string user, item, type, strategy, variant;
};

struct OnlineCounts {
  uint64_t impressions = 0, clicks = 0, conversions = 0;
  double ctr() const { return impressions ? static_cast<double>(clicks) / static_cast<double>(impressions) : 0.0; }
  double conversion_rate() const {
    return impressions ? static_cast<double>(conversions) / static_cast<double>(impressions) : 0.0;
  }
};

struct OnlineStats {
  std::map<std::string, OnlineCounts> by_strategy, by_variant;
};

class Experiments {
 public:
  explicit Experiments(std::vector<Variant> variants) : variants_(std::move(variants)) {}

  // The user's variant (nullptr without variants).
  const Variant* VariantFor(const std::string& user) const;
  // Counts the feedback; returns it as recorded (strategy and variant filled in). Invalid: a bad type.
  Result<FeedbackRecord> Record(FeedbackRecord fb);
  OnlineStats Stats() const;

 private:
  std::vector<Variant> variants_;
  mutable std::mutex mu_;
  OnlineStats online_;  // guarded by mu_
};

}  // namespace vane
