// Word-segmentation scoring against a hand-segmented gold set (tests/fixtures/zh_seg/, format in its README).
//
// Each gold entry is a text with its words marked: "女士/春季/新款/连衣裙" (a "/" between words; a space is a real
// space of the text and a boundary; a punctuation mark is a token of its own). Scores are the standard span-based
// word precision and recall: a word counts as correct when both its start and end offsets agree with a gold word.
// Only words that contain a Han character are scored (Latin letters and digits, punctuation and spaces are not the
// subject of the measurement). Pure functions; thread-safe.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vane/core/status.h"

namespace vane::text {

struct GoldEntry {
  std::string group;               // "<domain> <kind>", e.g. "ecommerce title"
  std::string text;                // the raw text (the marks removed)
  std::vector<std::string> words;  // the gold words, normalised (text::Normalize), punctuation and spaces dropped
  size_t line = 0;
};

// Reads gold files (lines "<domain> <kind>\t<marked text>"; "#" comments and blank lines skipped). Fails with
// InvalidArgument naming the file, line and reason (no tab, empty word, invalid UTF-8).
Result<std::vector<GoldEntry>> LoadGold(const std::string& path);

// Splits a marked text into (raw text, words), as LoadGold does for one line.
Status ParseMarked(std::string_view marked, std::string& text, std::vector<std::string>& words);

struct SegScore {
  size_t gold = 0, system = 0, correct = 0;  // Han words counted
  double precision() const { return system ? static_cast<double>(correct) / static_cast<double>(system) : 0; }
  double recall() const { return gold ? static_cast<double>(correct) / static_cast<double>(gold) : 0; }
  double f1() const {
    double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0;
  }
};

// A tokenisation to score: the tokens of a text, in order (spaces and punctuation may be dropped). Each token is
// located where the previous one ended or, failing that, further on, so overlapping tokens (character bigrams) are
// scored by their spans too.
using SegmentFn = std::function<std::vector<std::string>(std::string_view text)>;

struct SegReport {
  SegScore all;
  std::map<std::string, SegScore> by_group;
  std::vector<std::string> mismatches;  // "<text>: gold a/b/c | system a/bc" for entries with an error
};

// Scores `seg` on `gold`. Fails with Internal when a gold entry's words do not spell its text or a token is not
// found in the text (then spans cannot be compared).
Result<SegReport> ScoreSegmentation(const std::vector<GoldEntry>& gold, const SegmentFn& seg);

// Every gold word that contains a Han character.
std::set<std::string> GoldVocabulary(const std::vector<GoldEntry>& gold);

// True when `w` contains a Han character.
bool HasHan(std::string_view w);

}  // namespace vane::text
