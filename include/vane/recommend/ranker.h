// The learned ranking stage: a tree ensemble (LambdaMART, fitted by eval/ranker_fit.h with xgboost) that re-orders
// the head of the blend from features of the candidate, the user's state and the sources that proposed it.
//
// The ranker is read and evaluated here, with no xgboost: the fitted trees are stored in vane's own JSON form (in
// the blend file, recommend/blend_config.h), so that serving needs no training library and the answer does not
// depend on its version. Prediction walks each tree (split: x[f] < threshold goes left; a missing value, NaN,
// takes the tree's default branch, as xgboost does); it is lock-free and allocation-free.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vane/core/status.h"
#include "vane/retrieve/source.h"

namespace vane {

// Features of one candidate, in this order. Per source s (the engine's kNumSources slots): its score of the item
// normalised by the source's best score for this user (0: not proposed), and log2(1 + the item's rank in that
// source's list) (missing when not proposed); per source, the best raw score the source gave this user (how
// confident it is: a model's top softmax probability, a co-visitation count). Then the blend, the item, the user.
namespace rank_feature {
constexpr int kSources = 7;                     // == kNumSources (checked in engine.cc)
constexpr int kSourceScore = 0;                 // + s
constexpr int kSourceRank = kSourceScore + kSources;
constexpr int kSourceMax = kSourceRank + kSources;
constexpr int kBlendScore = kSourceMax + kSources;  // blended score / the best blended score
constexpr int kBlendRank = kBlendScore + 1;         // log2(1 + rank in the blend)
constexpr int kItemPopularity = kBlendRank + 1;     // log(1 + decayed popularity)
constexpr int kItemTrend = kItemPopularity + 1;     // log(1 + recent popularity)
constexpr int kItemCatNow = kItemTrend + 1;         // user's short-term share on the item's categories (max)
constexpr int kItemCatLong = kItemCatNow + 1;       // same, long-term
constexpr int kUserEvents = kItemCatLong + 1;       // log(1 + events of the user)
constexpr int kUserSessionEvents = kUserEvents + 1;
constexpr int kUserSessionSearches = kUserSessionEvents + 1;
constexpr int kUserIdle = kUserSessionSearches + 1;  // log(1 + seconds since the user's last event); missing without times
constexpr int kUserTopShare = kUserIdle + 1;         // concentration: top short-term category's share
constexpr int kStrategy = kUserTopShare + 1;         // the strategy the rules chose (0 new, 1 session, 2 stable)
constexpr int kCount = kStrategy + 1;
}  // namespace rank_feature
constexpr int kNumRankFeatures = rank_feature::kCount;

// Name of a feature ("score:covisit", "item_popularity", ...) and its group for ablations: "source_scores",
// "source_ranks", "confidence", "blend", "item", "user", "strategy".
std::string RankFeatureName(int f);
std::string RankFeatureGroup(int f);
std::vector<std::string> RankFeatureGroups();

class Ranker {
 public:
  static constexpr int kFormat = 1;
  struct Tree {
    std::vector<int32_t> left, right, feature;
    std::vector<float> value;          // split threshold, or the leaf's value
    std::vector<uint8_t> default_left;
  };

  // The score of one candidate's features (kNumRankFeatures floats, NaN = missing); higher ranks first.
  float Predict(const float* x) const {
    float s = base_score_;
    for (uint32_t root : roots_) s += Leaf(root, x);
    return s;
  }
  // Scores of `rows` candidates (row-major features) into out[0..rows): tree by tree, so each tree stays in cache
  // while every row walks it. Equal to Predict row by row.
  void PredictBatch(const float* x, size_t rows, float* out) const {
    for (size_t r = 0; r < rows; ++r) out[r] = base_score_;
    for (uint32_t root : roots_)
      for (size_t r = 0; r < rows; ++r) out[r] += Leaf(root, x + r * kNumRankFeatures);
  }

  size_t num_trees() const { return trees_.size(); }
  // Keeps the first n trees (early stopping).
  void Truncate(size_t n) {
    if (n < trees_.size()) trees_.resize(n);
    Flatten();
  }
  // The validation figures and training facts that chose it (kept in the JSON).
  nlohmann::json& info() { return info_; }
  const nlohmann::json& info() const { return info_; }

  // From an xgboost model saved as JSON (XGBoosterSaveModelToBuffer, format "json"; gbtree). Errors name the field.
  static Result<Ranker> FromXgboostJson(const nlohmann::json& j);
  // vane's own form: {"format": "vane-ranker", "version": 1, "features": [...names...], "base_score", "trees":
  // [{"left", "right", "feature", "value", "default_left"}], "info": {...}}. FromJson checks every index (a
  // child outside the tree, a cycle, a feature outside the list) so that Predict never leaves the arrays.
  nlohmann::json ToJson() const;
  static Result<Ranker> FromJson(const nlohmann::json& j);

 private:
  // One node of the flat layout every tree is copied into: children are absolute indices into nodes_ (-1: a leaf).
  struct Node {
    int32_t child[2];   // left, right
    int32_t feature;
    float value;
    int32_t default_right;  // 1: a missing value goes right
  };
  // Branch-free steps: the child is picked by index (a mispredicted branch per node would cost more than the node).
  float Leaf(uint32_t n, const float* x) const {
    const Node* nd = &nodes_[n];
    while (nd->child[0] >= 0) {
      const float v = x[nd->feature];
      const int right = v != v ? nd->default_right : static_cast<int>(!(v < nd->value));
      nd = &nodes_[nd->child[right]];
    }
    return nd->value;
  }
  void Flatten();

  float base_score_ = 0;
  std::vector<Tree> trees_;
  std::vector<Node> nodes_;
  std::vector<uint32_t> roots_;
  nlohmann::json info_ = nlohmann::json::object();
};

}  // namespace vane
