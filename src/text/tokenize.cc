#include "vane/text/tokenize.h"

#include <algorithm>
#include <array>
#include <cwctype>

#include "vane/text/segmenter.h"

namespace vane::text {
namespace {

constexpr std::array<std::string_view, 48> kStopwords = {
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "he", "her", "his",
    "i", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "she", "so", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "were", "with", "you",
    "your", "will"};

// Chinese function words: particles, pronouns, conjunctions and prepositions that carry no topic.
constexpr std::array<std::string_view, 40> kZhStopwords = {
    "的", "了", "着", "过", "和", "与", "及", "或", "而", "在", "是", "我", "你", "他", "她", "它", "们", "我们",
    "你们", "他们", "这", "那", "这个", "那个", "就", "都", "也", "还", "把", "被", "给", "对", "从", "向", "于",
    "之", "吗", "呢", "吧", "啊"};

bool IsStopword(std::string_view w) {
  return std::find(kStopwords.begin(), kStopwords.end(), w) != kStopwords.end() ||
         std::find(kZhStopwords.begin(), kZhStopwords.end(), w) != kZhStopwords.end();
}

// Letters and digits of alphabetic scripts: ASCII alnum, Latin-1 letters and above (excluding CJK and
// general punctuation blocks).
bool IsWordChar(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  if (c >= 0x2000 && c <= 0x2BFF) return false;   // punctuation, symbols, arrows, box drawing
  if (c >= 0x3000 && c <= 0x303F) return false;   // CJK symbols and punctuation
  if (c >= 0xFF00 && c <= 0xFFEF) return false;   // remaining half/full-width forms (punctuation)
  if (c == 0xFFFD || c == 0xA0 || c == 0xD7 || c == 0xF7) return false;
  if (c >= 0x80 && c < 0xC0) return false;        // Latin-1 punctuation
  return !IsCjk(c);
}

}  // namespace

char32_t DecodeUtf8(std::string_view s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) { ++i; return b; }
  int n = 0;
  char32_t c = 0;
  if ((b & 0xE0) == 0xC0) { n = 1; c = b & 0x1F; }
  else if ((b & 0xF0) == 0xE0) { n = 2; c = b & 0x0F; }
  else if ((b & 0xF8) == 0xF0) { n = 3; c = b & 0x07; }
  else { ++i; return 0xFFFD; }
  if (i + n >= s.size()) { ++i; return 0xFFFD; }
  for (int k = 1; k <= n; ++k) {
    auto cb = static_cast<unsigned char>(s[i + k]);
    if ((cb & 0xC0) != 0x80) { ++i; return 0xFFFD; }
    c = (c << 6) | (cb & 0x3F);
  }
  // Reject overlong forms and surrogates.
  if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) || (n == 3 && c < 0x10000) || c > 0x10FFFF ||
      (c >= 0xD800 && c <= 0xDFFF)) {
    ++i;
    return 0xFFFD;
  }
  i += n + 1;
  return c;
}

void AppendUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t before = i;
    char32_t c = DecodeUtf8(s, i);
    if (c == 0xFFFD) {
      // A literal U+FFFD is three bytes EF BF BD; anything else that decoded to it was invalid.
      if (!(i == before + 3 && s.substr(before, 3) == "\xEF\xBF\xBD")) return false;
    }
  }
  return true;
}

bool IsCjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x20000 && c <= 0x2FA1F) || (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7AF);
}

std::string Normalize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = true;  // suppress leading space
  size_t i = 0;
  while (i < s.size()) {
    char32_t c = DecodeUtf8(s, i);
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII
    if (c == 0x3000 || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0xA0) c = ' ';
    if (c < 0x20 || c == 0x7F) continue;         // control characters
    if (c >= 'A' && c <= 'Z') c += 32;
    if (c == ' ') {
      if (space) continue;
      space = true;
    } else {
      space = false;
    }
    AppendUtf8(out, c);
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::vector<std::string> Tokenize(std::string_view raw, const TokenizeOptions& opt) {
  std::string s = Normalize(raw);
  std::vector<std::string> out;
  std::string word;
  std::u32string cjk;
  auto flush_word = [&] {
    if (word.empty()) return;
    bool digits = std::all_of(word.begin(), word.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    size_t cps = 0;
    for (char ch : word) cps += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    if ((digits || cps >= opt.min_word_len) && !(opt.drop_stopwords && IsStopword(word))) out.push_back(word);
    word.clear();
  };
  // The default segmenter is looked up (and loaded, once per process) only when there is Chinese to cut.
  const Segmenter* seg = nullptr;
  auto flush_cjk = [&] {
    if (cjk.empty()) return;
    bool han = std::all_of(cjk.begin(), cjk.end(), IsHan);
    if (han && !opt.zh_bigrams && !seg) seg = opt.segmenter ? opt.segmenter : DefaultSegmenter();
    if (han && seg) {
      std::string run;
      for (char32_t c : cjk) AppendUtf8(run, c);
      for (auto& w : seg->Cut(run, opt.zh_hmm))
        if (!(opt.drop_stopwords && IsStopword(w))) out.push_back(std::move(w));
      cjk.clear();
      return;
    }
    if (cjk.size() == 1) {
      std::string t;
      AppendUtf8(t, cjk[0]);
      out.push_back(std::move(t));
    }
    for (size_t k = 0; k + 1 < cjk.size(); ++k) {
      std::string t;
      AppendUtf8(t, cjk[k]);
      AppendUtf8(t, cjk[k + 1]);
      out.push_back(std::move(t));
    }
    cjk.clear();
  };
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    char32_t c = DecodeUtf8(s, i);
    if (IsCjk(c)) {
      flush_word();
      cjk.push_back(c);
    } else if (IsWordChar(c) || (c == '\'' && !word.empty())) {
      flush_cjk();
      if (c != '\'') word.append(s.substr(start, i - start));
    } else {
      flush_word();
      flush_cjk();
    }
  }
  flush_word();
  flush_cjk();
  return out;
}

}  // namespace vane::text
