// Incremental inference of the sequence model in plain C++ (no libtorch on the serving path).
//
// SeqInference holds the trained weights as float arrays. A user's State caches, per layer, the keys and values of
// their last max_len events; appending one event computes only the new position (cost O(layers · max_len · C)
// instead of a full forward pass), which rotary positions make possible: attention depends only on distances, so
// cached keys stay valid as new events arrive. For sequences of at most max_len events the result equals the
// libtorch forward pass exactly (up to float rounding; tested). Beyond max_len the oldest entries leave the cache but
// the kept keys were computed with the context they had then (a streaming approximation; documented in
// docs/model.md). Const methods are thread-safe; a State belongs to one caller at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vane/model/seq_model.h"

namespace vane {

class SeqInference {
 public:
  struct State {
    int64_t count = 0;           // events appended so far (absolute position of the next one)
    std::vector<float> k, v;     // [layer][slot][C], ring over max_len slots
    std::vector<float> h;        // final hidden state of the newest event (C); empty before the first event
    int64_t attended = -1;       // absolute position the newest event attended to most (last layer, heads averaged)
  };

  static SeqInference FromModel(const SeqModel& model);

  // Adds one event to the state: a token as in SeqSplit (an item index, or num_items + query id for a training
  // query) with its side byte (PackSide; 0 = unknown).
  void Append(State& st, uint32_t token, uint8_t side = 0) const;
  // The same as appending each of `tokens` (items of the model, side 0) in turn to an empty state, with the same
  // result bit for bit, computed position-parallel: each weight row serves a block of positions while it is in
  // cache, and the last layer's feed-forward runs for the newest position only (the only one read later).
  // REQUIRES: st is empty; tokens.size() <= max_len; every token < num_items.
  void Prefill(State& st, std::span<const uint32_t> tokens) const;
  // Adds a search for a query given by its subword ids (any query, also one not seen in training). Without text
  // (no subword table) the search is ignored and false is returned.
  bool AppendQuery(State& st, std::span<const int> pieces, uint8_t side = 0) const;
  // The keyword head's distribution (softmax over SeqModel::keyword_names()); empty without the head.
  void Keywords(const State& st, std::vector<float>& out) const;
  // out[i] = score of item i as the next one (the model's logits). REQUIRES: at least one event appended.
  void Score(const State& st, std::vector<float>& out) const { Score(st.h.data(), out); }
  // The same from a saved final hidden state `h` (dim floats): a user's scores need nothing else of the State.
  void Score(const float* h, std::vector<float>& out) const;
  // P(next interest = c) from the interest head (softmax over categories); empty without the head.
  void Interest(const State& st, std::vector<float>& out) const;
  // The same from a saved final hidden state `h` (dim floats).
  void Interest(const float* h, std::vector<float>& out) const;
  // Bytes of one user's State once it holds max_len events.
  size_t StateBytes() const;
  const SeqWeights& weights() const { return w_; }

 private:
  // Adds one position whose input vector (before scaling) is `e`.
  void AppendVector(State& st, const float* e, uint8_t side) const;
  SeqWeights w_;
  std::vector<double> inv_freq_;
};

}  // namespace vane
