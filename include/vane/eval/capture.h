// Interest-capture benchmark on generated data with known intents (see gen/generator.h).
//
// Replays the generated events in time order through an Engine and measures, against the ground truth:
//  - lag: after every intent switch, how many events of the new segment (noise events included) it takes until at
//    least `need` of the top-`k` recommendations belong to the new intent (switches never captured within their segment count as
//    segment length + 1, and are reported separately);
//  - interest accuracy: how often the user's top short-term category equals the true intent after an event;
//  - next-interest accuracy of the Markov model: at each switch, whether its top prediction (made before the
//    switch event) names the new intent.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "vane/events/cleaner.h"
#include "vane/gen/generator.h"
#include "vane/recommend/engine.h"

namespace vane {

// Fills ds from generated data through the regular cleaning path (ecommerce actions, de-duplication off so the
// events stay aligned with the truth rows). Fails if any generated event is rejected.
Status BuildGeneratedDataset(const gen::Generated& g, Dataset& ds, ImportReport& report);

struct CaptureOptions {
  size_t k = 10;
  size_t need = 5;
  bool progress = false;
  // Optional: the model's top interest (a category id) after each event, given the event; the report then also
  // scores the model's interest against the truth. Called once per event, in replay order.
  std::function<std::optional<uint32_t>(const Event&)> model_interest;
  // Optional: at each switch, before the switch event, the model's most likely next interest other than `current`
  // (the interest graph's top category, the one the Markov prediction also excludes; UINT32_MAX when none).
  std::function<std::optional<uint32_t>(UserIdx user, uint32_t current)> model_next_interest;
};

struct CaptureReport {
  size_t events = 0, switches = 0, captured = 0, captured_within_1 = 0;
  double median_lag = 0, mean_lag = 0;
  double interest_accuracy = 0;          // over all events
  double interest_accuracy_settled = 0;  // excluding the first event of each segment
  double next_interest_accuracy = 0;     // Markov top-1 at switches
  double model_interest_accuracy = -1;   // the model's top interest = true intent, all events (-1: no model)
  double model_interest_settled = -1;    // same, excluding the first event of each segment
  double model_next_interest = -1;       // the model's next-interest top-1 at switches (-1: not measured)
  double noise = 0;
  double seconds = 0;
  std::string ToJson() const;
  std::string ToText() const;
};

CaptureReport MeasureCapture(const gen::Generated& g, const Dataset& ds, const EngineConfig& cfg,
                             const CaptureOptions& opt);

}  // namespace vane
