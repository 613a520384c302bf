// BlendConfig::FromJson (recommend/blend_config.h): the fitted blend weights a model version carries (blend.json);
// a configuration it accepts must come back the same through ToJson.
#include <cmath>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "vane/recommend/blend_config.h"
#include "vane/recommend/gate.h"
#include "vane/recommend/ranker.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto b = vane::BlendConfig::FromJson(j);
  if (!b.ok()) {
    FUZZ_CHECK(!b.status().message().empty());
    return 0;
  }
  for (const auto& w : b->base) FUZZ_CHECK(std::isfinite(w) && w >= 0);
  for (const auto& m : b->multipliers)
    for (const auto& w : m) FUZZ_CHECK(std::isfinite(w) && w >= 0);
  auto again = vane::BlendConfig::FromJson(nlohmann::json::parse(b->ToJson().dump()));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->base == b->base && again->multipliers == b->multipliers && again->fitted == b->fitted);
  // A ranker it accepts can be walked with any features (the checks keep every index inside its arrays), and reads
  // back to the same trees.
  FUZZ_CHECK(static_cast<bool>(again->ranker) == static_cast<bool>(b->ranker));
  if (b->ranker) {
    float x[vane::kNumRankFeatures], y[vane::kNumRankFeatures];
    for (int f = 0; f < vane::kNumRankFeatures; ++f) {
      x[f] = static_cast<float>(f % 3) - 1.0f;
      y[f] = std::nanf("");
    }
    for (const float* v : {x, y}) {
      const float p = b->ranker->Predict(v), q = again->ranker->Predict(v);
      FUZZ_CHECK(p == q || (p != p && q != q));
    }
  }
  // A gate it accepts reads back the same and gives finite, positive multipliers for any features in range.
  FUZZ_CHECK(static_cast<bool>(again->gate) == static_cast<bool>(b->gate));
  if (b->gate) {
    FUZZ_CHECK(again->gate->theta == b->gate->theta);
    vane::GateFeatures x{};
    x.fill(1.0f);
    for (float m : b->gate->Multipliers(x)) FUZZ_CHECK(std::isfinite(m) && m > 0);
    FUZZ_CHECK(!b->gate->Explain(x).empty());
  }
  return 0;
}
