#include "vane/text/segmenter.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "hmm.h"
#include "vane/text/tokenize.h"

namespace vane::text {

bool IsHan(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x20000 && c <= 0x2FA1F);
}

// The dictionary: every word and every prefix of a word, in one open-addressing table over one byte arena.
// A prefix that is not itself a word has freq 0 (jieba's prefix dictionary: the DAG stops extending a word at the
// first fragment that is not a prefix).
struct Segmenter::Dict {
  struct Entry {
    uint32_t off = 0;
    uint32_t len : 31 = 0;
    uint32_t whole : 1 = 0;  // never split by the compound convention (see Segmenter::CutCompound)
    double freq = 0;
  };
  std::string arena;
  std::vector<Entry> entries;
  std::vector<uint32_t> slots;  // entry index + 1; 0 = empty; size a power of two
  double total = 0;
  double log_total = 0;
  size_t words = 0;

  static uint64_t Hash(std::string_view s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h ^ (h >> 29);
  }
  const Entry* Find(std::string_view w) const {
    if (slots.empty()) return nullptr;
    size_t mask = slots.size() - 1;
    for (size_t i = Hash(w) & mask;; i = (i + 1) & mask) {
      uint32_t e = slots[i];
      if (e == 0) return nullptr;
      const Entry& en = entries[e - 1];
      if (std::string_view(arena).substr(en.off, en.len) == w) return &en;
    }
  }
  void Grow() {
    std::vector<uint32_t> old = std::move(slots);
    slots.assign(old.empty() ? 1024 : old.size() * 2, 0);
    size_t mask = slots.size() - 1;
    for (uint32_t e = 0; e < entries.size(); ++e) {
      const Entry& en = entries[e];
      size_t i = Hash(std::string_view(arena).substr(en.off, en.len)) & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = e + 1;
    }
  }
  // Inserts or updates `w`; a later line for the same word replaces its frequency (as jieba does).
  void Put(std::string_view w, double freq, bool is_word, bool whole = false) {
    if ((entries.size() + 1) * 2 > slots.size()) Grow();
    size_t mask = slots.size() - 1;
    size_t i = Hash(w) & mask;
    for (;; i = (i + 1) & mask) {
      uint32_t e = slots[i];
      if (e == 0) break;
      Entry& en = entries[e - 1];
      if (std::string_view(arena).substr(en.off, en.len) == w) {
        if (is_word) {
          en.freq = freq;
          en.whole = whole;
        }
        return;
      }
    }
    Entry en;
    en.off = static_cast<uint32_t>(arena.size());
    en.len = static_cast<uint32_t>(w.size());
    en.freq = is_word ? freq : 0;
    en.whole = is_word && whole;
    arena.append(w);
    entries.push_back(en);
    slots[i] = static_cast<uint32_t>(entries.size());
  }
  void AddWord(std::string_view w, double freq, bool whole = false) {
    total += freq;
    size_t i = 0;
    while (i < w.size()) {
      DecodeUtf8(w, i);
      if (i < w.size()) Put(w.substr(0, i), 0, false);
    }
    Put(w, freq, true, whole);
  }
  void Finish() {
    log_total = std::log(total > 0 ? total : 1.0);
    words = 0;
    for (const Entry& e : entries) words += e.freq > 0;
    arena.shrink_to_fit();
    entries.shrink_to_fit();
  }
};

Segmenter::Segmenter() : dict_(std::make_unique<Dict>()) {}
Segmenter::~Segmenter() = default;
Segmenter::Segmenter(Segmenter&&) noexcept = default;
Segmenter& Segmenter::operator=(Segmenter&&) noexcept = default;

namespace {

// jieba's dictionary holds tens of thousands of entries at frequency 3 (or less): compounds collected without counts,
// whose tags are not to be trusted.
constexpr double kStubFrequency = 5;
// The compound convention (CutCompound): a dictionary word is split into its parts when it is less frequent than
// this share of its rarest part.
constexpr double kCompoundRatio = 0.15;
// ... and 大 or 全 + a word is split when rarer than this share of the word (大容量 7 against 容量 1102), a much
// stricter bar: most such entries with a higher share are words of their own (大多数, 大熊猫, 全世界).
constexpr double kModifierRatio = 0.02;

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
  return ss.str();
}

// Calls `add(word, freq, tag)` for each line "word [freq] [tag]" of `data`; a missing frequency is passed as -1, a
// missing tag as "".
template <class Add>
Status ParseDictionary(std::string_view data, std::string_view name, Add add) {
  size_t pos = 0, line_no = 0;
  while (pos < data.size()) {
    size_t eol = data.find('\n', pos);
    if (eol == std::string_view::npos) eol = data.size();
    std::string_view line = data.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // BOM
    if (line.find_first_not_of(" \t") == std::string_view::npos || line[0] == '#') continue;
    size_t sp = line.find(' ');
    std::string_view word = line.substr(0, sp);
    if (!IsValidUtf8(word)) return Status::InvalidArgument(fmt::format("{}:{}: word: not valid UTF-8", name, line_no));
    double freq = -1;
    std::string_view tag;
    if (sp != std::string_view::npos) {
      std::string_view rest = line.substr(sp + 1);
      std::string_view f = rest.substr(0, rest.find(' '));
      if (f.size() < rest.size()) tag = rest.substr(f.size() + 1, rest.find(' ', f.size() + 1) - f.size() - 1);
      auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), freq);
      if (ec != std::errc() || p != f.data() + f.size() || !(freq >= 0) || !std::isfinite(freq))
        return Status::InvalidArgument(
            fmt::format("{}:{}: frequency: '{}' is not a non-negative number", name, line_no, f));
    }
    add(word, freq, tag);
  }
  return Status::Ok();
}

}  // namespace

Result<Segmenter> Segmenter::Load(const std::string& dict_path, const std::string& hmm_dir) {
  VANE_ASSIGN_OR_RETURN(std::string data, ReadFile(dict_path));
  Segmenter seg;
  Dict& d = *seg.dict_;
  // About one entry (word or prefix) per 8 bytes of jieba's file: sized once, no rehashing while reading.
  d.arena.reserve(data.size());
  d.entries.reserve(data.size() / 8);
  size_t slots = 1024;
  while (slots < data.size() / 4) slots *= 2;
  d.slots.assign(slots, 0);
  VANE_RETURN_IF_ERROR(ParseDictionary(data, dict_path, [&](std::string_view w, double f, std::string_view tag) {
    if (f < 0) f = 1.0;
    // Idioms and set phrases (jieba's tags i and l) are never split as compounds; entries at jieba's stub frequency
    // are left out, their tags being unreliable (入门教程 and 电动牙刷 are tagged l).
    d.AddWord(w, f, (tag == "i" || tag == "l") && f > kStubFrequency);
  }));
  d.Finish();
  if (!hmm_dir.empty()) {
    VANE_ASSIGN_OR_RETURN(HmmParams hmm, LoadHmm(hmm_dir));
    seg.hmm_ = std::make_unique<HmmParams>(std::move(hmm));
  }
  return seg;
}

Status Segmenter::AddWords(std::string_view text, std::string_view name) {
  std::vector<std::pair<std::string, double>> words;
  VANE_RETURN_IF_ERROR(
      ParseDictionary(text, name, [&](std::string_view w, double f, std::string_view) { words.emplace_back(w, f); }));
  for (auto& [w, f] : words) {
    if (f < 0) {
      // jieba's suggest_freq: just enough for the word to beat its own best split.
      double p = 1;
      for (const auto& piece : Cut(w, false)) p *= std::max(1.0, Frequency(piece)) / dict_->total;
      f = std::max(std::floor(p * dict_->total) + 1, std::max(1.0, Frequency(w)));
    }
    dict_->AddWord(w, f, /*whole=*/true);  // a word added on purpose is cut out whole, never split as a compound
  }
  dict_->Finish();
  return Status::Ok();
}

Status Segmenter::AddWordsFromFile(const std::string& path) {
  VANE_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  return AddWords(data, path);
}

Segmenter Segmenter::FromWords(const std::vector<std::pair<std::string, double>>& words) {
  Segmenter seg;
  for (const auto& [w, f] : words) seg.dict_->AddWord(w, f);
  seg.dict_->Finish();
  return seg;
}

double Segmenter::Frequency(std::string_view word) const {
  const Dict::Entry* e = dict_->Find(word);
  return e ? e->freq : 0;
}

Segmenter::Stats Segmenter::stats() const {
  Stats s;
  s.words = dict_->words;
  s.bytes = dict_->arena.capacity() + dict_->entries.capacity() * sizeof(Dict::Entry) +
            dict_->slots.capacity() * sizeof(uint32_t) + (hmm_ ? HmmBytes(*hmm_) : 0);
  s.hmm = hmm_ != nullptr;
  return s;
}

namespace {

bool IsNumeral(char32_t c) {
  return std::u32string_view(U"零一二三四五六七八九十百千万两几半").find(c) != std::u32string_view::npos;
}

// Measure words and time units that follow a numeral (not 分 and 点, which also make adverbs: 十分, 一点).
bool IsMeasure(std::u32string_view w) {
  static constexpr std::u32string_view kOne =
      U"个只件条张本双套台部块片瓶盒袋箱杯碗斤克米吨升次回遍趟天日晚夜周月年季集期课章节页层位名家间所座岁人";
  static constexpr std::u32string_view kLong[] = {U"公斤", U"公里", U"小时", U"分钟",
                                                  U"毫升", U"厘米", U"星期", U"周年"};
  if (w.size() == 1) return kOne.find(w[0]) != std::u32string_view::npos;
  for (auto m : kLong)
    if (w == m) return true;
  return false;
}

// vane's convention for numbers (docs/text.md): a numeral (or 第 + numeral) and the measure words after it are
// separate words, as in the PKU standard — jieba's dictionary holds many such pairs as one word (五天, 一个月, 第一次).
// A `stub` (a dictionary entry at jieba's stub frequency) that goes on after one measure word is cut after it too
// (六日游 -> 六/日/游), while a counted word keeps its tail (一日游 109: 一/日游 would be wrong, it stays whole).
void SplitNumeralMeasure(std::string_view word, bool stub, std::vector<std::string>& out) {
  std::u32string w;
  for (size_t i = 0; i < word.size();) w.push_back(DecodeUtf8(word, i));
  size_t k = w.size() > 1 && w[0] == U'第' ? 1 : 0;
  size_t num_end = k;
  while (num_end < w.size() && IsNumeral(w[num_end])) ++num_end;
  std::u32string_view rest = std::u32string_view(w).substr(num_end);
  // The rest: one measure word, or a run of one-character ones (个月).
  bool split = num_end > k && !rest.empty() &&
               (IsMeasure(rest) || std::all_of(rest.begin(), rest.end(),
                                               [](char32_t c) { return IsMeasure(std::u32string_view(&c, 1)); }));
  auto utf8 = [](std::u32string_view cs) {
    std::string s;
    for (char32_t c : cs) AppendUtf8(s, c);
    return s;
  };
  if (!split && stub && num_end > k && rest.size() >= 2 && IsMeasure(rest.substr(0, 1))) {
    out.push_back(utf8(std::u32string_view(w).substr(0, num_end)));
    out.push_back(utf8(rest.substr(0, 1)));
    out.push_back(utf8(rest.substr(1)));
    return;
  }
  if (!split) {
    out.emplace_back(word);
    return;
  }
  out.push_back(utf8(std::u32string_view(w).substr(0, num_end)));
  if (IsMeasure(rest)) {
    out.push_back(utf8(rest));
  } else {
    for (size_t i = 0; i < rest.size(); ++i) out.push_back(utf8(rest.substr(i, 1)));
  }
}

}  // namespace

void Segmenter::CutCompound(std::string_view w, std::vector<std::string>& out) const {
  const Dict::Entry* e = dict_->Find(w);
  auto emit = [&](std::string_view piece) {
    if (split_numerals_)
      SplitNumeralMeasure(piece, split_compounds_ && piece == w && e && !e->whole && e->freq <= kStubFrequency, out);
    else
      out.emplace_back(piece);
  };
  std::vector<size_t> b;  // character boundaries
  for (size_t i = 0; i < w.size();) {
    b.push_back(i);
    DecodeUtf8(w, i);
  }
  const size_t n = b.size();
  b.push_back(w.size());
  if (!split_compounds_ || !e || e->freq <= 0 || e->whole || n < 3) {
    emit(w);
    return;
  }
  if (n == 3) {
    // A free modifier (the standard's 大/屏幕, 全/套): 大 or 全 before a word, in an entry far rarer than that word.
    std::string_view head = w.substr(b[1]);
    if ((w.substr(0, b[1]) == "大" || w.substr(0, b[1]) == "全") && e->freq < kModifierRatio * Frequency(head)) {
      out.emplace_back(w.substr(0, b[1]));
      out.emplace_back(head);
    } else {
      emit(w);
    }
    return;
  }
  // The best cover of w by dictionary words of two characters or more other than w itself, scored as the route is
  // (sum of log(freq / total)).
  std::vector<double> best(n + 1, -INFINITY);
  std::vector<size_t> next(n + 1, 0);
  std::vector<double> rarest(n + 1, INFINITY);
  best[n] = 0;
  for (size_t k = n - 2;; --k) {
    for (size_t x = k + 2; x <= n; ++x) {
      if ((k == 0 && x == n) || best[x] == -INFINITY) continue;
      double f = Frequency(w.substr(b[k], b[x] - b[k]));
      if (f <= 0) continue;
      double v = std::log(f) - dict_->log_total + best[x];
      if (v > best[k]) {
        best[k] = v;
        next[k] = x;
        rarest[k] = std::min(f, rarest[x]);
      }
    }
    if (k == 0) break;
  }
  if (best[0] == -INFINITY || e->freq >= kCompoundRatio * rarest[0]) {
    emit(w);
    return;
  }
  for (size_t k = 0; k < n; k = next[k]) CutCompound(w.substr(b[k], b[next[k]] - b[k]), out);
}

std::vector<std::string> Segmenter::Cut(std::string_view s, bool use_hmm) const {
  // Character boundaries: b[k] is the byte offset of character k; b[n] == s.size().
  std::vector<size_t> b;
  std::u32string chars;
  for (size_t i = 0; i < s.size();) {
    b.push_back(i);
    chars.push_back(DecodeUtf8(s, i));
  }
  const size_t n = chars.size();
  b.push_back(s.size());
  auto sub = [&](size_t from, size_t to) { return s.substr(b[from], b[to] - b[from]); };

  // The DAG: ends[k] = every i such that chars [k, i] form a word; k itself when none does.
  std::vector<std::vector<uint32_t>> ends(n);
  for (size_t k = 0; k < n; ++k) {
    for (size_t i = k; i < n; ++i) {
      const Dict::Entry* e = dict_->Find(sub(k, i + 1));
      if (!e) break;
      if (e->freq > 0) ends[k].push_back(static_cast<uint32_t>(i));
    }
    if (ends[k].empty()) ends[k].push_back(static_cast<uint32_t>(k));
  }
  // The route: best[k] = max over the DAG's edges of log P(word) + best[end + 1]; ties go to the longer word.
  std::vector<double> best(n + 1, 0.0);
  std::vector<uint32_t> next(n + 1, 0);
  for (size_t k = n; k-- > 0;) {
    double bv = -INFINITY;
    uint32_t bx = 0;
    for (uint32_t x : ends[k]) {
      const Dict::Entry* e = dict_->Find(sub(k, x + 1));
      double f = e && e->freq > 0 ? e->freq : 1.0;
      double v = std::log(f) - dict_->log_total + best[x + 1];
      if (v > bv || (v == bv && x > bx)) {
        bv = v;
        bx = x;
      }
    }
    best[k] = bv;
    next[k] = bx;
  }

  std::vector<std::string> out;
  const bool hmm = use_hmm && hmm_ != nullptr;
  size_t buf_from = 0, buf_to = 0;  // a run of single characters on the route, [from, to)
  auto flush = [&] {
    if (buf_to == buf_from) return;
    std::string_view w = sub(buf_from, buf_to);
    if (buf_to - buf_from == 1) {
      out.emplace_back(w);
    } else if (Frequency(w) <= 0) {
      for (auto& piece : HmmCut(*hmm_, std::u32string_view(chars).substr(buf_from, buf_to - buf_from)))
        out.push_back(std::move(piece));
    } else {
      for (size_t k = buf_from; k < buf_to; ++k) out.emplace_back(sub(k, k + 1));
    }
    buf_from = buf_to;
  };
  for (size_t k = 0; k < n;) {
    size_t y = next[k] + 1;
    if (hmm && y - k == 1) {
      if (buf_to != k) buf_from = k;
      buf_to = y;
    } else {
      if (hmm) flush();
      CutCompound(sub(k, y), out);
      buf_from = buf_to = y;
    }
    k = y;
  }
  if (hmm) flush();
  return out;
}

}  // namespace vane::text
