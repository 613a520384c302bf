#include "vane/text/word_vectors.h"

#include <cerrno>
#include <cstring>
#include <charconv>
#include <fstream>
#include <string_view>

#include <fmt/format.h>

namespace vane::text {
namespace {

// Splits on runs of spaces/tabs (GloVe files use single spaces, some .vec files end lines with a space).
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ParseFloat(std::string_view s, float& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<WordVectors> LoadWordVectors(const std::string& path, const std::function<bool(const std::string&)>& wanted) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot read word vectors from " + path + ": " + std::strerror(errno));
  WordVectors wv;
  std::string line;
  size_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto f = Fields(line);
    if (f.empty()) continue;
    if (no == 1 && f.size() == 2) {  // "<count> <dim>" header
      int count = 0, dim = 0;
      auto a = std::from_chars(f[0].data(), f[0].data() + f[0].size(), count);
      auto b = std::from_chars(f[1].data(), f[1].data() + f[1].size(), dim);
      if (a.ec == std::errc() && b.ec == std::errc() && dim > 0) {
        wv.dim = dim;
        continue;
      }
    }
    if (f.size() < 2) return Status::InvalidArgument(fmt::format("{}:{}: a word without values", path, no));
    int dim = static_cast<int>(f.size()) - 1;
    if (wv.dim == 0) wv.dim = dim;
    if (dim != wv.dim)
      return Status::InvalidArgument(
          fmt::format("{}:{}: word '{}' has {} values, expected {}", path, no, f[0], dim, wv.dim));
    ++wv.lines;
    std::string word(f[0]);
    if (!wanted(word)) {
      // Still check the values: a broken file must not pass because its broken lines were not wanted.
      float v;
      for (size_t k = 1; k < f.size(); ++k)
        if (!ParseFloat(f[k], v))
          return Status::InvalidArgument(
              fmt::format("{}:{}: value {} of word '{}' is not a number: '{}'", path, no, k, word, f[k]));
      continue;
    }
    std::vector<float> vec(static_cast<size_t>(dim));
    for (size_t k = 1; k < f.size(); ++k)
      if (!ParseFloat(f[k], vec[k - 1]))
        return Status::InvalidArgument(
            fmt::format("{}:{}: value {} of word '{}' is not a number: '{}'", path, no, k, word, f[k]));
    wv.vectors.emplace(std::move(word), std::move(vec));
  }
  if (in.bad()) return Status::IoError("reading word vectors from " + path + " failed");
  if (wv.lines == 0) return Status::InvalidArgument(path + ": no word vectors in the file");
  return wv;
}

}  // namespace vane::text
