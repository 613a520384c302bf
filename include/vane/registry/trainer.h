// What background work hands the service: a trained model (the factory of its blend source and what to report of
// it) and a fitted blend.
// Declared apart from the trainer itself so that the service never sees libtorch (model/pipeline.h builds one).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "vane/core/status.h"
#include "vane/events/dataset.h"
#include "vane/interest/user_state.h"
#include "vane/recommend/blend_config.h"
#include "vane/retrieve/source.h"

namespace vane {

using SourceFactory = std::function<std::unique_ptr<CandidateSource>(const Dataset&, const InterestStore&)>;

// A trained model: the factory of its blend source and what to report of it (epochs, validation figures,
// training time, data size, the per-epoch curve).
struct TrainedModel {
  SourceFactory factory;
  nlohmann::json info;
};

// Trains a model on a snapshot of the data, writing it to `dir`.
using ModelTrainer = std::function<Result<TrainedModel>(const Dataset& snapshot, const std::string& dir)>;

// Loads a kept model version's directory as a blend source (a rollback promotes an older version).
using ModelLoader = std::function<Result<SourceFactory>(const std::string& dir)>;

// Fits the blend (base weights and per-strategy multipliers) on a snapshot of the data with the engine
// configuration that serves (its model slot included), as `vane eval` does on validation.
using BlendFitter = std::function<Result<BlendConfig>(const Dataset& snapshot, const EngineConfig& cfg)>;

}  // namespace vane
