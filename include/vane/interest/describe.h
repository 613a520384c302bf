// Plain-language description of a user's interests, in English and Chinese, from the interest graph:
// what they are into now (with the evidence: "searched twice in 3 min"), what is long-standing, what is rising,
// what is fading, and what the Markov model expects next. Pure function of the store; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "vane/interest/user_state.h"

namespace vane {

enum class Trend { kRising, kSteady, kFading };

struct InterestLine {
  uint32_t category = 0;
  std::string name, name_zh;
  float now_share = 0;     // share of the user's short-term weight
  float usual_share = 0;   // share of the user's long-term weight
  float like_probability = 0;  // Bayesian estimate
  Trend trend = Trend::kSteady;
  int searches = 0, item_events = 0;  // in the recent-event ring
  int64_t span_s = 0;                 // time covered by that evidence
  std::string evidence_en, evidence_zh;
};

struct InterestSummary {
  std::vector<InterestLine> now, usually, rising, fading;
  std::vector<std::pair<InterestLine, float>> likely_next;
  std::vector<std::string> keywords_now;
  std::string text_en, text_zh;
  bool in_session = false;  // InSession at the summary's time: else nothing is now (short-term weights ~0)
  Timestamp last_ts = 0;    // the user's last event (0: none)
};

// The Chinese display name of a category: the "category_zh" attribute of its items when present, else the name.
std::string CategoryNameZh(const Catalog& cat, uint32_t category);

InterestSummary Describe(const InterestStore& store, UserIdx user, Timestamp now);

const char* TrendName(Trend t);

}  // namespace vane
