#include "vane/model/model_source.h"

#include <algorithm>
#include <cmath>

namespace vane {

ModelSource::ModelSource(const Dataset& ds, const InterestStore& interests, std::shared_ptr<const SeqModel> model,
                         size_t max_states, size_t ann_min_items,
                         std::shared_ptr<const text::SubwordTokenizer> tokenizer)
    : ds_(ds),
      interests_(interests),
      model_(std::move(model)),
      inf_(SeqInference::FromModel(*model_)),
      max_states_(std::max<size_t>(1, max_states)),
      tokenizer_(std::move(tokenizer)) {
  const SeqWeights& w = inf_.weights();
  side_ = !w.act.empty();
  for (size_t k = 1; k < ds.events.size() && !actions_; ++k) actions_ = ds.events[k].action != ds.events[0].action;
  if (w.num_items >= ann_min_items) {
    ann_ = MakeHnswIndex();
    ann_->Build(w.table.data() + w.dim, w.num_items, w.dim);  // rows 1..N (row 0 is padding)
  }
}

size_t ModelSource::cached_users() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

size_t ModelSource::MemoryBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size() * (inf_.StateBytes() + inf_.weights().max_len * sizeof(uint32_t));
}

void ModelSource::Append(Entry& en, uint32_t token, uint8_t side) const {
  size_t L = static_cast<size_t>(inf_.weights().max_len);
  if (en.items.size() < L) en.items.resize(L);
  const SeqWeights& w = inf_.weights();
  if (token >= w.num_items && token - w.num_items >= w.num_queries) {
    // A query the model has not seen: embedded from its subword pieces, when a tokenizer is at hand.
    uint32_t q = token - static_cast<uint32_t>(w.num_items);
    if (!tokenizer_ || q >= ds_.queries.size()) return;
    auto pieces = tokenizer_->Encode(ds_.queries.Name(q));
    if (!inf_.AppendQuery(en.state, pieces, side)) return;
    en.items[static_cast<size_t>(en.state.count - 1) % L] = token;
    return;
  }
  en.items[static_cast<size_t>(en.state.count) % L] = token;
  inf_.Append(en.state, token, side);
}

ModelSource::Entry& ModelSource::Get(UserIdx user) const {
  auto it = index_.find(user.v);
  if (it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return lru_.front();
  }
  if (lru_.size() >= max_states_) {
    index_.erase(lru_.back().user);
    lru_.pop_back();
  }
  lru_.push_front(Entry{user.v, {}, {}});
  index_[user.v] = lru_.begin();
  Entry& en = lru_.front();
  auto hist = interests_.Interacted(user);
  size_t n = std::min<size_t>(hist.size(), static_cast<size_t>(inf_.weights().max_len));
  for (size_t k = hist.size() - n; k < hist.size(); ++k)
    if (hist[k].v < inf_.weights().num_items) Append(en, hist[k].v, 0);  // items newer than the model are skipped
  return en;
}

void ModelSource::Observe(const Event& e, const UserState& before) {
  uint32_t token;
  if (e.item.valid()) {
    if (ds_.actions.EffectiveWeight(e.action, e.value, e.has_value) <= 0) return;
    if (e.item.v >= inf_.weights().num_items) return;  // an item newer than the model: unknown to it
    token = e.item.v;
  } else if (e.query != kNoQuery && inf_.weights().vocab > 0) {
    token = static_cast<uint32_t>(ds_.num_items()) + e.query;
  } else {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(e.user.v);
  if (it == index_.end()) return;  // not active: rebuilt from history on its next request
  uint8_t side = 0;
  if (side_) {
    int gap = ds_.has_timestamps && before.num_events > 0 ? GapBucket(static_cast<int64_t>(e.ts) - before.last_ts) : 0;
    side = PackSide(actions_ ? ActionSlot(e.action) : 0, gap);
  }
  Append(*it->second, token, side);
}

void ModelSource::Generate(const RetrievalContext& ctx, ScoreBuffer& out) const {
  auto hist = interests_.Interacted(ctx.user);
  if (hist.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  Evidence ev;
  ev.kind = EvidenceKind::kModel;
  if (ctx.limit == SIZE_MAX) {
    // Evaluation: the libtorch forward pass over the last max_len items; the serving cache is left alone.
    size_t n = std::min<size_t>(hist.size(), static_cast<size_t>(model_->config().max_len));
    hist_.clear();
    for (size_t k = hist.size() - n; k < hist.size(); ++k)
      if (hist[k].v < model_->num_items()) hist_.push_back(hist[k].v);
    if (hist_.empty()) return;
    int attended = -1;
    model_->Score(hist_, scores_, &attended);
    ev.ref = attended >= 0 ? hist_[static_cast<size_t>(attended)] : hist_.back();
  } else {
    Entry& en = Get(ctx.user);
    size_t L = static_cast<size_t>(inf_.weights().max_len);
    ev.ref = en.state.attended >= 0 ? en.items[static_cast<size_t>(en.state.attended) % L] : hist.back().v;
    if (ann_) {  // large catalogue: the index finds the best `limit` items without scoring the rest
      auto top = ann_->Search(en.state.h.data(), ctx.limit);
      float mx = top.empty() ? 0.0f : top.front().second;
      for (const auto& [i, s] : top) out.Add(ItemIdx(i), std::exp(s - mx), ev);
      return;
    }
    inf_.Score(en.state, scores_);
  }
  size_t items = std::min(scores_.size(), ds_.num_items());
  float mx = *std::max_element(scores_.begin(), scores_.begin() + static_cast<std::ptrdiff_t>(items));
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
