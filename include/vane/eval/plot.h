// Self-contained SVG pictures of results: evaluation metrics per strategy and a user's interest graph.
//
// The files need no external tool, script or font: text is written as UTF-8 in <text> elements with
// font-family "sans-serif" (so Chinese renders with whatever CJK font the viewer has), every picture has a
// viewBox so it scales, and output is deterministic (same input, same bytes; numbers formatted with fmt).
// Pure functions of their inputs; thread-compatible.
#pragma once

#include <string>
#include <string_view>

#include "vane/core/status.h"
#include "vane/eval/evaluator.h"
#include "vane/interest/user_state.h"

namespace vane {

// Escapes text for XML content and attribute values (& < > " '). Control characters XML 1.0 forbids become
// spaces and invalid UTF-8 bytes become U+FFFD, so the result is always well-formed.
std::string XmlEscape(std::string_view text);

// Grouped horizontal bar chart of the test metrics (HR@10, NDCG@10, HR@20, NDCG@20, MRR): one group per metric,
// one bar per strategy of rep.test (colour-coded, with a legend and a value label), a shared value axis with
// ticks, and a title naming the dataset and protocol. Returns IoError naming `path` when it cannot be written.
Status WriteMetricsSvg(const EvalReport& rep, const std::string& path);

// The user's interest graph at time `now`: category nodes on an inner circle and keyword nodes on an outer
// circle (strongest short-term first, clockwise from the top). Each node's filled disc has an area proportional
// to its short-term weight (red when negative) and its ring encloses an area proportional to its long-term
// weight, on one scale per node kind. Arrows are the user's transitions between categories (thickness = count);
// dashed lines link keywords to the categories they point to. The Describe() text follows in English and
// Chinese. Returns NotFound for a user the store does not know, IoError naming `path` when it cannot be written.
Status WriteInterestGraphSvg(const InterestStore& store, UserIdx user, Timestamp now, const std::string& path);

}  // namespace vane
