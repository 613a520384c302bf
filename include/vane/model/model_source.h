// The sequence model as a candidate source of the blend (slot kSrcModel): scores every item as the user's next one.
//
// Serving path, two bounded LRU caches:
// - states: each active user's incremental inference State (model/infer.h: per-layer keys and values of their last
//   max_len events, ~200 KiB at width 64 and length 200), at most `max_states`; every event of a cached user is
//   appended at once (Observe, read-your-writes);
// - vectors: the final hidden state alone (dim floats, 256 B at width 64) of users whose State was evicted, at most
//   `max_vectors`. Scoring needs nothing more, so a returning user with no new event costs one dot product per item.
//   A new event for such a user drops their vector (it is stale): the next request rebuilds the State from history.
// A request scores the catalogue from the saved vector outside the cache lock (thread-local buffers), so requests
// of different users run in parallel; a State is rebuilt from history outside the lock as well.
// Searches enter the state as positions too (a training query by its learnt vector, a new one through the subword
// tokenizer when one is given), and each event carries its action and the time since the user's previous event.
// A user rebuilt from history gets their items only (actions and gaps unknown: the model is trained to expect that).
// Evaluation path (unbounded limit) uses the libtorch forward pass over the last max_len items, without touching
// the cache. Scores are softmax probabilities (non-negative, as the blend expects). Explanations point at the
// history item the newest position attended to most.
// Observe needs exclusive access (as every source's); Generate is const and thread-safe.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "vane/model/infer.h"
#include "vane/model/seq_model.h"
#include "vane/model/text_decoder.h"
#include "vane/retrieve/ann.h"
#include "vane/retrieve/source.h"
#include "vane/text/subword.h"

namespace vane {

class ModelSource final : public CandidateSource {
 public:
  // Catalogues of at least `ann_min_items` items are served through an HNSW index over the item vectors
  // (retrieve/ann.h) instead of scoring every item.
  ModelSource(const Dataset& ds, const InterestStore& interests, std::shared_ptr<const SeqModel> model,
              size_t max_states = 1000, size_t ann_min_items = 50000,
              std::shared_ptr<const text::SubwordTokenizer> tokenizer = nullptr, size_t max_vectors = 100000,
              std::shared_ptr<const TextDecoder> decoder = nullptr, size_t generated_slots = 1);
  std::string_view name() const override { return "model"; }
  void Observe(const Event& e, const UserState& before) override;
  void OnCatalogChanged() override;  // indexes the items added since, for generative retrieval
  void Generate(const RetrievalContext& ctx, ScoreBuffer& out) const override;
  size_t MemoryBytes() const override;
  // What the model says the user wants next: its interest head (categories with probabilities), keyword head and
  // text (model/interest_text.h), and what its text decoder writes (with a decoder and a tokenizer). Rebuilds the
  // user's state from history (no cache use); nullopt without history, or with neither an interest head nor a
  // decoder.
  std::optional<SourceView> DescribeUser(UserIdx user) const override;
  void ForgetUser(UserIdx user) override;  // drops the user's State and saved vector
  // The interest head's top probability for the user's next interest (0 without the head or history); uses and
  // fills the serving caches like a request.
  float Confidence(UserIdx user) const override;
  // Builds the user's State from history unless either cache has them: kept as a full State while fewer than
  // max_states are cached, else as a vector while fewer than max_vectors are, behind (older than) every user a
  // request brought in. False once both caches are full.
  bool Prepare(UserIdx user) const override;
  size_t cached_users() const;    // users with a full State
  size_t cached_vectors() const;  // users with a saved vector only

 private:
  struct Entry {
    uint32_t user;
    SeqInference::State state;
    std::vector<uint32_t> items;  // ring of the tokens in the state's slots (num_items + query id for a search)
  };
  struct Vector {
    std::vector<float> h;
    int64_t ref = -1;  // the token the newest position attended to most (-1: unknown)
  };
  // Copies `user`'s hidden state and attended token into `v`, from either cache. Caller holds mu_.
  bool Lookup(uint32_t user, Vector& v) const;
  // Builds `user`'s State from their history (no lock needed: history is stable while requests run).
  Entry Build(UserIdx user) const;
  // Inserts a built State (a concurrent request may have inserted it first: then it is kept). Caller holds mu_.
  void Insert(Entry&& en) const;
  void DropVector(uint32_t user) const;  // forgets the user's saved vector, if any. Caller holds mu_.
  void Append(Entry& en, uint32_t token, uint8_t side) const;
  int64_t AttendedToken(const Entry& en) const;
  // Generative retrieval (with a decoder): the text the model writes from hidden state `h` is a query into an index
  // of the items the model knows by text alone (no training event, or added since it was trained). The best
  // `generated_slots_` matches enter just above the user's 10th-best unseen item the model knows, i.e. at ranks
  // 10 - slots + 1 .. 10 of its list. `logits`: the model's scores of its items (a ScoreBuffer position holds
  // exp(logit - mx)).
  void AddGenerated(UserIdx user, const float* h, const std::vector<float>& logits, size_t count, float mx,
                    ScoreBuffer& out) const;
  void IndexTextOnlyItems();

  const Dataset& ds_;
  const InterestStore& interests_;
  std::shared_ptr<const SeqModel> model_;
  SeqInference inf_;
  size_t max_states_;
  size_t max_vectors_;
  std::unique_ptr<VectorIndex> ann_;
  std::shared_ptr<const text::SubwordTokenizer> tokenizer_;
  std::shared_ptr<const TextDecoder> decoder_;
  size_t generated_slots_ = 1;
  std::vector<uint8_t> text_only_;                      // per item the model was trained on
  std::vector<uint32_t> text_only_items_;               // those items and every item added since
  std::vector<std::vector<uint32_t>> generated_index_;  // keyword id -> text-only items that have it
  std::vector<float> keyword_idf_;
  bool side_ = false;     // the model reads actions and gaps
  bool actions_ = false;  // the data has more than one action (else the action slot stays unknown, as in training);
                          // also learnt from observed events (a replay builds the source before any event)
  int first_action_ = -1;
  mutable std::mutex mu_;
  mutable std::list<Entry> lru_;  // most recent first
  mutable std::unordered_map<uint32_t, std::list<Entry>::iterator> index_;
  mutable std::list<std::pair<uint32_t, Vector>> vec_lru_;  // most recent first
  mutable std::unordered_map<uint32_t, std::list<std::pair<uint32_t, Vector>>::iterator> vec_index_;
  mutable std::mutex eval_mu_;  // the libtorch evaluation path
};

}  // namespace vane
