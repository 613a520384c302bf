// The sequence model as a candidate source of the blend (slot kSrcModel): scores every item as the user's next one.
//
// Serving path: each active user has an incremental inference State (model/infer.h: per-layer keys and values of
// their last max_len events) kept in an LRU cache bounded by `max_states`; every event of a cached user is appended
// at once (Observe, read-your-writes), and a request scores the catalogue from the cached state (one dot product
// per item). A user not in the cache is rebuilt from their history on their next bounded request.
// Evaluation path (unbounded limit) uses the libtorch forward pass over the last max_len items, without touching
// the cache. Scores are softmax probabilities (non-negative, as the blend expects). Explanations point at the
// history item the newest position attended to most.
// Observe needs exclusive access (as every source's); Generate is const and serialised by an internal mutex.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "vane/model/infer.h"
#include "vane/model/seq_model.h"
#include "vane/retrieve/ann.h"
#include "vane/retrieve/source.h"

namespace vane {

class ModelSource final : public CandidateSource {
 public:
  // Catalogues of at least `ann_min_items` items are served through an HNSW index over the item vectors
  // (retrieve/ann.h) instead of scoring every item.
  ModelSource(const Dataset& ds, const InterestStore& interests, std::shared_ptr<const SeqModel> model,
              size_t max_states = 1000, size_t ann_min_items = 50000);
  std::string_view name() const override { return "model"; }
  void Observe(const Event& e, const UserState& before) override;
  void Generate(const RetrievalContext& ctx, ScoreBuffer& out) const override;
  size_t MemoryBytes() const override;
  size_t cached_users() const;

 private:
  struct Entry {
    uint32_t user;
    SeqInference::State state;
    std::vector<uint32_t> items;  // ring of the items in the state's slots
  };
  // Returns the cached entry of `user`, building it from history when absent. Caller holds mu_.
  Entry& Get(UserIdx user) const;
  void Append(Entry& en, uint32_t item) const;

  const Dataset& ds_;
  const InterestStore& interests_;
  std::shared_ptr<const SeqModel> model_;
  SeqInference inf_;
  size_t max_states_;
  std::unique_ptr<VectorIndex> ann_;
  mutable std::mutex mu_;
  mutable std::list<Entry> lru_;  // most recent first
  mutable std::unordered_map<uint32_t, std::list<Entry>::iterator> index_;
  mutable std::vector<float> scores_;
  mutable std::vector<uint32_t> hist_;
};

}  // namespace vane
