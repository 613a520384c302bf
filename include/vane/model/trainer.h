// What a model trained in the background hands to whoever serves it: the factory of its blend source and what to
// report of it. The model module fills these (model/pipeline.h); the service (serve/service.h) runs the trainer.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "vane/core/status.h"
#include "vane/events/dataset.h"
#include "vane/retrieve/source.h"

namespace vane {

// Makes a blend source over a dataset and its interest store (the engine's model slot, EngineConfig::model_source).
using SourceFactory = std::function<std::unique_ptr<CandidateSource>(const Dataset&, const InterestStore&)>;

// A model trained in the background: the factory of its blend source and what to report of it (epochs, validation
// figures, training time, data size).
struct TrainedModel {
  SourceFactory factory;
  nlohmann::json info;
};
// Trains a model on a snapshot of the data, writing it to `dir`. Supplied by the binary that links the model.
using ModelTrainer = std::function<Result<TrainedModel>(const Dataset& snapshot, const std::string& dir)>;

}  // namespace vane
