// Ranking metrics for full-ranking evaluation, and the accumulator that averages them over users.
//
// Conventions (docs/evaluation.md): rank is 1-based among all catalogue items except the user's earlier items;
// items with a score equal to the target's are counted as half ahead of it (the expected rank under random
// tie-breaking). HR@K = 1[rank <= K] (equal to Recall@K with one held-out item), NDCG@K = 1/log2(rank+1) if
// rank <= K, MRR = mean 1/rank over the full ranking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vane/events/dataset.h"

namespace vane {

double HitAt(double rank, int k);
double NdcgAt(double rank, int k);

// The mean of paired per-user differences (one choice's metric minus another's, on the same users) and its standard
// error: whether a held-out gain is more than the noise of the users it was measured on.
struct PairedGain {
  double mean = 0, se = 0;
  size_t n = 0;
  bool Beyond(double standard_errors) const { return mean > 0 && mean > standard_errors * se; }
};
PairedGain MeasurePairedGain(std::span<const double> differences);

struct RankingMetrics {
  size_t users = 0;
  double hr10 = 0, ndcg10 = 0, hr20 = 0, ndcg20 = 0, mrr = 0;
  double coverage10 = 0;      // distinct items in all top-10 lists / catalogue size
  double diversity10 = 0;     // intra-list diversity: mean pairwise category Jaccard distance in top-10
  double novelty10 = 0;       // mean self-information -log2(pop share) of top-10 items
  double long_tail10 = 0;     // share of top-10 items outside the most popular 20% of items (training interactions)
  double seconds = 0;
};

// Averages per-user ranks and top-10 lists. Item popularity (interaction counts) feeds novelty and long tail.
class MetricAccumulator {
 public:
  MetricAccumulator(const Catalog& catalog, std::span<const uint32_t> item_counts);
  void Add(double rank, std::span<const ItemIdx> top10);
  RankingMetrics Result() const;

 private:
  const Catalog& catalog_;
  std::vector<double> info_;       // self-information per item
  std::vector<uint8_t> short_head_;
  std::vector<uint8_t> seen_;
  size_t distinct_ = 0, users_ = 0, listed_ = 0, pairs_ = 0;
  double hr10_ = 0, ndcg10_ = 0, hr20_ = 0, ndcg20_ = 0, rr_ = 0, div_ = 0, nov_ = 0, tail_ = 0;
};

// Rank of `target` among all items not marked in `excluded` (a 0/1 mask over the catalogue), given sparse scores
// (items absent from `touched` score 0). Also fills the top-k list (excluding masked items).
struct RankResult {
  double rank = 0;
  std::vector<ItemIdx> top;
};
// `scores(i)` must return the score of item i; `touched` lists items with a (possibly) non-zero score.
// Ties count half (the expected rank under a random order), or with `strict` as a served list breaks them: items
// of equal score by catalogue order, so a tied item before the target ranks above it, and a target nobody scored
// ranks behind every eligible item.
template <class ScoreFn>
RankResult RankTarget(ItemIdx target, const std::vector<uint32_t>& touched, ScoreFn scores,
                      const std::vector<uint8_t>& excluded, size_t num_excluded, size_t num_items, size_t k,
                      bool strict = false);

}  // namespace vane

#include "vane/eval/metrics_inl.h"
