#include "vane/model/model_source.h"

#include "vane/model/decoder_pipeline.h"
#include "vane/text/tokenize.h"

#include "vane/model/interest_text.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>

namespace vane {

ModelSource::ModelSource(const Dataset& ds, const InterestStore& interests, std::shared_ptr<const SeqModel> model,
                         size_t max_states, size_t ann_min_items,
                         std::shared_ptr<const text::SubwordTokenizer> tokenizer, size_t max_vectors,
                         std::shared_ptr<const TextDecoder> decoder, size_t generated_slots)
    : ds_(ds),
      interests_(interests),
      model_(std::move(model)),
      inf_(SeqInference::FromModel(*model_)),
      max_states_(std::max<size_t>(1, max_states)),
      max_vectors_(max_vectors),
      tokenizer_(std::move(tokenizer)),
      decoder_(std::move(decoder)),
      generated_slots_(std::min<size_t>(generated_slots, 9)) {
  if (decoder_ && (!tokenizer_ || decoder_->in_dim != model_->config().dim)) decoder_.reset();
  if (decoder_ && generated_slots_ > 0) {
    text_only_ = model_->TextOnlyItems();
    IndexTextOnlyItems();
  }
  const SeqWeights& w = inf_.weights();
  side_ = !w.act.empty();
  for (size_t k = 1; k < ds.events.size() && !actions_; ++k) actions_ = ds.events[k].action != ds.events[0].action;
  if (!ds.events.empty()) first_action_ = ds.events[0].action;
  if (w.num_items >= ann_min_items) {
    ann_ = MakeHnswIndex();
    ann_->Build(w.table.data() + w.dim, w.num_items, w.dim);  // rows 1..N (row 0 is padding)
  }
}

namespace {
thread_local std::vector<float> tl_scores;
thread_local std::vector<uint32_t> tl_idx;
}  // namespace

void ModelSource::IndexTextOnlyItems() {
  const Catalog& cat = ds_.catalog;
  text_only_items_.clear();
  for (uint32_t i = 0; i < cat.size(); ++i)
    if (i >= text_only_.size() || text_only_[i]) text_only_items_.push_back(i);
  generated_index_.assign(cat.keyword_vocab().size(), {});
  std::vector<uint32_t> df(cat.keyword_vocab().size(), 0);
  for (uint32_t i = 0; i < cat.size(); ++i)
    for (uint32_t k : cat.keywords(ItemIdx(i))) ++df[k];
  keyword_idf_.assign(df.size(), 0.0f);
  for (size_t k = 0; k < df.size(); ++k)
    keyword_idf_[k] = static_cast<float>(std::log(1.0 + static_cast<double>(cat.size()) / (1.0 + df[k])));
  for (uint32_t i : text_only_items_)
    for (uint32_t k : cat.keywords(ItemIdx(i))) generated_index_[k].push_back(i);
}

void ModelSource::OnCatalogChanged() {
  if (decoder_ && generated_slots_ > 0) IndexTextOnlyItems();
}

void ModelSource::AddGenerated(UserIdx user, const float* h, const std::vector<float>& logits, size_t count, float mx,
                               ScoreBuffer& out) const {
  if (!decoder_ || generated_slots_ == 0 || text_only_items_.empty()) return;
  // The words the model writes, as catalogue keywords.
  std::vector<uint32_t> kws;
  for (const auto& w : text::Tokenize(PiecesToText(*tokenizer_, decoder_->Decode(h))))
    if (auto id = ds_.catalog.keyword_vocab().Find(w); id && *id < generated_index_.size()) kws.push_back(*id);
  std::sort(kws.begin(), kws.end());
  kws.erase(std::unique(kws.begin(), kws.end()), kws.end());
  if (kws.empty()) return;
  // Seen items are not recommended: neither counted among the model's best nor matched.
  thread_local std::vector<uint8_t> seen;
  seen.assign(ds_.num_items(), 0);
  for (ItemIdx i : interests_.Interacted(user))
    if (i.v < seen.size()) seen[i.v] = 1;
  // Matches: the share of the written words' idf that an item's keywords cover; the best-covered word explains it.
  thread_local std::unordered_map<uint32_t, std::pair<float, uint32_t>> match;
  match.clear();
  for (uint32_t k : kws)
    for (uint32_t i : generated_index_[k]) {
      if (seen[i]) continue;
      auto& m = match[i];
      if (m.first == 0 || keyword_idf_[k] > keyword_idf_[m.second]) m.second = k;
      m.first += keyword_idf_[k];
    }
  if (match.empty()) return;
  std::vector<std::pair<float, uint32_t>> best;
  for (const auto& [i, m] : match) best.emplace_back(m.first, i);
  size_t g = std::min(generated_slots_, best.size());
  std::partial_sort(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(g), best.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  // The model's 10 - g-th and 11 - g-th best unseen items it knows by id: the written matches go between them.
  std::vector<float> top;
  for (size_t i = 0; i < count; ++i)
    if (!seen[i] && (i >= text_only_.size() || !text_only_[i])) top.push_back(logits[i]);
  const size_t a = 10 - generated_slots_;  // rank of the last known item kept above
  if (top.size() < a + 1) return;
  std::nth_element(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(a), top.end(), std::greater<float>());
  const float below = top[a];  // the (a+1)-th best
  const float above = a > 0 ? *std::min_element(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(a)) : below + 1.0f;
  for (size_t j = 0; j < g; ++j) {
    float t = below + (above - below) * static_cast<float>(g - j) / static_cast<float>(g + 1);
    ItemIdx it(best[j].second);
    float s = std::exp(t - mx);
    if (out.Has(it) && out.Score(it) >= s) continue;
    Evidence ev{match.at(best[j].second).second, 0, EvidenceKind::kGenerated, 0, 0};
    if (out.Has(it)) out.Set(it, 0.0f);  // the written match replaces the model's own score and evidence
    out.Add(it, s, ev);
  }
}

size_t ModelSource::cached_users() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

size_t ModelSource::cached_vectors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return vec_lru_.size();
}

size_t ModelSource::MemoryBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size() * (inf_.StateBytes() + inf_.weights().max_len * sizeof(uint32_t)) +
         vec_lru_.size() * (inf_.weights().dim * sizeof(float) + sizeof(Vector) + 4 * sizeof(void*));
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

int64_t ModelSource::AttendedToken(const Entry& en) const {
  size_t L = static_cast<size_t>(inf_.weights().max_len);
  return en.state.attended >= 0 ? en.items[static_cast<size_t>(en.state.attended) % L] : -1;
}

bool ModelSource::Lookup(uint32_t user, Vector& v) const {
  if (auto it = index_.find(user); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    const Entry& en = lru_.front();
    if (en.state.h.empty()) return false;
    v.h.assign(en.state.h.begin(), en.state.h.end());
    v.ref = AttendedToken(en);
    return true;
  }
  if (auto it = vec_index_.find(user); it != vec_index_.end()) {
    vec_lru_.splice(vec_lru_.begin(), vec_lru_, it->second);
    v.h = vec_lru_.front().second.h;
    v.ref = vec_lru_.front().second.ref;
    return true;
  }
  return false;
}

ModelSource::Entry ModelSource::Build(UserIdx user) const {
  Entry en{user.v, {}, {}};
  auto hist = interests_.Interacted(user);
  const size_t L = static_cast<size_t>(inf_.weights().max_len);
  size_t n = std::min<size_t>(hist.size(), L);
  std::vector<uint32_t> tokens;
  tokens.reserve(n);
  for (size_t k = hist.size() - n; k < hist.size(); ++k)
    if (hist[k].v < inf_.weights().num_items) tokens.push_back(hist[k].v);  // items newer than the model: skipped
  // What appending them one by one gives, position-parallel (1.43x faster on ML-1M at width 128: BENCHMARKS.md).
  inf_.Prefill(en.state, tokens);
  en.items.assign(L, 0);
  std::copy(tokens.begin(), tokens.end(), en.items.begin());
  return en;
}

void ModelSource::ForgetUser(UserIdx user) {
  std::lock_guard lock(mu_);
  DropVector(user.v);
  if (auto it = index_.find(user.v); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
}

void ModelSource::DropVector(uint32_t user) const {
  if (auto it = vec_index_.find(user); it != vec_index_.end()) {
    vec_lru_.erase(it->second);
    vec_index_.erase(it);
  }
}

void ModelSource::Insert(Entry&& en) const {
  if (index_.count(en.user)) return;
  DropVector(en.user);
  if (lru_.size() >= max_states_) {
    // The evicted State leaves its hidden state behind: enough to score the user until their next event.
    Entry& old = lru_.back();
    if (!old.state.h.empty() && max_vectors_ > 0) {
      if (vec_lru_.size() >= max_vectors_) {
        vec_index_.erase(vec_lru_.back().first);
        vec_lru_.pop_back();
      }
      vec_lru_.emplace_front(old.user, Vector{std::move(old.state.h), AttendedToken(old)});
      vec_index_[old.user] = vec_lru_.begin();
    }
    index_.erase(old.user);
    lru_.pop_back();
  }
  lru_.push_front(std::move(en));
  index_[lru_.front().user] = lru_.begin();
}

bool ModelSource::Prepare(UserIdx user) const {
  auto cached = [&] { return index_.count(user.v) > 0 || vec_index_.count(user.v) > 0; };
  auto full = [&] { return lru_.size() >= max_states_ && vec_lru_.size() >= max_vectors_; };
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached()) return true;
    if (full()) return false;
  }
  Entry en = Build(user);  // outside the lock, as a request's
  if (en.state.h.empty()) return true;  // no history the model knows
  std::lock_guard<std::mutex> lock(mu_);
  if (cached()) return true;  // a request got there first
  if (lru_.size() < max_states_) {
    lru_.push_back(std::move(en));
    index_[user.v] = std::prev(lru_.end());
  } else if (vec_lru_.size() < max_vectors_) {
    int64_t ref = AttendedToken(en);
    vec_lru_.emplace_back(user.v, Vector{std::move(en.state.h), ref});
    vec_index_[user.v] = std::prev(vec_lru_.end());
  } else {
    return false;
  }
  return true;
}

void ModelSource::Observe(const Event& e, const UserState& before) {
  if (!actions_) {
    if (first_action_ < 0) first_action_ = e.action;
    else actions_ = e.action != first_action_;
  }
  uint32_t token;
  if (e.item.valid()) {
    if (!ds_.IsPositiveItemEvent(e)) return;
    if (e.item.v >= inf_.weights().num_items) return;  // an item newer than the model: unknown to it
    token = e.item.v;
  } else if (e.query != kNoQuery && inf_.weights().vocab > 0) {
    token = static_cast<uint32_t>(ds_.num_items()) + e.query;
  } else {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(e.user.v);
  if (it == index_.end()) {
    DropVector(e.user.v);  // not active: a saved vector no longer describes the user (rebuilt on their next request)
    return;
  }
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
  Evidence ev;
  ev.kind = EvidenceKind::kModel;
  std::vector<float>& scores = tl_scores;
  if (ctx.limit == SIZE_MAX) {
    // Evaluation: the libtorch forward pass over the last max_len items; the serving caches are left alone.
    std::lock_guard<std::mutex> lock(eval_mu_);
    size_t n = std::min<size_t>(hist.size(), static_cast<size_t>(model_->config().max_len));
    std::vector<uint32_t> items;
    for (size_t k = hist.size() - n; k < hist.size(); ++k)
      if (hist[k].v < model_->num_items()) items.push_back(hist[k].v);
    if (items.empty()) return;
    int attended = -1;
    model_->Score(items, scores, &attended);
    ev.ref = attended >= 0 ? items[static_cast<size_t>(attended)] : items.back();
    size_t count = std::min(scores.size(), ds_.num_items());
    float mx = *std::max_element(scores.begin(), scores.begin() + static_cast<std::ptrdiff_t>(count));
    for (size_t i = 0; i < count; ++i) out.Add(ItemIdx(static_cast<uint32_t>(i)), std::exp(scores[i] - mx), ev);
    if (decoder_ && !text_only_items_.empty()) {
      std::vector<float> h = model_->Hidden(SeqInput{items, {}});
      AddGenerated(ctx.user, h.data() + h.size() - static_cast<size_t>(model_->config().dim), scores, count, mx, out);
    }
    return;
  }
  thread_local Vector v;
  bool found;
  {
    std::lock_guard<std::mutex> lock(mu_);
    found = Lookup(ctx.user.v, v);
  }
  if (!found) {
    Entry en = Build(ctx.user);  // outside the lock: other users' requests go on meanwhile
    if (en.state.h.empty()) return;
    v.h.assign(en.state.h.begin(), en.state.h.end());
    v.ref = AttendedToken(en);
    std::lock_guard<std::mutex> lock(mu_);
    Insert(std::move(en));
  }
  ev.ref = v.ref >= 0 ? static_cast<uint32_t>(v.ref) : hist.back().v;
  if (ann_) {  // large catalogue: the index finds the best `limit` items without scoring the rest
    auto top = ann_->Search(v.h.data(), ctx.limit);
    float mx = top.empty() ? 0.0f : top.front().second;
    for (const auto& [i, s] : top) out.Add(ItemIdx(i), std::exp(s - mx), ev);
    return;
  }
  inf_.Score(v.h.data(), scores);
  // Only the best `limit` items enter the blend.
  size_t count = std::min(scores.size(), ds_.num_items());
  std::vector<uint32_t>& idx = tl_idx;
  idx.resize(count);
  for (uint32_t i = 0; i < count; ++i) idx[i] = i;
  size_t k = std::min(ctx.limit, count);
  auto better = [&](uint32_t a, uint32_t b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); };
  std::nth_element(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), better);
  if (k == 0) return;
  float mx = scores[*std::min_element(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), better)];
  for (size_t j = 0; j < k; ++j) out.Add(ItemIdx(idx[j]), std::exp(scores[idx[j]] - mx), ev);
  AddGenerated(ctx.user, v.h.data(), scores, count, mx, out);
}

float ModelSource::Confidence(UserIdx user) const {
  if (inf_.weights().num_categories == 0 || interests_.Interacted(user).empty()) return 0.0f;
  thread_local Vector v;
  bool found;
  {
    std::lock_guard<std::mutex> lock(mu_);
    found = Lookup(user.v, v);
  }
  if (!found) {
    Entry en = Build(user);
    if (en.state.h.empty()) return 0.0f;
    v.h.assign(en.state.h.begin(), en.state.h.end());
    v.ref = AttendedToken(en);
    std::lock_guard<std::mutex> lock(mu_);
    Insert(std::move(en));
  }
  thread_local std::vector<float> dist;
  inf_.Interest(v.h.data(), dist);
  return dist.empty() ? 0.0f : *std::max_element(dist.begin(), dist.end());
}

std::optional<SourceView> ModelSource::DescribeUser(UserIdx user) const {
  Entry en = Build(user);
  if (en.state.h.empty()) return std::nullopt;
  std::vector<float> dist, kw;
  inf_.Interest(en.state, dist);
  if (dist.empty() && !decoder_) return std::nullopt;
  ModelInterest mi = dist.empty() ? ModelInterest{} : DescribeModelInterest(dist, ds_.catalog);
  inf_.Keywords(en.state, kw);
  if (!kw.empty()) AddModelKeywords(mi, kw, model_->keyword_names());
  SourceView v;
  v.interests = mi.top;
  std::vector<std::pair<float, size_t>> order;
  for (size_t k = 0; k < kw.size(); ++k) order.emplace_back(kw[k], k);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(5, order.size())),
                    order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; k < order.size() && k < 5; ++k)
    v.keywords.emplace_back(model_->keyword_names()[order[k].second], order[k].first);
  v.text_en = std::move(mi.text_en);
  v.text_zh = std::move(mi.text_zh);
  if (decoder_) {
    std::vector<int> ids = decoder_->Decode(en.state.h.data());
    v.generated = PiecesToText(*tokenizer_, ids);
    v.generated_words = text::Tokenize(v.generated);
  }
  return v;
}

}  // namespace vane
