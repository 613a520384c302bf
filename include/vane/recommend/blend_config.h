// The fitted blend configuration as an artefact: the base source weights and the per-strategy multipliers that
// `vane eval` fits on validation, with the validation figures that chose them and where they came from. One JSON
// file (docs/evaluation.md shows one); `vane eval --save-blend` writes it, `vane recommend --blend` and
// `vane serve --blend` read it, so what is measured is what is served.
#pragma once

#include <array>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "vane/core/status.h"
#include "vane/recommend/engine.h"

namespace vane {

struct BlendConfig {
  static constexpr int kFormat = 1;
  BlendWeights base{};
  std::array<BlendWeights, 3> multipliers{};  // by Strategy: new user, session intent, stable taste
  bool fitted = false;                        // false: the built-in defaults, not fitted to any data
  nlohmann::json source = nlohmann::json::object();      // dataset, protocol, users, when
  nlohmann::json validation = nlohmann::json::object();  // the validation figures of the fitted blend
  // The learned ranking stage fitted with the blend (null: none); stored under "ranker" in vane's tree form.
  std::shared_ptr<const Ranker> ranker;
  // The learned strategy gate fitted with the blend (null: the rules); stored under "gate".
  std::shared_ptr<const StrategyGate> gate;

  // The configuration an EngineConfig holds now (unfitted).
  static BlendConfig From(const EngineConfig& cfg);
  // Copies the weights into `cfg`.
  void ApplyTo(EngineConfig& cfg) const;

  nlohmann::json ToJson() const;
  // Weights are named by source and strategy; every source and strategy must be present, every weight finite
  // and >= 0. Errors name the field.
  static Result<BlendConfig> FromJson(const nlohmann::json& j);
  Status Save(const std::string& path) const;
  static Result<BlendConfig> Load(const std::string& path);
};

}  // namespace vane
