// jieba's hidden Markov model for words missing from the dictionary (internal to the text module).
//
// Four states per character: B (begins a word), M (inside), E (ends), S (a one-character word). The parameters are
// log-probabilities as jieba ships them in finalseg/prob_start.py, prob_trans.py and prob_emit.py: Python dict
// literals ({'B': -0.26, ...}, {'B': {'E': -0.51, ...}, ...}, {'B': {'\u4e00': -3.65, ...}, ...}), read here by a
// small parser of that literal syntax (strings with \uXXXX escapes, numbers, nested dicts) — no Python needed.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vane/core/status.h"
#include "vane/text/segmenter.h"

namespace vane::text {

struct Segmenter::HmmParams {
  static constexpr double kMin = -3.14e100;                  // jieba's MIN_FLOAT: an impossible event
  std::array<double, 4> start{kMin, kMin, kMin, kMin};       // B, M, E, S
  std::array<std::array<double, 4>, 4> trans{};              // [from][to]
  std::unordered_map<char32_t, std::array<double, 4>> emit;  // per character, per state
};

// Reads dir/prob_start.py, dir/prob_trans.py, dir/prob_emit.py. Fails with IoError when a file cannot be read and
// InvalidArgument naming the file, line and what was expected when it is not the expected literal.
Result<Segmenter::HmmParams> LoadHmm(const std::string& dir);

// Words of `chars` (Han characters) by Viterbi decoding, as jieba's finalseg.__cut.
std::vector<std::string> HmmCut(const Segmenter::HmmParams& p, std::u32string_view chars);

size_t HmmBytes(const Segmenter::HmmParams& p);

}  // namespace vane::text
