// A/B variants and online outcomes of `vane serve`.
//
// Users are bucketed into variants by a stable hash of their id (sticky across restarts and builds), in proportion
// to each variant's share; a variant scales the strategy's source weights and may set its own diversity. Online
// feedback (impressions, clicks, conversions of served items) is counted per strategy, per source, per variant and
// per item, apart for each origin ("client", the default, or "dashboard": the dashboard's own traffic), durably in
// the store's counters before it is acknowledged, and read back on start: the counts survive restarts.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "vane/core/status.h"
#include "vane/recommend/engine.h"
#include "vane/store/store.h"

namespace vane {

struct Variant {
  std::string name;
  double share = 1;
  BlendWeights scale = {1, 1, 1, 1, 1, 1, 1};
  float diversity = -1;  // negative: the engine's
};

// One piece of online feedback: type is "impression", "click" or "conversion"; an empty strategy or source counts
// as "unknown"; an empty variant is the user's; an empty origin is "client".
struct FeedbackRecord {
  std::string user, item, type, strategy, variant, source, origin;
};

struct OnlineCounts {
  uint64_t impressions = 0, clicks = 0, conversions = 0;
  double ctr() const { return impressions ? static_cast<double>(clicks) / static_cast<double>(impressions) : 0.0; }
  double conversion_rate() const {
    return impressions ? static_cast<double>(conversions) / static_cast<double>(impressions) : 0.0;
  }
};

// The counts of one origin.
struct OnlineStats {
  std::map<std::string, OnlineCounts> by_strategy, by_variant, by_source;
  size_t items = 0;  // distinct items with feedback
};

// Online adaptation of the serving weights (off unless enabled): each source's weight is scaled by how its items
// fare with clients — its smoothed click-through rate over the overall one, (clicks_s + prior * p) / (impressions_s +
// prior) / p with p = all clicks / all impressions — clamped to [floor, cap] so that no source starves or takes
// over; all 1 until `min_impressions` impressions were counted. Multiplies the strategy's weights and the A/B
// variant's scale (docs/http_api.md: one place decides a request's weights).
struct AdaptOptions {
  bool enabled = false;
  double prior = 100;           // pseudo-impressions at the overall rate
  double floor = 0.5, cap = 2.0;
  uint64_t min_impressions = 200;
};

class Experiments {
 public:
  explicit Experiments(std::vector<Variant> variants) : variants_(std::move(variants)) {}

  // Reads the counts kept in `store` and keeps every later count there (null: in memory only).
  Status Attach(Store* store);
  // The user's variant (nullptr without variants).
  const Variant* VariantFor(const std::string& user) const;
  // Counts the feedback (durably first, when attached); returns it as recorded (strategy, source, variant and
  // origin filled in). Invalid: a bad type or origin; Unavailable: the store failed (nothing counted).
  Result<FeedbackRecord> Record(FeedbackRecord fb);
  // Checks the feedback and fills it in as Record would, without counting it (cluster mode: the log carries the
  // filled-in record and every node counts it).
  Result<FeedbackRecord> Prepare(FeedbackRecord fb) const;
  // The counts of one origin ("client" or "dashboard").
  OnlineStats Stats(const std::string& origin = "client") const;
  // One item's counts (all its strategies) of one origin.
  OnlineCounts ItemCounts(const std::string& item, const std::string& origin = "client") const;
  // The per-source scale online adaptation applies now (all 1 when disabled or too little feedback).
  BlendWeights OnlineScale(const AdaptOptions& opt) const;

 private:
  void Bump(const std::string& origin, const std::string& dim, const std::string& key, const std::string& type,
            int64_t n);  // caller holds mu_

  std::vector<Variant> variants_;
  Store* store_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, OnlineStats> online_;                          // by origin; guarded by mu_
  std::map<std::string, std::map<std::string, OnlineCounts>> items_;  // by origin, item; guarded by mu_
};

}  // namespace vane
