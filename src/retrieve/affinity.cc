#include <algorithm>
#include <cmath>

#include "vane/retrieve/sources.h"

namespace vane {

AffinitySource::AffinitySource(const Dataset& ds, const InterestStore& interests, const PopularitySource& pop,
                               Config cfg)
    : ds_(ds), interests_(interests), pop_(pop), cfg_(cfg) {}

void AffinitySource::Generate(const RetrievalContext& ctx, ScoreBuffer& out) const {
  if (!ctx.state) return;
  // Category affinities a_c.
  std::vector<std::pair<uint32_t, float>> aff;
  std::vector<EvidenceKind> kinds;
  auto cats = interests_.Categories(ctx.user, ctx.now);
  if (cfg_.mode == Mode::kNow) {
    float total = 0;
    for (const auto& c : cats) total += std::max(0.0f, c.s);
    if (total > 0)
      for (const auto& c : cats)
        if (c.s > 0) {
          aff.emplace_back(c.id, c.s / total);
          kinds.push_back(EvidenceKind::kCategoryNow);
        }
    // Markov: where the user's interests usually go next from the current one. Describe lists the same five (less
    // the current one) as "likely next", so a "move on to C next" reason always names a listed category.
    // The current category enters only through the user's own short-term weight: when that is not positive (the
    // user just turned away from it) its self-transition does not bring it back as a "move on" reason.
    const UserState* st = interests_.Find(ctx.user);
    const int64_t current = st && st->current_cat >= 0 ? st->cats[static_cast<size_t>(st->current_cat)].id : -1;
    for (auto [c, p] : interests_.PredictNextCategory(ctx.user, 5)) {
      auto it = std::find_if(aff.begin(), aff.end(), [c = c](auto& a) { return a.first == c; });
      if (it != aff.end()) {
        it->second += cfg_.markov_weight * p;
      } else if (static_cast<int64_t>(c) != current) {
        aff.emplace_back(c, cfg_.markov_weight * p);
        kinds.push_back(EvidenceKind::kNextCategory);
      }
    }
  } else {
    for (const auto& c : cats) {
      if (c.l <= 0) continue;
      // Bayesian estimate relative to the prior: how much more than an average user this one likes c.
      float p = interests_.LikeProbability(ctx.user, c.id, ctx.now);
      float lift = p - interests_.CategoryPrior(c.id);
      if (lift <= 0) continue;
      aff.emplace_back(c.id, lift);
      kinds.push_back(EvidenceKind::kCategoryLong);
    }
  }
  bool all = ctx.limit == SIZE_MAX;
  for (size_t a = 0; a < aff.size(); ++a) {
    auto [c, w] = aff[a];
    const auto& items = pop_.RankedInCategory(c);
    if (items.empty()) continue;
    size_t n = all ? items.size() : std::min(items.size(), cfg_.per_category);
    Evidence ev{c, 0, kinds[a], 0, 0};
    for (size_t k = 0; k < n; ++k) {
      float rel = pop_.Relative(items[k], items[0]);
      out.Add(items[k], w * std::sqrt(std::max(0.0f, rel)), ev);
    }
  }
}

}  // namespace vane
