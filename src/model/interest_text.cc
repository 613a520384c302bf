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

}  // namespace vane
