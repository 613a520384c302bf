// The model's pipeline around SeqModel: the side information it trains on, loading a trained model directory into
// the blend, the small model of the demo and of the server's background training, the full-ranking test that
// follows a training, and the model's answers in the interest-capture benchmark.
//
// Nothing here prints unless a `quiet` / `progress` setting says so; failures come back as a Status.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vane/core/status.h"
#include "vane/eval/capture.h"
#include "vane/eval/metrics.h"
#include "vane/events/dataset.h"
#include "vane/model/interest_text.h"
#include "vane/model/seq_model.h"
#include "vane/model/text_decoder.h"
#include "vane/registry/trainer.h"
#include "vane/recommend/engine.h"
#include "vane/text/subword.h"

namespace vane {

// Side information for the model: item text through vane's own subword tokenizer (trained on the catalogue and the
// query text, saved with the model), the subword pieces of every search query, each item's main category (for the
// interest head), the most common item keywords (for the keyword head) and, optionally, pre-trained word vectors.
struct SideInfo {
  ItemText text;
  ItemCategories cats;
  ItemKeywords keywords;
  std::optional<text::SubwordTokenizer> tokenizer;
};

struct SideOptions {
  bool text = true;
  int text_vocab = 8000;
  int keywords = 256;        // keyword head size (0: no head)
  std::string word_vectors;  // "" = none
  bool quiet = false;        // false: one line on stderr about the text (and one about the word vectors)
};

Result<SideInfo> BuildSideInfo(const Dataset& ds, const SideOptions& so);

// Each item's text for the subword tokenizer (index = ItemIdx): its title, categories and text.
std::vector<std::string> ItemTexts(const Dataset& ds);
// What the subword tokenizer trains on: the item texts, then every search query.
std::vector<std::string> SubwordCorpus(const Dataset& ds);

// The subword tokenizer saved beside a model (`dir`/subword.model): it embeds searches of queries the model has not
// seen. Null when the model has none.
Result<std::shared_ptr<const text::SubwordTokenizer>> LoadModelTokenizer(const std::string& dir);

// The blend's model slot for a trained model, with the two serving caches bounded (model/model_source.h).
SourceFactory ModelSourceFactory(std::shared_ptr<const SeqModel> model, std::shared_ptr<const text::SubwordTokenizer> tok,
                                 size_t cache_users, size_t cache_vectors,
                                 std::shared_ptr<const TextDecoder> decoder = nullptr, size_t generated_slots = 1);
// The text decoder saved beside a model (`dir`/decoder.bin, model/decoder_pipeline.h). Null when the model has none.
Result<std::shared_ptr<const TextDecoder>> LoadModelDecoder(const std::string& dir);

struct UseModelOptions {
  // The model must have been trained on exactly this catalogue (offline use). The service sets false: its live
  // catalogue only grows (items are interned in arrival order), and items newer than the model are skipped.
  bool exact = true;
  size_t cache_users = 1000;      // bounds of the two serving caches (model/model_source.h)
  size_t cache_vectors = 100000;
  // Generative retrieval (a model with a text decoder): top-10 slots the model's written text may fill with items
  // it knows by text alone (model/model_source.h). 0 = off.
  size_t generated_slots = 1;
};

// The model at `dir` (a `vane train` directory) joins the blend as cfg.model_source; the subword tokenizer saved
// beside it (if any) embeds searches of queries the model has not seen. An empty `dir` leaves `cfg` as it is.
Status UseModel(const std::string& dir, const Dataset& ds, EngineConfig& cfg, const UseModelOptions& opt = {});

// The small model of `vane demo` and, by default, of the server's background training: seconds on the demo data.
// SmallModelConfig: width 32, sequences of 50, batches of 32, learning rate 5e-3, 10 warm-up steps (the rest as
// SeqModelConfig). SmallSideOptions: a 2,000-piece text vocabulary, a 64-keyword head, quiet.
SeqModelConfig SmallModelConfig();
SideOptions SmallSideOptions();

// A model trained on `ds` with side information (item and query text, main categories, keywords) built by `so`.
// Searches are positions when the data has text. A line per epoch (with the ETA) on stderr when `progress`.
struct TrainedSeqModel {
  std::shared_ptr<const SeqModel> model;
  std::shared_ptr<const text::SubwordTokenizer> tokenizer;  // null when the data has no text
  std::vector<EpochLog> log;
  double seconds = 0;  // training alone, side information excluded
};
Result<TrainedSeqModel> TrainWithSideInfo(const Dataset& ds, const SeqModelConfig& mc, const SideOptions& so,
                                          bool progress = false);

// The model `vane serve` trains in the background. The default is the small model with 10 epochs, 500 validation
// users and one thread (the other core keeps serving); the [training] section of the configuration sets the full
// size (e.g. dim 64, max_len 200, batch 128, lr 0.001, threads 2 for the ML-1M configuration of BENCHMARKS.md §4).
SeqModelConfig BackgroundModelConfig();
struct TrainerSpec {
  SeqModelConfig model = BackgroundModelConfig();
};

// Background training for `vane serve` on a snapshot of the live data: trains with the small side information,
// writes the model (and its tokenizer) to the version directory, and reports epochs, best validation figures, the
// training time, the data size and the per-epoch curve. cache_users / cache_vectors bound the new source's caches.
ModelTrainer MakeTrainer(const TrainerSpec& spec, size_t cache_users, size_t cache_vectors);

// The full-ranking test after `vane train`: each user's history is the training items plus the validation item,
// the user's earlier items are excluded, every item is ranked. `cold` (per item, 1 = cold; may be empty) selects the
// users counted in `cold`. `all.seconds` is the scoring time.
struct FullRankingTest {
  RankingMetrics all, cold;
};
Result<FullRankingTest> TestFullRanking(const SeqModel& model, const SeqSplit& split, const Dataset& ds,
                                        const std::vector<uint8_t>& cold);

// What the model says `user` wants now (interest head, with the keyword head's keywords), from the items the user
// interacted with.
ModelInterest DescribeModelInterest(const SeqModel& model, const InterestStore& interests, UserIdx user,
                                    const Catalog& catalog);

// Scores the model at `dir` (trained on this generated data, with categories) in the interest-capture benchmark:
// sets co.model_interest (the interest head's top category after each event, fed through the model's incremental
// state) and co.model_next_interest (its most likely next interest at a switch). The hooks read `ds`, which must
// outlive them.
Status AddModelToCapture(const std::string& dir, const Dataset& ds, CaptureOptions& co);

}  // namespace vane
