#include "hmm.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "vane/text/tokenize.h"

namespace vane::text {
namespace {

using Map1 = std::unordered_map<std::u32string, double>;
using Map2 = std::unordered_map<std::u32string, Map1>;

// A reader of the subset of Python literal syntax jieba's parameter files use.
class LiteralReader {
 public:
  LiteralReader(std::string_view s, std::string_view name) : s_(s), name_(name) {}

  Status Fail(std::string_view what) const {
    size_t line = 1 + static_cast<size_t>(std::count(s_.begin(), s_.begin() + static_cast<std::ptrdiff_t>(pos_), '\n'));
    return Status::InvalidArgument(fmt::format("{}:{}: {}", name_, line, what));
  }
  void Skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  bool Eat(char c) {
    Skip();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // Positions the reader after "P=" (the one assignment in each file).
  Status SeekAssignment() {
    size_t p = s_.find("P=");
    if (p == std::string_view::npos) return Fail("expected the assignment 'P={...}'");
    pos_ = p + 2;
    return Status::Ok();
  }
  Result<std::u32string> String() {
    Skip();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return Fail("expected a quoted string key");
    char q = s_[pos_++];
    std::u32string out;
    while (true) {
      if (pos_ >= s_.size()) return Fail("unterminated string");
      char c = s_[pos_];
      if (c == q) {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) return Fail("unterminated escape");
        char e = s_[pos_ + 1];
        if (e == 'u') {
          if (pos_ + 6 > s_.size()) return Fail("truncated \\u escape");
          uint32_t v = 0;
          auto [p, ec] = std::from_chars(s_.data() + pos_ + 2, s_.data() + pos_ + 6, v, 16);
          if (ec != std::errc() || p != s_.data() + pos_ + 6) return Fail("bad \\u escape");
          out.push_back(static_cast<char32_t>(v));
          pos_ += 6;
        } else if (e == '\\' || e == '\'' || e == '"') {
          out.push_back(static_cast<char32_t>(e));
          pos_ += 2;
        } else {
          return Fail(fmt::format("unsupported escape '\\{}'", e));
        }
        continue;
      }
      char32_t cp = DecodeUtf8(s_, pos_);
      if (cp == 0xFFFD) return Fail("invalid UTF-8 in a string");
      out.push_back(cp);
    }
  }
  Result<double> Number() {
    Skip();
    size_t end = pos_;
    while (end < s_.size() && std::strchr("+-.0123456789eE", s_[end]) != nullptr && s_[end] != '\0') ++end;
    double v = 0;
    auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + end, v);
    if (end == pos_ || p != s_.data() + end || ec != std::errc() || !std::isfinite(v)) return Fail("expected a number");
    pos_ = end;
    return v;
  }
  // {key: number, ...}
  Status Dict1(Map1& out) {
    if (!Eat('{')) return Fail("expected '{'");
    if (Eat('}')) return Status::Ok();
    do {
      if (Eat('}')) return Status::Ok();  // trailing comma
      VANE_ASSIGN_OR_RETURN(std::u32string k, String());
      if (!Eat(':')) return Fail("expected ':' after a key");
      VANE_ASSIGN_OR_RETURN(double v, Number());
      out[k] = v;
    } while (Eat(','));
    if (!Eat('}')) return Fail("expected ',' or '}'");
    return Status::Ok();
  }
  // {key: {key: number, ...}, ...}
  Status Dict2(Map2& out) {
    if (!Eat('{')) return Fail("expected '{'");
    if (Eat('}')) return Status::Ok();
    do {
      if (Eat('}')) return Status::Ok();
      VANE_ASSIGN_OR_RETURN(std::u32string k, String());
      if (!Eat(':')) return Fail("expected ':' after a key");
      VANE_RETURN_IF_ERROR(Dict1(out[k]));
    } while (Eat(','));
    if (!Eat('}')) return Fail("expected ',' or '}'");
    return Status::Ok();
  }

 private:
  std::string_view s_;
  std::string_view name_;
  size_t pos_ = 0;
};

int StateIndex(const std::u32string& k) {
  if (k.size() != 1) return -1;
  switch (k[0]) {
    case U'B':
      return 0;
    case U'M':
      return 1;
    case U'E':
      return 2;
    case U'S':
      return 3;
    default:
      return -1;
  }
}

Result<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses one file's text: a dict of numbers (depth 1) or of dicts of numbers (depth 2). `name` is used in errors.
Status ParseHmmFile(std::string_view text, std::string_view name, int depth, Map2& out2, Map1& out1) {
  LiteralReader r(text, name);
  VANE_RETURN_IF_ERROR(r.SeekAssignment());
  return depth == 1 ? r.Dict1(out1) : r.Dict2(out2);
}

}  // namespace

Result<Segmenter::HmmParams> LoadHmm(const std::string& dir) {
  using P = Segmenter::HmmParams;
  P p;
  for (auto& row : p.trans) row.fill(P::kMin);
  Map1 start;
  Map2 trans, emit, unused2;
  Map1 unused1;
  const std::string fs = dir + "/prob_start.py", ft = dir + "/prob_trans.py", fe = dir + "/prob_emit.py";
  VANE_ASSIGN_OR_RETURN(std::string ts, Slurp(fs));
  VANE_RETURN_IF_ERROR(ParseHmmFile(ts, fs, 1, unused2, start));
  VANE_ASSIGN_OR_RETURN(std::string tt, Slurp(ft));
  VANE_RETURN_IF_ERROR(ParseHmmFile(tt, ft, 2, trans, unused1));
  VANE_ASSIGN_OR_RETURN(std::string te, Slurp(fe));
  VANE_RETURN_IF_ERROR(ParseHmmFile(te, fe, 2, emit, unused1));
  auto bad_state = [](const std::string& file, const std::u32string& k) {
    std::string s;
    for (char32_t c : k) AppendUtf8(s, c);
    return Status::InvalidArgument(fmt::format("{}: state '{}' is not one of B, M, E, S", file, s));
  };
  for (const auto& [k, v] : start) {
    int i = StateIndex(k);
    if (i < 0) return bad_state(fs, k);
    p.start[i] = v;
  }
  for (const auto& [k, row] : trans) {
    int i = StateIndex(k);
    if (i < 0) return bad_state(ft, k);
    for (const auto& [k2, v] : row) {
      int j = StateIndex(k2);
      if (j < 0) return bad_state(ft, k2);
      p.trans[i][j] = v;
    }
  }
  for (const auto& [k, row] : emit) {
    int i = StateIndex(k);
    if (i < 0) return bad_state(fe, k);
    for (const auto& [ch, v] : row) {
      if (ch.size() != 1) return Status::InvalidArgument(fmt::format("{}: an emission key is not one character", fe));
      auto [it, inserted] = p.emit.try_emplace(ch[0]);
      if (inserted) it->second.fill(P::kMin);  // a state that does not list the character cannot emit it
      it->second[i] = v;
    }
  }
  if (p.emit.empty()) return Status::InvalidArgument(fmt::format("{}: no emission probabilities", fe));
  return p;
}

std::vector<std::string> HmmCut(const Segmenter::HmmParams& p, std::u32string_view obs) {
  using P = Segmenter::HmmParams;
  constexpr int B = 0, M = 1, E = 2, S = 3;
  // The states each state may follow (jieba's PrevStatus), in jieba's order.
  static constexpr int kPrev[4][2] = {{E, S}, {M, B}, {B, M}, {S, E}};
  static constexpr char kName[4] = {'B', 'M', 'E', 'S'};
  const size_t n = obs.size();
  std::vector<std::string> out;
  if (n == 0) return out;
  auto emit = [&](int y, char32_t c) {
    auto it = p.emit.find(c);
    return it == p.emit.end() ? P::kMin : it->second[y];
  };
  std::vector<std::array<double, 4>> v(n);
  std::vector<std::array<int, 4>> from(n);
  for (int y = 0; y < 4; ++y) v[0][y] = p.start[y] + emit(y, obs[0]);
  for (size_t t = 1; t < n; ++t) {
    for (int y = 0; y < 4; ++y) {
      double em = emit(y, obs[t]);
      // Python's max over (prob, state) tuples: ties go to the state whose letter sorts last.
      double best = -INFINITY;
      int arg = -1;
      for (int y0 : kPrev[y]) {
        double s = v[t - 1][y0] + p.trans[y0][y] + em;
        if (arg < 0 || s > best || (s == best && kName[y0] > kName[arg])) {
          best = s;
          arg = y0;
        }
      }
      v[t][y] = best;
      from[t][y] = arg;
    }
  }
  int state = v[n - 1][E] > v[n - 1][S] || (v[n - 1][E] == v[n - 1][S] && kName[E] > kName[S]) ? E : S;
  std::vector<int> path(n);
  for (size_t t = n; t-- > 0;) {
    path[t] = state;
    if (t > 0) state = from[t][state];
  }
  auto piece = [&](size_t a, size_t b) {
    std::string w;
    for (size_t k = a; k < b; ++k) AppendUtf8(w, obs[k]);
    return w;
  };
  size_t begin = 0, next = 0;
  for (size_t i = 0; i < n; ++i) {
    if (path[i] == B) {
      begin = i;
    } else if (path[i] == E) {
      out.push_back(piece(begin, i + 1));
      next = i + 1;
    } else if (path[i] == S) {
      out.push_back(piece(i, i + 1));
      next = i + 1;
    }
  }
  if (next < n) out.push_back(piece(next, n));
  return out;
}

size_t HmmBytes(const Segmenter::HmmParams& p) {
  return sizeof(p) + p.emit.size() * (sizeof(char32_t) + sizeof(std::array<double, 4>) + 2 * sizeof(void*)) +
         p.emit.bucket_count() * sizeof(void*);
}

}  // namespace vane::text
