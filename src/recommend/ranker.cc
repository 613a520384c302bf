#include "vane/recommend/ranker.h"

#include <array>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include <limits>
#include <type_traits>

#include "vane/recommend/engine.h"

namespace vane {

static_assert(rank_feature::kSources == kNumSources, "one score, rank and confidence feature per blend source");

std::string RankFeatureName(int f) {
  using namespace rank_feature;
  if (f >= kSourceScore && f < kSourceRank) return std::string("score:") + SourceName(f - kSourceScore);
  if (f >= kSourceRank && f < kSourceMax) return std::string("rank:") + SourceName(f - kSourceRank);
  if (f >= kSourceMax && f < kBlendScore) return std::string("confidence:") + SourceName(f - kSourceMax);
  switch (f) {
    case kBlendScore: return "blend_score";
    case kBlendRank: return "blend_rank";
    case kItemPopularity: return "item_popularity";
    case kItemTrend: return "item_trend";
    case kItemCatNow: return "item_interest_now";
    case kItemCatLong: return "item_interest_long";
    case kUserEvents: return "user_events";
    case kUserSessionEvents: return "user_session_events";
    case kUserSessionSearches: return "user_session_searches";
    case kUserIdle: return "user_idle";
    case kUserTopShare: return "user_top_share";
    case kStrategy: return "strategy";
    default: return "feature" + std::to_string(f);
  }
}

std::string RankFeatureGroup(int f) {
  using namespace rank_feature;
  if (f < kSourceRank) return "source_scores";
  if (f < kSourceMax) return "source_ranks";
  if (f < kBlendScore) return "confidence";
  if (f <= kBlendRank) return "blend";
  if (f <= kItemCatLong) return "item";
  if (f < kStrategy) return "user";
  return "strategy";
}

std::vector<std::string> RankFeatureGroups() {
  return {"source_scores", "source_ranks", "confidence", "blend", "item", "user", "strategy"};
}

namespace {

Status Bad(const std::string& what) { return Status::InvalidArgument("bad_ranker", "ranker: " + what); }

// Every node reachable once from the root, children inside the tree, features inside the list, values finite.
Status CheckTree(const Ranker::Tree& t, size_t index) {
  const size_t n = t.left.size();
  if (n == 0 || t.right.size() != n || t.feature.size() != n || t.value.size() != n || t.default_left.size() != n)
    return Bad(fmt::format("tree {}: arrays of unequal or zero length", index));
  std::vector<uint8_t> seen(n, 0);
  std::vector<int32_t> stack{0};
  seen[0] = 1;
  while (!stack.empty()) {
    int32_t k = stack.back();
    stack.pop_back();
    if (!std::isfinite(t.value[k])) return Bad(fmt::format("tree {} node {}: value is not finite", index, k));
    if (t.left[k] < 0) continue;  // a leaf
    if (t.feature[k] < 0 || t.feature[k] >= kNumRankFeatures)
      return Bad(fmt::format("tree {} node {}: feature {} outside 0..{}", index, k, t.feature[k], kNumRankFeatures - 1));
    for (int32_t c : {t.left[k], t.right[k]}) {
      if (c <= 0 || static_cast<size_t>(c) >= n || seen[c])
        return Bad(fmt::format("tree {} node {}: child {} is outside the tree or reached twice", index, k, c));
      seen[c] = 1;
      stack.push_back(c);
    }
  }
  return Status::Ok();
}

template <typename T>
Status ReadArray(const nlohmann::json& j, const char* key, size_t tree, std::vector<T>& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return Bad(fmt::format("tree {}: '{}' must be an array", tree, key));
  out.clear();
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (v.is_boolean()) {  // xgboost writes default_left as 0/1 or as booleans, by version
      out.push_back(static_cast<T>(v.get<bool>()));
      continue;
    }
    if (!v.is_number()) return Bad(fmt::format("tree {}: '{}' holds a non-number", tree, key));
    // In range before converting: a huge or fractional index, or a value beyond float, is refused (converting
    // it would be undefined behaviour; found by the blend_config fuzz target).
    const double d = v.get<double>();
    if constexpr (std::is_integral_v<T>) {
      if (!(d >= static_cast<double>(std::numeric_limits<T>::min()) &&
            d <= static_cast<double>(std::numeric_limits<T>::max()) && d == std::floor(d)))
        return Bad(fmt::format("tree {}: '{}' holds {} where an integer in [{}, {}] belongs", tree, key, d,
                               std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
      out.push_back(static_cast<T>(d));
    } else {
      if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(std::numeric_limits<T>::max()))
        return Bad(fmt::format("tree {}: '{}' holds {}, not a finite value", tree, key, d));
      out.push_back(static_cast<T>(d));
    }
  }
  return Status::Ok();
}

// One tree from `tj`, its arrays named by `keys` (left, right, feature, value, default_left), checked.
Status ReadTree(const nlohmann::json& tj, size_t k, const std::array<const char*, 5>& keys, Ranker::Tree& t) {
  std::vector<int32_t> def;
  VANE_RETURN_IF_ERROR(ReadArray(tj, keys[0], k, t.left));
  VANE_RETURN_IF_ERROR(ReadArray(tj, keys[1], k, t.right));
  VANE_RETURN_IF_ERROR(ReadArray(tj, keys[2], k, t.feature));
  VANE_RETURN_IF_ERROR(ReadArray(tj, keys[3], k, t.value));
  VANE_RETURN_IF_ERROR(ReadArray(tj, keys[4], k, def));
  t.default_left.assign(def.begin(), def.end());
  return CheckTree(t, k);
}

}  // namespace

void Ranker::Flatten() {
  nodes_.clear();
  roots_.clear();
  for (const Tree& t : trees_) {
    const int32_t base = static_cast<int32_t>(nodes_.size());
    roots_.push_back(static_cast<uint32_t>(base));
    for (size_t k = 0; k < t.left.size(); ++k) {
      const bool leaf = t.left[k] < 0;
      nodes_.push_back({{leaf ? -1 : base + t.left[k], leaf ? -1 : base + t.right[k]}, leaf ? 0 : t.feature[k], t.value[k],
                        t.default_left[k] ? 0 : 1});
    }
  }
}

Result<Ranker> Ranker::FromXgboostJson(const nlohmann::json& j) {
  Ranker r;
  try {
    const auto& learner = j.at("learner");
    const std::string bs = learner.at("learner_model_param").at("base_score").get<std::string>();
    r.base_score_ = std::strtof(bs.c_str(), nullptr);
    const auto& model = learner.at("gradient_booster").at("model");
    size_t k = 0;
    for (const auto& tj : model.at("trees")) {
      Tree t;
      VANE_RETURN_IF_ERROR(
          ReadTree(tj, k, {"left_children", "right_children", "split_indices", "split_conditions", "default_left"}, t));
      r.trees_.push_back(std::move(t));
      ++k;
    }
  } catch (const nlohmann::json::exception& e) {
    return Bad(std::string("not an xgboost gbtree model: ") + e.what());
  }
  r.Flatten();
  return r;
}

nlohmann::json Ranker::ToJson() const {
  nlohmann::json j;
  j["format"] = "vane-ranker";
  j["version"] = kFormat;
  nlohmann::json names = nlohmann::json::array();
  for (int f = 0; f < kNumRankFeatures; ++f) names.push_back(RankFeatureName(f));
  j["features"] = names;
  j["base_score"] = base_score_;
  nlohmann::json trees = nlohmann::json::array();
  for (const Tree& t : trees_) {
    std::vector<int> def(t.default_left.begin(), t.default_left.end());
    trees.push_back({{"left", t.left}, {"right", t.right}, {"feature", t.feature}, {"value", t.value}, {"default_left", def}});
  }
  j["trees"] = std::move(trees);
  j["info"] = info_;
  return j;
}

Result<Ranker> Ranker::FromJson(const nlohmann::json& j) {
  if (!j.is_object() || j.value("format", "") != "vane-ranker") return Bad("'format' must be \"vane-ranker\"");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != kFormat)
    return Bad(fmt::format("'version' must be {}", kFormat));
  // The features are named so that a ranker fitted on another feature list is refused, not misread.
  auto fit = j.find("features");
  if (fit == j.end() || !fit->is_array() || fit->size() != static_cast<size_t>(kNumRankFeatures))
    return Bad(fmt::format("'features' must list the {} features this vane computes", kNumRankFeatures));
  for (int f = 0; f < kNumRankFeatures; ++f)
    if (!(*fit)[f].is_string() || (*fit)[f].get<std::string>() != RankFeatureName(f))
      return Bad(fmt::format("feature {} is '{}', this vane computes '{}'", f, (*fit)[f].dump(), RankFeatureName(f)));
  Ranker r;
  if (!j.contains("base_score") || !j["base_score"].is_number() || !std::isfinite(j["base_score"].get<double>()))
    return Bad("'base_score' must be a finite number");
  r.base_score_ = j["base_score"].get<float>();
  auto tit = j.find("trees");
  if (tit == j.end() || !tit->is_array()) return Bad("'trees' must be an array");
  size_t k = 0;
  for (const auto& tj : *tit) {
    if (!tj.is_object()) return Bad(fmt::format("tree {} is not an object", k));
    Tree t;
    VANE_RETURN_IF_ERROR(ReadTree(tj, k, {"left", "right", "feature", "value", "default_left"}, t));
    r.trees_.push_back(std::move(t));
    ++k;
  }
  if (j.contains("info") && j["info"].is_object()) r.info_ = j["info"];
  r.Flatten();
  return r;
}

}  // namespace vane
