#include "vane/serve/experiments.h"

#include <algorithm>

#include "vane/events/ids.h"

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

namespace {
// Counter names: "online", origin, dimension, key, type, separated by U+001F (keys may hold any other character).
constexpr char kSep = '\x1f';
std::string CounterName(const std::string& origin, const std::string& dim, const std::string& key, const std::string& type) {
  return std::string("online") + kSep + origin + kSep + dim + kSep + key + kSep + type;
}
void Add(OnlineCounts& o, const std::string& type, int64_t n) {
  auto v = static_cast<uint64_t>(n);
  (type == "impression" ? o.impressions : type == "click" ? o.clicks : o.conversions) += v;
}
}  // namespace

void Experiments::Bump(const std::string& origin, const std::string& dim, const std::string& key,
                       const std::string& type, int64_t n) {
  OnlineStats& s = online_[origin];
  if (dim == "strategy") Add(s.by_strategy[key], type, n);
  else if (dim == "variant") Add(s.by_variant[key], type, n);
  else if (dim == "source") Add(s.by_source[key], type, n);
  else if (dim == "item") {
    auto& m = items_[origin];
    s.items += m.find(key) == m.end();
    Add(m[key], type, n);
  }
}

Status Experiments::Attach(Store* store) {
  store_ = store;
  if (!store_) return Status::Ok();
  VANE_ASSIGN_OR_RETURN(auto counters, store_->Counters(std::string("online") + kSep));
  std::lock_guard lock(mu_);
  for (const auto& [name, n] : counters) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i <= name.size(); ++i)
      if (i == name.size() || name[i] == kSep) {
        parts.push_back(name.substr(start, i - start));
        start = i + 1;
      }
    if (parts.size() != 5) continue;  // not a counter of this layout
    Bump(parts[1], parts[2], parts[3], parts[4], n);
  }
  return Status::Ok();
}

Result<FeedbackRecord> Experiments::Prepare(FeedbackRecord fb) const {
  if (fb.type != "impression" && fb.type != "click" && fb.type != "conversion")
    return Status::InvalidArgument("bad_feedback", "type must be impression, click or conversion");
  if (fb.origin.empty()) fb.origin = "client";
  if (fb.origin != "client" && fb.origin != "dashboard")
    return Status::InvalidArgument("bad_feedback", "origin must be client or dashboard");
  for (const auto& [field, id] : {std::pair{"user", &fb.user}, {"item", &fb.item}})
    if (!id->empty()) VANE_RETURN_IF_ERROR(CheckId(field, *id));  // the id rule excludes the separator too
  for (const std::string* f : {&fb.strategy, &fb.source, &fb.variant})
    if (f->find(kSep) != std::string::npos)  // the counters' separator: such a name could not be read back
      return Status::InvalidArgument("bad_feedback", "strategy, source and variant may not contain U+001F");
  if (fb.strategy.empty()) fb.strategy = "unknown";
  if (fb.source.empty()) fb.source = "unknown";
  if (fb.variant.empty())
    if (const Variant* v = VariantFor(fb.user)) fb.variant = v->name;
  return fb;
}

Result<FeedbackRecord> Experiments::Record(FeedbackRecord fb) {
  VANE_ASSIGN_OR_RETURN(fb, Prepare(std::move(fb)));
  std::vector<std::pair<std::string, std::string>> dims = {{"strategy", fb.strategy}, {"source", fb.source}};
  if (!fb.variant.empty()) dims.emplace_back("variant", fb.variant);
  if (!fb.item.empty()) dims.emplace_back("item", fb.item);
  if (store_) {
    std::vector<std::pair<std::string, int64_t>> deltas;
    for (const auto& [dim, key] : dims) deltas.emplace_back(CounterName(fb.origin, dim, key, fb.type), 1);
    if (Status w = store_->AddCounters(deltas); !w.ok()) return Status::Unavailable("store_unavailable", w.ToString());
  }
  std::lock_guard lock(mu_);
  for (const auto& [dim, key] : dims) Bump(fb.origin, dim, key, fb.type, 1);
  return fb;
}

OnlineStats Experiments::Stats(const std::string& origin) const {
  std::lock_guard lock(mu_);
  auto it = online_.find(origin);
  return it == online_.end() ? OnlineStats{} : it->second;
}

OnlineCounts Experiments::ItemCounts(const std::string& item, const std::string& origin) const {
  std::lock_guard lock(mu_);
  auto o = items_.find(origin);
  if (o == items_.end()) return {};
  auto it = o->second.find(item);
  return it == o->second.end() ? OnlineCounts{} : it->second;
}

BlendWeights Experiments::OnlineScale(const AdaptOptions& opt) const {
  BlendWeights scale;
  scale.fill(1.0f);
  if (!opt.enabled) return scale;
  std::lock_guard lock(mu_);
  auto it = online_.find("client");
  if (it == online_.end()) return scale;
  double imps = 0, clicks = 0;
  for (int s = 0; s < kNumSources; ++s)
    if (auto f = it->second.by_source.find(SourceName(s)); f != it->second.by_source.end()) {
      imps += static_cast<double>(f->second.impressions);
      clicks += static_cast<double>(f->second.clicks);
    }
  if (imps < static_cast<double>(opt.min_impressions) || clicks <= 0) return scale;
  const double p = clicks / imps;
  for (int s = 0; s < kNumSources; ++s) {
    auto f = it->second.by_source.find(SourceName(s));
    const double i = f == it->second.by_source.end() ? 0 : static_cast<double>(f->second.impressions);
    const double c = f == it->second.by_source.end() ? 0 : static_cast<double>(f->second.clicks);
    const double rate = (c + opt.prior * p) / (i + opt.prior);
    scale[s] = static_cast<float>(std::clamp(rate / p, opt.floor, opt.cap));
  }
  return scale;
}

}  // namespace vane
