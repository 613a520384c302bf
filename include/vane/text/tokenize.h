// Text handling for titles, tags and search queries, in any language (English and Chinese tested).
//
// Normalisation: invalid UTF-8 is rejected by IsValidUtf8 (callers report it); full-width ASCII forms and the
// ideographic space fold to ASCII, ASCII is lower-cased, runs of white space collapse to one space.
// Tokenisation: runs of letters/digits of alphabetic scripts form words (English stop words dropped when asked);
// runs of Chinese (Han) characters, which have no spaces, are cut into words by the dictionary segmenter
// (text/segmenter.h: jieba's dictionary and algorithm), Chinese function words ("的", "了", ...) dropped with the
// stop words. Without a dictionary, and for kana and Hangul, a run becomes overlapping character bigrams, a lone
// character a unigram — the dictionary-free approach of CJK search engines (e.g. Lucene's CJKAnalyzer).
// All functions are thread-safe; Tokenize is pure given the process's segmenter (DefaultSegmenter).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vane::text {

class Segmenter;

bool IsValidUtf8(std::string_view s);
// True for CJK unified ideographs (and extension A, compatibility ideographs), Hiragana, Katakana and Hangul.
bool IsCjk(char32_t c);
std::string Normalize(std::string_view s);

struct TokenizeOptions {
  bool drop_stopwords = true;   // English function words ("the", "and", "for", ...)
  size_t min_word_len = 2;      // alphabetic words shorter than this are dropped (digits are kept)
  // Chinese: the segmenter to cut Han runs with; null means DefaultSegmenter().
  const Segmenter* segmenter = nullptr;
  bool zh_bigrams = false;      // character bigrams even when a dictionary is loaded (the dictionary-free baseline)
  bool zh_hmm = true;           // let the segmenter's HMM join characters the dictionary does not know
};

// Tokens of `s` after Normalize, in order of appearance (duplicates kept).
std::vector<std::string> Tokenize(std::string_view s, const TokenizeOptions& opt = {});

// Decodes one code point at s[i], advancing i; returns U+FFFD and advances by one byte on invalid input.
char32_t DecodeUtf8(std::string_view s, size_t& i);
void AppendUtf8(std::string& out, char32_t c);

}  // namespace vane::text
