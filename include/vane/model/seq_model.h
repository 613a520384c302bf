// The behaviour sequence model: a causal (pre-norm) transformer over a user's event sequence. One event is one
// position: an item event (its id embedding plus the mean of its text's subword embeddings) or a search (the mean of
// the query's subword embeddings), plus embeddings of the action and of the time since the previous event. Heads:
// next item (full or sampled softmax, scored against the item table, so an item with text and no interactions can
// still be recommended), next interest (main category) and keywords of the next item.
//
// libtorch is included only in src/model/*.cc: this header exposes plain C++ types. Train/Load construct; Score is
// const but not thread-safe (libtorch modules keep internal state); use one model per thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
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
  int patience = 5;        // epochs without a new high of the smoothed validation NDCG@10 before stopping
  int smooth_epochs = 3;   // the stop decision reads the mean of the last this-many epochs (1 = the raw curve)
  int eval_users = 2000;   // validation users evaluated per epoch (seeded sample; 0 = all)
  int threads = 2;
  uint64_t seed = 42;
  bool profile = false;    // print where each epoch's time goes
  // Forward passes of training in bfloat16 (CPU autocast: matrix products through oneDNN, which uses AMX/AVX-512
  // BF16 where the CPU has them); weights, gradients, the optimiser and validation stay float32.
  bool bf16 = false;
  int negatives = 0;       // 0: full softmax over the catalogue; K > 0: sampled softmax with K shared negatives
  float keyword_weight = 0.1f;  // weight of the keyword head's loss (when keywords are given)
  float side_dropout = 0.1f;    // share of positions trained with unknown action/gap (serving may not know them)
  float id_dropout = 0.0f;      // share of items per batch seen through their text alone (cold-start training)
  std::string checkpoint_dir;  // "" = none; else a checkpoint is written after every epoch
  bool resume = false;         // continue from checkpoint_dir when it holds one
  int stop_after_epoch = 0;    // > 0: stop after this epoch as if interrupted (the schedule still plans `epochs`)
};

// What the model knows of an event besides its item or query: the action and the time since the user's previous
// event, packed in one byte (action slot << 4 | gap bucket). 0 = unknown (benchmark files without actions or times).
constexpr int kSideSlots = 16;
// Action slot: 0 unknown, else action id + 1 (ids beyond 14 share slot 15).
inline uint8_t PackSide(int action_slot, int gap_bucket) {
  return static_cast<uint8_t>(((action_slot & 15) << 4) | (gap_bucket & 15));
}
inline int ActionSlot(uint32_t action_id) { return static_cast<int>(std::min<uint32_t>(action_id + 1, 15)); }
// Gap bucket of `seconds` since the previous event: 1 (< 10 s), 2 (< 1 min), 3 (< 10 min), 4 (< 1 h), 5 (< 6 h),
// 6 (< 1 day), 7 (< 1 week), 8 (< 30 days), 9 (longer); 0 when unknown (first event, no timestamps).
int GapBucket(int64_t seconds);

// Per-user event sequences split leave-one-out on item events, consistent with eval/evaluator. A token is an item
// index, or num_items + query id for a search (when searches are included). The last two item events are the
// validation and test targets; `train` holds every token before the validation item.
struct SeqSplit {
  std::vector<std::vector<uint32_t>> train;
  std::vector<std::vector<uint8_t>> side;         // PackSide per train token; empty (or short) = unknown
  std::vector<uint32_t> val_target, test_target;  // UINT32_MAX when the user has fewer than 3 items
  std::vector<uint8_t> val_side;                  // side of the validation event (input of the test history)
  uint32_t num_queries = 0;                       // search tokens are num_items .. num_items + num_queries - 1
};
// `searches`: include search events as positions (their query text is the model's input).
SeqSplit MakeSeqSplit(const Dataset& ds, bool searches = true);

// Item text for the model: per item (index = ItemIdx) its subword ids (text::SubwordTokenizer), and the vocabulary
// size. With text, an item's vector is its id embedding plus the mean of its subword embeddings.
struct ItemText {
  std::vector<std::vector<int>> pieces;
  int vocab_size = 0;
  std::vector<std::vector<int>> query_pieces;  // per query id: the query's subword ids (search positions)
  // Optional initial subword embeddings (vocab_size x init_dim, row-major) from pre-trained word vectors; rows with
  // init_known[p] == 0 keep the random initialisation. Projected to the model width when init_dim differs.
  std::vector<float> init;
  std::vector<uint8_t> init_known;
  int init_dim = 0;
};

// Keywords of items for the keyword head: per item (index = ItemIdx) its keyword ids in [0, names.size()).
struct ItemKeywords {
  std::vector<std::vector<int>> ids;
  std::vector<std::string> names;
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

// Model input: tokens (as in SeqSplit) and, optionally, their side bytes (same length; empty = unknown).
struct SeqInput {
  std::span<const uint32_t> tokens;
  std::span<const uint8_t> side;
};

// A check for tests: changing the newest event of a freshly initialised model's input changes only the newest
// position's output.
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
  std::vector<float> keyword_w, keyword_b;    // (num_keywords x dim), empty without the keyword head
  int num_keywords = 0;
  std::vector<float> sub;                     // subword table (vocab x dim) for search positions; empty without text
  int vocab = 0;
  std::vector<float> query_table;             // (num_queries x dim): the training queries' vectors
  uint32_t num_queries = 0;
  std::vector<float> act, gap;                // (kSideSlots x dim) each, empty without side embeddings
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
                                const ItemCategories* cats = nullptr, const ItemKeywords* keywords = nullptr);
  bool has_text() const;
  int num_categories() const;
  uint32_t num_queries() const;
  const std::vector<std::string>& keyword_names() const;
  // P(next interest = c | history) from the interest head. Empty when trained without categories.
  std::vector<float> PredictInterest(SeqInput history) const;
  std::vector<float> PredictInterest(std::span<const uint32_t> history) const { return PredictInterest(SeqInput{history, {}}); }
  // P(keyword k) of the next item's keywords (softmax over keyword_names()). Empty without the keyword head.
  std::vector<float> PredictKeywords(SeqInput history) const;
  // Final hidden states (after the last layer norm) of every position of the window the model reads: the last
  // L = min(len, max_len) events, oldest first, L x dim floats row-major. Row L - 1 is what Score reads.
  std::vector<float> Hidden(SeqInput history) const;
  SeqWeights Export() const;
  // Per item: 1 when the model had no training event on it (its id embedding is zero; its text alone scores it).
  std::vector<uint8_t> TextOnlyItems() const;
  // The training objective on split.train as one batch, without its randomness (no dropout, full softmax, no id or
  // side dropout): the mean next-item cross-entropy over every item target (items without a training event left
  // out of the softmax, as in training) plus the configured interest and keyword terms. For tests.
  Result<double> TrainingLoss(const SeqSplit& split) const;
  static Result<SeqModel> Load(const std::string& dir);
  Status Save(const std::string& dir) const;

  // Scores every item (index = ItemIdx) as the next item after `history` (oldest first; the last max_len used).
  // With `attended`, also returns the history position (index into `history`) the last position attended to most,
  // averaged over the heads of the last layer (the model's own account of which event drove the prediction).
  void Score(SeqInput history, std::vector<float>& out, int* attended = nullptr) const;
  void Score(std::span<const uint32_t> history, std::vector<float>& out, int* attended = nullptr) const {
    Score(SeqInput{history, {}}, out, attended);
  }
  const SeqModelConfig& config() const;
  size_t num_items() const;

 private:
  struct Impl;
  explicit SeqModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vane
