// The worked example of the product brief, as a runnable scenario: user "A" browses pages 1-3 of a topic,
// searches and views products 4 and 5, purchases item 6, and asks for recommendations across item types.
// Used by `vane demo` and by the scenario test.
#pragma once

#include <string>
#include <vector>

#include "vane/events/cleaner.h"
#include "vane/interest/describe.h"
#include "vane/recommend/engine.h"

namespace vane {

struct ScenarioStep {
  std::string action, item, query, description;
  Timestamp ts = 0;
};

struct SeedExampleResult {
  std::vector<ScenarioStep> steps;
  RecommendResponse recommendations;   // overall top-n plus slates "page", "product" and "video"
  InterestSummary interests;
  Timestamp now = 0;
};

// Appends user `user`'s events (through EventCleaner) to ds and ingests them into engine, which must have been
// built on ds. Uses the first category of the catalogue that has >= 3 pages and >= 3 products (the generated
// "Trail running" topic in the default data). `start` is the time of the first event.
Result<SeedExampleResult> RunSeedExample(Dataset& ds, Engine& engine, const std::string& user, Timestamp start,
                                         const std::string& category = "Trail running");

}  // namespace vane
