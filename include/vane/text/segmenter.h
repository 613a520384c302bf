// Chinese word segmentation with a word-frequency dictionary: jieba's algorithm, in vane's own code, reading the
// dictionary that jieba ships (Debian package python3-jieba: dict.txt, one "word frequency [tag]" per line).
//
// Cut(sentence) for a run of Han characters:
//   1. the DAG: for every start position k, every end i such that sentence[k..i] is a dictionary word (a lone
//      character is always a node, known or not);
//   2. the route: the path through the DAG maximising the sum of log(freq(word) / total), by dynamic programming
//      from the end of the sentence (a word missing from the dictionary counts freq 1);
//   3. optionally, runs of single characters on that path that do not form a dictionary word are re-cut by jieba's
//      hidden Markov model (states B/M/E/S, Viterbi), which finds words absent from the dictionary. Its parameters
//      are the ones jieba ships (finalseg/prob_*.py: Python dict literals, read here without Python).
//
// Load() reads the text dictionary once into a compact open-addressing table (no per-word allocation); see
// docs/text.md for the measured load time and memory. A Segmenter is immutable after construction: Cut is const
// and thread-safe.
//
// The process default (DefaultSegmenter) is what text::Tokenize uses for Chinese: the dictionary named by
// $VANE_ZH_DICT, else jieba's path on Debian. When neither is readable, it is null, one line on stderr says so and
// Tokenize falls back to character bigrams.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vane/core/status.h"

namespace vane::text {

// Where Debian's python3-jieba puts its dictionary and HMM parameters.
inline constexpr const char* kDebianJiebaDict = "/usr/lib/python3/dist-packages/jieba/dict.txt";

// True for the Han ideographs the segmenter handles (CJK unified ideographs, extension A and beyond, compatibility
// ideographs); not kana or Hangul.
bool IsHan(char32_t c);

class Segmenter {
 public:
  struct HmmParams;  // start, transition and emission log-probabilities of states B, M, E, S

  struct Stats {
    size_t words = 0;  // dictionary entries with a positive frequency
    size_t bytes = 0;  // memory held by the tables
    bool hmm = false;  // an HMM is loaded
  };

  // Reads `dict_path` (jieba's format: "word freq [tag]" per line, UTF-8). When `hmm_dir` is not empty, also reads
  // jieba's HMM parameters from hmm_dir/prob_start.py, prob_trans.py and prob_emit.py. Fails with IoError (and the
  // OS's reason) when a file cannot be read, and InvalidArgument naming the file, line and field when a line is
  // malformed.
  static Result<Segmenter> Load(const std::string& dict_path, const std::string& hmm_dir = "");
  // A segmenter over the given (word, frequency) pairs, without HMM: for tests.
  static Segmenter FromWords(const std::vector<std::pair<std::string, double>>& words);

  // Adds a user dictionary (jieba's load_userdict format: "word [freq] [tag]" per line; "#" comments). A word
  // without a frequency gets jieba's suggested one: just enough to beat the best split of the word on its own. A
  // word already present takes the new frequency. `name` is used in error messages (file:line). Not thread-safe:
  // call before the segmenter is shared.
  Status AddWords(std::string_view text, std::string_view name);
  Status AddWordsFromFile(const std::string& path);
  // vane's convention for numbers, on by default: a numeral (or 第 + numeral) and the measure words after it are
  // separate words (五/天, 一/个/月, 第一/次) where jieba's dictionary holds them as one. Call before sharing.
  void set_split_numerals(bool on) { split_numerals_ = on; }
  // vane's convention for compounds, off by default (the process default turns it on): a dictionary word of four
  // characters or more that is a compound of dictionary words of two characters or more (笔记本电脑 = 笔记本 + 电脑,
  // 天气预报 = 天气 + 预报) is cut into them when it is rarer than 0.15 times its rarest part — a free combination
  // the dictionary happens to list, which the PKU-like standard splits — and kept whole when it is about as frequent
  // as its parts (人工智能, 高速公路: a word of its own). Idioms and set phrases (jieba's tags i, l) and words added
  // with AddWords are never split. The parts are cut again by the same rule. Call before sharing.
  void set_split_compounds(bool on) { split_compounds_ = on; }

  Segmenter();
  ~Segmenter();
  Segmenter(Segmenter&&) noexcept;
  Segmenter& operator=(Segmenter&&) noexcept;

  // The words of `sentence` (UTF-8; meant for a run of Han characters — any other character is treated as an
  // unknown character), in order; their concatenation is `sentence`. `use_hmm` has effect only when an HMM is
  // loaded.
  std::vector<std::string> Cut(std::string_view sentence, bool use_hmm = true) const;
  // Frequency of `word` in the dictionary; 0 when absent.
  double Frequency(std::string_view word) const;
  Stats stats() const;

 private:
  struct Dict;
  std::unique_ptr<Dict> dict_;
  std::unique_ptr<HmmParams> hmm_;
  bool split_numerals_ = true;
  bool split_compounds_ = false;

  // Appends `word` (one word of the route) to `out`, cut by the compound and numeral conventions when they are on.
  void CutCompound(std::string_view word, std::vector<std::string>& out) const;
};

// The process-wide segmenter text::Tokenize uses for Chinese; null when no dictionary could be loaded (one line on
// stderr says why and that Chinese falls back to character bigrams). Loaded on first use from $VANE_ZH_DICT (a path
// to a jieba-format dict.txt; "none" turns segmentation off), else kDebianJiebaDict; the HMM is read from the
// finalseg/ folder beside the dictionary when present; then vane's additions (src/text/zh_words.txt, built in) and
// the user dictionaries named by $VANE_ZH_USER_DICT (paths separated by ':') are added. Thread-safe.
const Segmenter* DefaultSegmenter();

// Replaces the process default (nullptr: bigrams). The segmenter is kept alive for the rest of the process, so
// pointers handed out earlier stay valid. Meant for start-up (a --zh-dict flag) and tests.
void SetDefaultSegmenter(std::shared_ptr<const Segmenter> seg);

// Loads `dict_path` (with the HMM beside it and the additions, as DefaultSegmenter does) and makes it the process
// default.
Status UseSegmenterDictionary(const std::string& dict_path);

}  // namespace vane::text
