#include "vane/model/interest_text.h"

#include <algorithm>
#include <cmath>

#include "vane/interest/describe.h"

namespace vane {

ModelInterest DescribeModelInterest(const std::vector<float>& dist, const Catalog& catalog) {
  ModelInterest out;
  for (uint32_t c = 0; c < dist.size() && c < catalog.category_vocab().size(); ++c) out.top.emplace_back(c, dist[c]);
  std::sort(out.top.begin(), out.top.end(), [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
  if (out.top.size() > 3) out.top.resize(3);
  if (out.top.empty()) return out;
  auto pct = [](float p) { return std::to_string(static_cast<int>(std::lround(p * 100))) + "%"; };
  const auto& [c0, p0] = out.top[0];
  out.text_en = "The model reads your recent actions as: " + catalog.category_vocab().Name(c0) + " (" + pct(p0) + ")";
  out.text_zh = "模型判断你现在想要：" + CategoryNameZh(catalog, c0) + "（" + pct(p0) + "）";
  if (out.top.size() > 1 && out.top[1].second >= p0 / 3) {
    const auto& [c1, p1] = out.top[1];
    out.text_en += ", then " + catalog.category_vocab().Name(c1) + " (" + pct(p1) + ")";
    out.text_zh += "，其次是" + CategoryNameZh(catalog, c1) + "（" + pct(p1) + "）";
  }
  out.text_en += ".";
  out.text_zh += "。";
  return out;
}

void AddModelKeywords(ModelInterest& mi, const std::vector<float>& kw, const std::vector<std::string>& names) {
  std::vector<uint32_t> idx;
  for (uint32_t k = 0; k < kw.size() && k < names.size(); ++k) idx.push_back(k);
  if (idx.empty()) return;
  size_t n = std::min<size_t>(3, idx.size());
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n), idx.end(),
                    [&](uint32_t a, uint32_t b) { return kw[a] > kw[b] || (kw[a] == kw[b] && a < b); });
  for (size_t j = 0; j < n && kw[idx[j]] >= kw[idx[0]] / 4; ++j) mi.keywords.push_back(names[idx[j]]);
  std::string en, zh;
  for (size_t j = 0; j < mi.keywords.size(); ++j) {
    en += (j ? ", " : "") + mi.keywords[j];
    zh += (j ? "、" : "") + mi.keywords[j];
  }
  auto strip = [](std::string& s, std::string_view tail) {
    if (s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0) s.resize(s.size() - tail.size());
  };
  strip(mi.text_en, ".");
  strip(mi.text_zh, "。");
  mi.text_en += (mi.text_en.empty() ? "The model expects keywords: " : " - keywords: ") + en + ".";
  mi.text_zh += (mi.text_zh.empty() ? "模型预计的关键词：" : "，关键词：") + zh + "。";
}

}  // namespace vane
