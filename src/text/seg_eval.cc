#include "vane/text/seg_eval.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "vane/text/segmenter.h"
#include "vane/text/tokenize.h"

namespace vane::text {
namespace {

bool IsPunct(char32_t c) {
  if (c < 0x80) return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  return (c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF00 && c <= 0xFFEF) ||
         (c >= 0x80 && c < 0xC0);
}

// The characters of `w` that are neither spaces nor punctuation.
std::string Core(std::string_view w) {
  std::string out;
  for (size_t i = 0; i < w.size();) {
    size_t at = i;
    char32_t c = DecodeUtf8(w, i);
    if (!IsPunct(c)) out.append(w.substr(at, i - at));
  }
  return out;
}

struct Span {
  size_t begin, end;
  bool operator<(const Span& o) const { return begin < o.begin || (begin == o.begin && end < o.end); }
  bool operator==(const Span& o) const { return begin == o.begin && end == o.end; }
};

// Spans (in bytes of the concatenated cores) of the Han words of `words`; `joined` receives the concatenation.
std::vector<Span> HanSpans(const std::vector<std::string>& words, std::string& joined) {
  std::vector<Span> out;
  for (const auto& w : words) {
    std::string c = Core(w);
    if (c.empty()) continue;
    if (HasHan(c)) out.push_back({joined.size(), joined.size() + c.size()});
    joined += c;
  }
  return out;
}

// Spans of the Han tokens of `tokens` located in `core`, in order: each token where the previous one ended, else
// at the first later place (tokenisations that overlap, like character bigrams, advance one character at a time).
// False when a token is not found.
bool LocateSpans(const std::vector<std::string>& tokens, const std::string& core, std::vector<Span>& out) {
  size_t prev_begin = 0, prev_end = 0;
  bool first = true;
  for (const auto& t : tokens) {
    std::string c = Core(t);
    if (c.empty()) continue;
    size_t at = core.compare(prev_end, c.size(), c) == 0 ? prev_end : std::string::npos;
    if (at == std::string::npos) {
      size_t from = prev_begin;
      if (!first && from < core.size()) DecodeUtf8(core, from);  // one character past the previous start
      at = core.find(c, first ? 0 : from);
    }
    if (at == std::string::npos) return false;
    if (HasHan(c)) out.push_back({at, at + c.size()});
    prev_begin = at;
    prev_end = at + c.size();
    first = false;
  }
  return true;
}

std::string Join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) {
    if (Core(w).empty()) continue;
    if (!s.empty()) s += '/';
    s += w;
  }
  return s;
}

}  // namespace

bool HasHan(std::string_view w) {
  for (size_t i = 0; i < w.size();)
    if (IsHan(DecodeUtf8(w, i))) return true;
  return false;
}

Status ParseMarked(std::string_view marked, std::string& text, std::vector<std::string>& words) {
  text.clear();
  words.clear();
  if (!IsValidUtf8(marked)) return Status::InvalidArgument("not valid UTF-8");
  std::string cur;
  bool after_mark = false;
  auto flush = [&] {
    if (!cur.empty()) words.push_back(Normalize(cur));
    cur.clear();
  };
  for (size_t i = 0; i < marked.size();) {
    size_t at = i;
    char32_t c = DecodeUtf8(marked, i);
    std::string_view ch = marked.substr(at, i - at);
    if (c == '/') {
      if (cur.empty()) return Status::InvalidArgument(fmt::format("empty word before the '/' at byte {}", at));
      flush();
      after_mark = true;
      continue;
    }
    if (after_mark && (c == ' ' || IsPunct(c)))
      return Status::InvalidArgument(fmt::format("'/' before a space or punctuation at byte {}", at));
    after_mark = false;
    text.append(ch);
    if (c == ' ' || IsPunct(c)) {
      flush();
    } else {
      cur.append(ch);
    }
  }
  if (after_mark) return Status::InvalidArgument("the text ends with '/'");
  flush();
  if (words.empty()) return Status::InvalidArgument("no word");
  return Status::Ok();
}

Result<std::vector<GoldEntry>> LoadGold(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::vector<GoldEntry> out;
  std::string line;
  size_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0)
      return Status::InvalidArgument(fmt::format("{}:{}: expected '<domain> <kind><TAB><text>'", path, no));
    GoldEntry e;
    e.group = line.substr(0, tab);
    e.line = no;
    if (Status s = ParseMarked(std::string_view(line).substr(tab + 1), e.text, e.words); !s.ok())
      return Status::InvalidArgument(fmt::format("{}:{}: {}", path, no, s.message()));
    out.push_back(std::move(e));
  }
  return out;
}

Result<SegReport> ScoreSegmentation(const std::vector<GoldEntry>& gold, const SegmentFn& seg) {
  SegReport rep;
  for (const GoldEntry& e : gold) {
    std::vector<std::string> sys = seg(e.text);
    std::string gj;
    std::vector<Span> g = HanSpans(e.words, gj), s;
    if (gj != Core(Normalize(e.text)))
      return Status::Internal(fmt::format("line {} '{}': the gold words do not spell the text", e.line, e.text));
    if (!LocateSpans(sys, gj, s))
      return Status::Internal(
          fmt::format("line {} '{}': a token of '{}' is not in the text", e.line, e.text, Join(sys)));
    std::sort(g.begin(), g.end());
    std::sort(s.begin(), s.end());
    std::vector<Span> both;
    std::set_intersection(g.begin(), g.end(), s.begin(), s.end(), std::back_inserter(both));
    for (SegScore* sc : {&rep.all, &rep.by_group[e.group]}) {
      sc->gold += g.size();
      sc->system += s.size();
      sc->correct += both.size();
    }
    if (both.size() != g.size() || both.size() != s.size())
      rep.mismatches.push_back(fmt::format("{}: gold {} | system {}", e.text, Join(e.words), Join(sys)));
  }
  return rep;
}

std::set<std::string> GoldVocabulary(const std::vector<GoldEntry>& gold) {
  std::set<std::string> v;
  for (const auto& e : gold)
    for (const auto& w : e.words)
      if (HasHan(w)) v.insert(w);
  return v;
}

}  // namespace vane::text
