// What the model says the user wants now, in English and Chinese, from its interest head (P(next interest)).
// The interest graph's text (interest/describe.h) is the fallback when the model has no interest head.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "vane/events/dataset.h"

namespace vane {

struct ModelInterest {
  std::vector<std::pair<uint32_t, float>> top;  // (category, probability), most likely first
  std::vector<std::string> keywords;            // the keyword head's top keywords, most likely first
  std::string text_en, text_zh;
  std::string generated;  // what the model's text decoder writes (empty without one)
};

// `dist`: probabilities over the catalogue's categories. Names the top interest, and the second when it holds at
// least a third of the top one's probability.
ModelInterest DescribeModelInterest(const std::vector<float>& dist, const Catalog& catalog);

// Adds the keyword head's top keywords (at most 3, each with at least a quarter of the top one's probability) to
// the text: "... - keywords: trail, running". `kw`: probabilities over `names`.
void AddModelKeywords(ModelInterest& mi, const std::vector<float>& kw, const std::vector<std::string>& names);

}  // namespace vane
