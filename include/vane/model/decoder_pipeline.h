// The interest-text decoder around a trained model: what it learns to write, its training pairs, and the held-out
// measure of its words against the template texts (the interest graph's and the model heads').
#pragma once

#include <span>
#include <string>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/dataset.h"
#include "vane/model/seq_model.h"
#include "vane/model/text_decoder.h"
#include "vane/text/subword.h"

namespace vane {

// The words the decoder writes after an event, as subword ids: for an item its categories, then its title and text;
// for a query its text. Words as text::Tokenize keeps them (stop words out, each word once), cut to `max_pieces`.
struct NextText {
  std::vector<std::vector<int>> item;   // per ItemIdx
  std::vector<std::vector<int>> query;  // per query id
};
NextText BuildNextText(const Dataset& ds, const text::SubwordTokenizer& tok, int max_pieces);
// The words of an item's text as the measure compares them (the same words BuildNextText starts from).
std::vector<std::string> ItemWords(const Dataset& ds, ItemIdx item);
// Per subword id: the piece begins a word (sentencepiece's U+2581 mark).
std::vector<uint8_t> WordStarts(const text::SubwordTokenizer& tok);
// Subword ids back to text: pieces joined, word marks become spaces.
std::string PiecesToText(const text::SubwordTokenizer& tok, std::span<const int> ids);

// The decoder's model-side files: `dir`/decoder.bin beside the model.
std::string DecoderPath(const std::string& model_dir);

struct DecoderRun {
  TextDecoder decoder;
  std::vector<DecoderEpoch> log;
  size_t pairs = 0;        // (state, next text) pairs trained on
  double state_seconds = 0, train_seconds = 0;
};
// Trains the decoder on the training sequences of `split` (the model frozen): at each position of each user's
// training window, the model's hidden state and the text of the next event. The validation and test events are
// never targets. At most `max_pairs` pairs (a seeded uniform sample of the positions).
Result<DecoderRun> TrainDecoderForModel(const SeqModel& model, const SeqSplit& split, const Dataset& ds,
                                        const text::SubwordTokenizer& tok, const TextDecoderConfig& cfg,
                                        size_t max_pairs, bool progress);

// Held-out measure: for each user with a validation item, the words each method writes from the training history
// (the model's state after the last training event) against the words of the user's next two items (the
// validation and test items, never trained on). Precision and recall are averaged over users (a method that writes
// nothing scores 0 for that user).
struct TextScore {
  std::string method;
  double precision = 0, recall = 0, f1 = 0, words = 0;  // words: mean words written
};
struct TextSample {
  std::string user, generated, model_template, graph_template, next;
  double precision = 0, recall = 0;
};
struct InterestTextEval {
  size_t users = 0;
  std::vector<TextScore> rows;  // generated, model template, graph template, last item
  std::vector<TextSample> samples;
  double decode_p50_us = 0, decode_p99_us = 0;
};
Result<InterestTextEval> EvaluateInterestText(const SeqModel& model, const TextDecoder& dec, const SeqSplit& split,
                                              const Dataset& ds, const text::SubwordTokenizer& tok,
                                              size_t max_users, size_t samples, bool progress);

}  // namespace vane
