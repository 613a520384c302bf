// The behaviour sequence model: a causal (SASRec-style, pre-norm) transformer over a user's item sequence,
// trained with full-softmax cross-entropy over the catalogue at every position, scored against the item
// embeddings (tied input/output). This is the first cut of the behaviour language model (issue: action, time-gap and
// text embeddings, sampled softmax, per-event KV caching and the blend come next).
//
// libtorch is included only in src/model/*.cc: this header exposes plain C++ types. Train/Load construct; Score is
// const but not thread-safe (libtorch modules keep internal state); use one model per thread.
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/dataset.h"

namespace vane {

struct SeqModelConfig {
  int dim = 64;
  int layers = 2;
  int heads = 2;
  int max_len = 200;
  float dropout = 0.2f;
  int epochs = 20;
  int batch = 128;
  float lr = 1e-3f;
  float weight_decay = 0.0f;
  int warmup_steps = 100;
  float clip = 1.0f;
  float interest_weight = 0.2f;  // weight of the interest head's cross-entropy in the loss
  int patience = 5;        // epochs without validation NDCG@10 gain before stopping
  int eval_users = 2000;   // validation users evaluated per epoch (seeded sample; 0 = all)
  int threads = 2;
  uint64_t seed = 42;
  bool profile = false;    // print where each epoch's time goes
  int negatives = 0;       // 0: full softmax over the catalogue; K > 0: sampled softmax with K shared negatives
  std::string checkpoint_dir;  // "" = none; else a checkpoint is written after every epoch
  bool resume = false;         // continue from checkpoint_dir when it holds one
  int stop_after_epoch = 0;    // > 0: stop after this epoch as if interrupted (the schedule still plans `epochs`)
};

// Per-user item sequences split leave-one-out, consistent with eval/evaluator: items are ItemIdx values.
struct SeqSplit {
  std::vector<std::vector<uint32_t>> train;  // all but the last two
  std::vector<uint32_t> val_target, test_target;  // UINT32_MAX when the user has fewer than 3 items
};
SeqSplit MakeSeqSplit(const Dataset& ds);

// Item text for the model: per item (index = ItemIdx) its subword ids (text::SubwordTokenizer), and the vocabulary
// size. With text, an item's vector is its id embedding plus the mean of its subword embeddings.
struct ItemText {
  std::vector<std::vector<int>> pieces;
  int vocab_size = 0;
};

// Item categories for the interest head: per item its main category id (-1: none) and the number of categories.
// With them the model also learns P(next interest | history), a softmax over categories (the interest head).
struct ItemCategories {
  std::vector<int32_t> main;
  int num_categories = 0;
};

struct EpochLog {
  int epoch = 0;
  double loss = 0, val_ndcg10 = 0, val_hr10 = 0, seconds = 0, tokens_per_s = 0, lr = 0;
  std::array<double, 5> profile{};  // seconds: batch assembly, trunk forward, head forward, backward, update
};

// Checks against independent references, for tests. CheckGradients compares autograd gradients of the training
// loss with central finite differences at `samples` random parameters of a freshly initialised model in double
// precision (dropout off). CheckCausality verifies that changing the newest event changes only the newest position's
// output.
struct GradientCheckResult {
  double loss = 0, max_rel_error = 0;
  int checked = 0;
};
Result<GradientCheckResult> CheckGradients(const SeqSplit& split, size_t num_items, const SeqModelConfig& cfg,
                                           int samples);
Result<bool> CheckCausality(size_t num_items, const SeqModelConfig& cfg);

// The trained weights as plain arrays (row-major, torch's (out, in) layout for linear layers), for inference
// without libtorch (model/infer.h). `table` already includes the text part: (num_items + 1) x dim, row 0 = padding.
struct SeqWeights {
  int dim = 0, layers = 0, heads = 0, max_len = 0;
  size_t num_items = 0;
  std::vector<float> table;
  struct Layer {
    std::vector<float> ln1_g, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_g, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b;
  };
  std::vector<Layer> blocks;
  std::vector<float> lnf_g, lnf_b;
  std::vector<float> interest_w, interest_b;  // (num_categories x dim), empty without the interest head
  int num_categories = 0;
};

class SeqModel {
 public:
  ~SeqModel();
  SeqModel(SeqModel&&) noexcept;
  SeqModel& operator=(SeqModel&&) noexcept;

  // Trains on split.train; selects the epoch with the best validation NDCG@10 (early stopping); logs one line per
  // epoch to stderr when `progress`. Curves are returned in `log`.
  static Result<SeqModel> Train(const SeqSplit& split, size_t num_items, const SeqModelConfig& cfg,
                                std::vector<EpochLog>* log, bool progress, const ItemText* text = nullptr,
                                const ItemCategories* cats = nullptr);
  bool has_text() const;
  int num_categories() const;
  // P(next interest = c | history) from the interest head. Empty when trained without categories.
  std::vector<float> PredictInterest(std::span<const uint32_t> history) const;
  SeqWeights Export() const;
  static Result<SeqModel> Load(const std::string& dir);
  Status Save(const std::string& dir) const;

  // Scores every item (index = ItemIdx) as the next item after `history` (oldest first; the last max_len used).
  // With `attended`, also returns the history position (index into `history`) the last position attended to most,
  // averaged over the heads of the last layer (the model's own account of which event drove the prediction).
  void Score(std::span<const uint32_t> history, std::vector<float>& out, int* attended = nullptr) const;
  const SeqModelConfig& config() const;
  size_t num_items() const;

 private:
  struct Impl;
  explicit SeqModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vane
