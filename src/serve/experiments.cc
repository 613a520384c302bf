#include "vane/serve/experiments.h"

#include <algorithm>

namespace vane {

const Variant* Experiments::VariantFor(const std::string& user) const {
  if (variants_.empty()) return nullptr;
  double total = 0;
  for (const auto& v : variants_) total += std::max(0.0, v.share);
  if (total <= 0) return nullptr;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across runs and builds
  for (unsigned char c : user) h = (h ^ c) * 1099511628211ULL;
  double x = static_cast<double>(h % 1000000) / 1000000.0 * total;
  for (const auto& v : variants_) {
    x -= std::max(0.0, v.share);
    if (x < 0) return &v;
  }
  return &variants_.back();
}

Result<FeedbackRecord> Experiments::Record(FeedbackRecord fb) {
  if (fb.type != "impression" && fb.type != "click" && fb.type != "conversion")
    return Status::InvalidArgument("bad_feedback", "type must be impression, click or conversion");
  if (fb.strategy.empty()) fb.strategy = "unknown";
  if (fb.variant.empty())
    if (const Variant* v = VariantFor(fb.user)) fb.variant = v->name;
  auto bump = [&](OnlineCounts& o) {
    (fb.type == "impression" ? o.impressions : fb.type == "click" ? o.clicks : o.conversions)++;
  };
  std::lock_guard lock(mu_);
  bump(online_.by_strategy[fb.strategy]);
  if (!fb.variant.empty()) bump(online_.by_variant[fb.variant]);
  return fb;
}

OnlineStats Experiments::Stats() const {
  std::lock_guard lock(mu_);
  return online_;
}

}  // namespace vane
