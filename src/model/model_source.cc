#include "vane/model/model_source.h"

#include <algorithm>
#include <cmath>

namespace vane {

ModelSource::ModelSource(const Dataset& ds, const InterestStore& interests, std::shared_ptr<const SeqModel> model)
    : ds_(ds), interests_(interests), model_(std::move(model)) {}

void ModelSource::Generate(const RetrievalContext& ctx, ScoreBuffer& out) const {
  auto hist = interests_.Interacted(ctx.user);
  if (hist.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = std::min<size_t>(hist.size(), static_cast<size_t>(model_->config().max_len));
  hist_.resize(n);
  for (size_t k = 0; k < n; ++k) hist_[k] = hist[hist.size() - n + k].v;
  int attended = -1;
  model_->Score(hist_, scores_, &attended);
  size_t items = std::min(scores_.size(), ds_.num_items());
  float mx = *std::max_element(scores_.begin(), scores_.begin() + static_cast<std::ptrdiff_t>(items));
  Evidence ev;
  ev.kind = EvidenceKind::kModel;
  ev.ref = attended >= 0 ? hist_[static_cast<size_t>(attended)] : hist_.back();
  if (ctx.limit == SIZE_MAX) {
    for (size_t i = 0; i < items; ++i) out.Add(ItemIdx(static_cast<uint32_t>(i)), std::exp(scores_[i] - mx), ev);
    return;
  }
  // Serving: only the best `limit` items enter the blend.
  std::vector<uint32_t> idx(items);
  for (uint32_t i = 0; i < idx.size(); ++i) idx[i] = i;
  size_t k = std::min(ctx.limit, idx.size());
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                    [&](uint32_t a, uint32_t b) { return scores_[a] > scores_[b]; });
  for (size_t j = 0; j < k; ++j) out.Add(ItemIdx(idx[j]), std::exp(scores_[idx[j]] - mx), ev);
}

}  // namespace vane
