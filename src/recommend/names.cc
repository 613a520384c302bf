// The names of the strategies and sources (engine.h), apart from the engine: the blend file and the configuration
// name weights by them, and their readers are built without the engine (the fuzz targets, fuzz/).
#include "vane/recommend/engine.h"

namespace vane {

const char* StrategyName(Strategy s) {
  switch (s) {
    case Strategy::kNewUser: return "new_user";
    case Strategy::kSessionIntent: return "session_intent";
    case Strategy::kStableTaste: return "stable_taste";
  }
  return "?";
}

const char* SourceName(int s) {
  static const char* kNames[] = {"popular", "covisit", "content", "interest_now", "interest_long", "item_knn", "model"};
  return s >= 0 && s < kNumSources ? kNames[s] : "?";
}

}  // namespace vane
