// BlendConfig::FromJson (recommend/blend_config.h): the fitted blend weights a model version carries (blend.json);
// a configuration it accepts must come back the same through ToJson.
#include <cmath>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "vane/recommend/blend_config.h"

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
  return 0;
}
