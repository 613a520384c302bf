#include <algorithm>
#include <cmath>

#include "vane/retrieve/sources.h"

namespace vane {

ContentSource::ContentSource(const Dataset& ds, const InterestStore& interests, Config cfg)
    : ds_(ds), interests_(interests), cfg_(cfg) {
  OnCatalogChanged();
}

void ContentSource::OnCatalogChanged() {
  const Catalog& cat = ds_.catalog;
  size_t nk = cat.keyword_vocab().size();
  postings_.assign(nk, {});
  for (uint32_t i = 0; i < cat.size(); ++i)
    for (uint32_t k : cat.keywords(ItemIdx(i))) postings_[k].push_back(i);
  idf_.assign(nk, 0);
  auto n = static_cast<double>(std::max<size_t>(1, cat.size()));
  for (size_t k = 0; k < nk; ++k) {
    double df = static_cast<double>(postings_[k].size());
    // Keywords on too many items carry no information and cost the most to score: skip them.
    if (df == 0 || df > std::max(cfg_.max_df_share * n, 100.0)) continue;
    idf_[k] = static_cast<float>(std::log(1.0 + n / df));
  }
  // Length normalisation (as in BM25's document-length term, simplified): items with many keywords do not win
  // merely by matching more of them.
  item_norm_.assign(cat.size(), 1.0f);
  for (uint32_t i = 0; i < cat.size(); ++i)
    item_norm_[i] = 1.0f / std::sqrt(1.0f + static_cast<float>(cat.keywords(ItemIdx(i)).size()) / 8.0f);
}

void ContentSource::ScoreKeywords(const std::vector<uint32_t>& kws, float w, const Evidence& ev,
                                  ScoreBuffer& out) const {
  for (uint32_t k : kws) {
    if (k >= idf_.size() || idf_[k] == 0) continue;
    float s = w * idf_[k];
    for (uint32_t i : postings_[k]) out.Add(ItemIdx(i), s * item_norm_[i], ev);
  }
}

void ContentSource::Generate(const RetrievalContext& ctx, ScoreBuffer& out) const {
  if (!ctx.state) return;
  const UserState& st = *ctx.state;
  // Recent searches: the most explicit statement of intent there is.
  int used = 0;
  float rw = 1.0f;
  for (int k = 0; k < st.num_recent && used < cfg_.recent_searches; ++k) {
    const RecentEvent& r = st.Recent(k);
    if (!r.is_query || r.ref >= ds_.query_keywords.size()) continue;
    ++used;
    // Searches older than the short half-life fade like the short-term interest graph.
    double age = ctx.now > r.ts ? static_cast<double>(ctx.now - r.ts) : 0.0;
    auto tw = static_cast<float>(std::exp2(-age / interests_.config().short_half_life_s));
    Evidence ev{r.ref, r.ts, EvidenceKind::kSearched, r.action, 0};
    ScoreKeywords(ds_.query_keywords[r.ref], cfg_.search_weight * rw * tw, ev, out);
    rw *= 0.7f;
  }
  // Keyword interests (from item text and searches), short-term weights.
  if (cfg_.profile_weight > 0) {
    auto kws = interests_.Keywords(ctx.user, ctx.now);
    float total = 0;
    for (const auto& k : kws) total += std::max(0.0f, k.s);
    if (total > 0) {
      for (const auto& k : kws) {
        if (k.s <= 0) continue;
        Evidence ev{k.id, 0, EvidenceKind::kKeyword, 0, 0};
        ScoreKeywords({k.id}, cfg_.profile_weight * k.s / total, ev, out);
      }
    }
  }
}

std::vector<std::pair<ItemIdx, float>> ContentSource::Search(std::string_view query, size_t k) const {
  std::vector<uint32_t> kws;
  for (const auto& tok : text::Tokenize(query)) {
    if (auto id = ds_.catalog.keyword_vocab().Find(tok)) kws.push_back(*id);
  }
  ScoreBuffer buf;
  buf.Reset(ds_.num_items());
  ScoreKeywords(kws, 1.0f, Evidence{}, buf);
  std::vector<std::pair<ItemIdx, float>> out;
  TopK(buf, k, out);
  return out;
}

size_t ContentSource::MemoryBytes() const {
  size_t b = idf_.capacity() * sizeof(float) + item_norm_.capacity() * sizeof(float);
  for (const auto& p : postings_) b += p.capacity() * sizeof(uint32_t) + sizeof(p);
  return b;
}

}  // namespace vane
