// JSON renderings of the service's answers, shared by the HTTP API and the CLI (`vane recommend --json`,
// `vane interests --json`), and the reading of event and item records sent as JSON.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "vane/core/status.h"
#include "vane/interest/describe.h"
#include "vane/recommend/engine.h"
#include "vane/serve/service.h"

namespace vane {

nlohmann::json RecsJson(const RecommendResponse& r);
nlohmann::json InterestsJson(const InterestSummary& s);
// RecsJson plus "user", "known_user", "model_version" and "variant" (when the user has one).
nlohmann::json ServedJson(const ServedRecommendation& r);
// InterestsJson plus "user" and "graph": {"nodes", "edges"}.
nlohmann::json UserInterestsJson(const UserInterests& u);
nlohmann::json ItemJson(const Item& item);
nlohmann::json ScoredItemsJson(const std::vector<ScoredItem>& items, bool with_type);
nlohmann::json UserInfoJson(const UserInfo& u);
nlohmann::json UserEventsJson(const std::vector<UserEvent>& events);
nlohmann::json SnapshotJson(const UserSnapshot& s);
nlohmann::json IngestJson(const IngestResult& r);
nlohmann::json ModelsJson(const ModelsInfo& m);
nlohmann::json OnlineJson(const OnlineStats& s);
// /v1/stats: the service's figures, the online counts of clients and, apart, the dashboard's own.
nlohmann::json StatsJson(const Service::Stats& s, const OnlineStats& online, const OnlineStats& dashboard);

// Each element of a JSON array as an event record, or the reason it is not one (its field and why).
std::vector<Result<RawEvent>> EventRecords(const nlohmann::json& array);

}  // namespace vane
