// The interest-text decoder: writes, in the data's own words (vane's subword vocabulary, English or Chinese), what
// the user does next: the words of the next item's categories, keywords and title, or of the next search's query.
//
// A small GRU language model conditioned on the behaviour transformer's final hidden state u of the user's newest
// event (the same vector the model scores items with, kept by the incremental state):
//   h0 = tanh(W_init u + b_init);  x_t = [embed(y_{t-1}); u];  h_t = GRU(x_t, h_{t-1});  p(y_t) = softmax(W_out h_t)
// Its classes are the subword pieces that occur in the training targets plus an end mark; y_0 is a start mark.
// Trained with teacher forcing on (hidden state, next event's text) pairs of the training sequences, the
// transformer frozen (so the next-item accuracy of the model does not change). Decoding is greedy, bounded in
// length, and never repeats a word-initial piece (so no word is written twice).
//
// Inference is plain C++ over the exported arrays (torch's GRU gate order r, z, n); training uses libtorch.
// Decode is const and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vane/core/status.h"

namespace vane {

struct TextDecoderConfig {
  int hidden = 128;         // GRU width
  int emb = 64;             // piece embedding width
  int max_target = 16;      // pieces per training target (then the end mark)
  int epochs = 8;
  int batch = 256;
  float lr = 3e-3f;
  float clip = 1.0f;
  float val_share = 0.05f;  // pairs held out for early stopping on their loss
  int patience = 2;         // epochs without a lower held-out loss before stopping
  int threads = 2;
  uint64_t seed = 42;
};

struct DecodeOptions {
  int max_pieces = 12;  // length bound (the end mark may stop it earlier)
};

struct DecoderEpoch {
  int epoch = 0;
  double train_loss = 0, val_loss = 0, seconds = 0;
};

class TextDecoder {
 public:
  // Subword ids (the tokenizer's) of the decoder's classes; class pieces.size() is the end mark. `word_start[c]`:
  // class c begins a word.
  std::vector<int> pieces;
  std::vector<uint8_t> word_start;
  int in_dim = 0, hidden = 0, emb = 0;
  // Row-major, torch's (out, in) layout.
  std::vector<float> emb_w;           // (classes + 1) x emb; the last row is the start mark
  std::vector<float> init_w, init_b;  // hidden x in_dim, hidden
  std::vector<float> w_ih, b_ih;      // 3 hidden x (emb + in_dim), 3 hidden (gates r, z, n)
  std::vector<float> w_hh, b_hh;      // 3 hidden x hidden, 3 hidden
  std::vector<float> out_w, out_b;    // classes x hidden, classes

  size_t classes() const { return pieces.size() + 1; }
  int end_class() const { return static_cast<int>(pieces.size()); }

  // Greedy decoding from the user's hidden state `u` (in_dim floats). Returns subword ids (no end mark).
  std::vector<int> Decode(const float* u, const DecodeOptions& opt = {}) const;
  // Log-probability of each step of `classes` (then the end mark) given `u`, teacher-forced: one value per class
  // plus one for the end mark. For tests and scoring.
  std::vector<float> LogProbs(const float* u, std::span<const int> classes) const;
  // Checks every array against the sizes; a loaded file must pass it.
  Status Validate() const;

  Status Save(const std::string& path) const;  // atomic (temporary file, then rename)
  static Result<TextDecoder> Load(const std::string& path);

 private:
  // One GRU step from input class `prev` (the start mark = classes()) with the user part of the input gates
  // precomputed (`ux`: 3 hidden floats); updates `h` and writes the logits over the classes.
  void Step(int prev, const float* ux, std::vector<float>& h, std::vector<float>& logits) const;
  void UserGates(const float* u, std::vector<float>& ux, std::vector<float>& h0) const;
};

// Trains a decoder on pairs (u_k, targets_k): `u` holds n x in_dim floats, `targets[k]` the subword ids of the text
// to write after state k (cut to cfg.max_target). `word_start[p]` (per subword id): piece p begins a word. A line
// per epoch on stderr when `progress`.
Result<TextDecoder> TrainTextDecoder(std::span<const float> u, int in_dim, const std::vector<std::vector<int>>& targets,
                                     const std::vector<uint8_t>& word_start, const TextDecoderConfig& cfg,
                                     std::vector<DecoderEpoch>* log, bool progress);

}  // namespace vane
