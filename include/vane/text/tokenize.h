// Text handling for titles, tags and search queries, in any language (English and Chinese tested).
//
// Normalisation: invalid UTF-8 is rejected by IsValidUtf8 (callers report it); full-width ASCII forms and the
// ideographic space fold to ASCII, ASCII is lower-cased, runs of white space collapse to one space.
// Tokenisation: runs of letters/digits of alphabetic scripts form words (English stop words dropped when asked);
// runs of CJK ideographs (which have no spaces) become overlapping character bigrams, a lone ideograph a unigram —
// the standard dictionary-free approach of CJK search engines (e.g. Lucene's CJKAnalyzer).
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vane::text {

bool IsValidUtf8(std::string_view s);
// True for CJK unified ideographs (and extension A, compatibility ideographs), Hiragana, Katakana and Hangul.
bool IsCjk(char32_t c);
std::string Normalize(std::string_view s);

struct TokenizeOptions {
  bool drop_stopwords = true;   // English function words ("the", "and", "for", ...)
  size_t min_word_len = 2;      // alphabetic words shorter than this are dropped (digits are kept)
};

// Tokens of `s` after Normalize, in order of appearance (duplicates kept).
std::vector<std::string> Tokenize(std::string_view s, const TokenizeOptions& opt = {});

// Decodes one code point at s[i], advancing i; returns U+FFFD and advances by one byte on invalid input.
char32_t DecodeUtf8(std::string_view s, size_t& i);
void AppendUtf8(std::string& out, char32_t c);

}  // namespace vane::text
