#include "vane/serve/json.h"

#include "vane/events/import.h"
#include "vane/store/store.h"

namespace vane {

using json = nlohmann::json;

json RecsJson(const RecommendResponse& r) {
  auto one = [](const Recommendation& x) {
    return json{{"id", x.id},         {"type", x.type},        {"title", x.title},       {"score", x.score},
                {"source", x.source}, {"reason", x.reason_en}, {"reason_zh", x.reason_zh}};
  };
  json j;
  j["strategy"] = StrategyName(r.strategy);
  j["strategy_reason"] = r.strategy_reason;
  j["items"] = json::array();
  for (const auto& x : r.items) j["items"].push_back(one(x));
  for (const auto& [t, v] : r.slates) {
    j["slates"][t] = json::array();
    for (const auto& x : v) j["slates"][t].push_back(one(x));
  }
  return j;
}

json InterestsJson(const InterestSummary& s) {
  auto line = [](const InterestLine& l) {
    return json{{"category", l.name},
                {"category_zh", l.name_zh},
                {"now_share", l.now_share},
                {"usual_share", l.usual_share},
                {"like_probability", l.like_probability},
                {"trend", TrendName(l.trend)},
                {"evidence", l.evidence_en},
                {"evidence_zh", l.evidence_zh}};
  };
  json j;
  for (auto [name, v] : {std::pair{"now", &s.now}, {"usually", &s.usually}, {"rising", &s.rising}, {"fading", &s.fading}}) {
    j[name] = json::array();
    for (const auto& l : *v) j[name].push_back(line(l));
  }
  j["likely_next"] = json::array();
  for (const auto& [l, p] : s.likely_next) j["likely_next"].push_back({{"category", l.name}, {"probability", p}});
  j["keywords_now"] = s.keywords_now;
  j["in_session"] = s.in_session;
  j["last_ts"] = s.last_ts;
  j["text"] = s.text_en;
  j["text_zh"] = s.text_zh;
  return j;
}

json ServedJson(const ServedRecommendation& r) {
  json j = RecsJson(r.response);
  if (!r.variant.empty()) j["variant"] = r.variant;
  j["user"] = r.user;
  j["known_user"] = r.known_user;
  j["model_version"] = r.model_version;
  json scale = json::object();
  for (int s = 0; s < kNumSources; ++s) scale[SourceName(s)] = r.scale[s];
  j["weights"] = {{"from", r.weights_from}, {"scale", std::move(scale)}};
  return j;
}

json UserInterestsJson(const UserInterests& u) {
  json j = InterestsJson(u.summary);
  j["user"] = u.user;
  json nodes = json::array(), edges = json::array();
  for (const auto& n : u.nodes) {
    json node = {{"id", n.id}, {"kind", n.kind}, {"name", n.name}, {"s", n.s}, {"l", n.l}};
    if (n.kind == "keyword") {
      node["categories"] = json::array();
      for (const auto& [c, share] : n.categories) node["categories"].push_back({{"id", c}, {"share", share}});
    }
    nodes.push_back(std::move(node));
  }
  for (const auto& e : u.edges) edges.push_back({{"from", e.from}, {"to", e.to}, {"count", e.count}});
  j["graph"] = {{"nodes", std::move(nodes)}, {"edges", std::move(edges)}};
  if (u.model) {
    // Next to the graph's: what the behaviour model says (its interest and keyword heads).
    json interests = json::array(), keywords = json::array();
    for (const auto& [c, p] : u.model->interests) interests.push_back({{"category", c}, {"probability", p}});
    for (const auto& [k, p] : u.model->keywords) keywords.push_back({{"keyword", k}, {"probability", p}});
    j["model"] = {{"text", u.model->text_en}, {"text_zh", u.model->text_zh}, {"interests", std::move(interests)},
                  {"keywords", std::move(keywords)}};
    // What the model's text decoder writes the user does next, in the data's own words, and framed in both languages.
    if (!u.model->generated.empty())
      j["model"]["generated"] = {{"text", u.model->generated},
                                 {"words", u.model->generated_words},
                                 {"sentence", "Next, in the model's own words: " + u.model->generated},
                                 {"sentence_zh", "模型写下接下来的兴趣：" + u.model->generated}};
  }
  return j;
}

json ItemJson(const Item& item) { return json::parse(ItemToJson(item)); }

json ScoredItemsJson(const std::vector<ScoredItem>& items, bool with_type) {
  json out = json::array();
  for (const auto& x : items) {
    json j = {{"id", x.id}, {"title", x.title}, {"score", x.score}};
    if (with_type) j["type"] = x.type;
    out.push_back(std::move(j));
  }
  return out;
}

json UserInfoJson(const UserInfo& u) { return json{{"id", u.id}, {"events", u.events}, {"last_ts", u.last_ts}}; }

json UserEventsJson(const std::vector<UserEvent>& events) {
  json out = json::array();
  for (const auto& x : events)
    out.push_back({{"seq", x.seq}, {"item", x.event.item}, {"title", x.title}, {"action", x.event.action},
                   {"query", x.event.query}, {"ts", x.event.ts}, {"value", x.event.value}});
  return out;
}

json SnapshotJson(const UserSnapshot& s) {
  return json{{"user", s.user}, {"version", s.version}, {"interests", UserInterestsJson(s.interests)},
              {"recommend", ServedJson(s.recommend)}, {"events", UserEventsJson(s.events)}};
}

json IngestJson(const IngestResult& r) {
  json rejected = json::array();
  for (const auto& x : r.rejected) rejected.push_back({{"index", x.index}, {"field", x.field}, {"reason", x.reason}});
  json j{{"accepted", r.accepted}, {"duplicates", r.duplicates}, {"rejected", std::move(rejected)}};
  if (!r.position.empty()) j["position"] = r.position;  // cluster mode: send it back as X-Vane-Position to read it
  if (r.other_groups > 0) j["other_groups"] = r.other_groups;  // node groups: decided by the users' groups
  return j;
}

json ModelsJson(const ModelsInfo& m) {
  return json{{"current", m.current}, {"current_path", m.current_path}, {"training", m.training}, {"versions", m.versions}, {"blend", m.blend}};
}

json OnlineJson(const OnlineStats& s) {
  auto render = [](const std::map<std::string, OnlineCounts>& m) {
    json j = json::object();
    for (const auto& [k, o] : m)
      j[k] = {{"impressions", o.impressions}, {"clicks", o.clicks}, {"conversions", o.conversions},
              {"ctr", o.ctr()}, {"conversion_rate", o.conversion_rate()}};
    return j;
  };
  return json{{"by_strategy", render(s.by_strategy)}, {"by_variant", render(s.by_variant)},
              {"by_source", render(s.by_source)}, {"items", s.items}};
}

json StatsJson(const Service::Stats& s, const OnlineStats& online, const OnlineStats& dashboard) {
  return json{{"events", s.events},
              {"users", s.users},
              {"items", s.items},
              {"accepted", s.accepted},
              {"rejected", s.rejected},
              {"duplicates", s.duplicates},
              {"store_bytes", s.store_bytes},
              {"state_bytes", s.state_bytes},
              {"events_in_memory", s.events_in_memory},
              {"hot_state_bytes_per_user", s.hot_state_bytes_per_user},
              {"recovery_seconds", s.recovery_seconds},
              {"recovered_events", s.recovered_events},
              {"model_prepared_users", s.model_prepared_users},
              {"model_prepare_done", s.model_prepare_done},
              {"model_prepare_seconds", s.model_prepare_seconds},
              {"rebuilds", s.rebuilds},
              {"last_rebuild_seconds", s.last_rebuild_seconds},
              {"last_swap_ms", s.last_swap_ms},
              {"snapshot_loaded_seq", s.snapshot_loaded_seq},
              {"replayed_events", s.replayed_events},
              {"snapshots_written", s.snapshots_written},
              {"last_snapshot_seq", s.last_snapshot_seq},
              {"last_snapshot_bytes", s.last_snapshot_bytes},
              {"last_snapshot_seconds", s.last_snapshot_seconds},
              {"last_snapshot_pause_ms", s.last_snapshot_pause_ms},
              {"pending_erasures", s.pending_erasures},
              {"cluster", s.cluster ? json{{"position", s.cluster_position},
                                           {"lag_ms", s.cluster_lag_ms},
                                           {"log_rejected", s.cluster_log_rejected},
                                           {"error", s.cluster_error},
                                           {"restore_seconds", s.cluster_restore_seconds},
                                           {"snapshot_bytes", s.cluster_snapshot_bytes},
                                           {"snapshots_written", s.cluster_snapshots_written},
                                           {"trimmed_entries", s.cluster_trimmed_entries}}
                                    : json(nullptr)},
              {"model_version", s.model_version},
              {"online", OnlineJson(online)},
              {"online_dashboard", OnlineJson(dashboard)}};
}

std::vector<Result<RawEvent>> EventRecords(const json& array) {
  std::vector<Result<RawEvent>> out;
  out.reserve(array.size());
  for (const json& j : array) {
    if (!j.is_object()) out.emplace_back(Status::InvalidArgument("wrong type: expected a JSON object").WithField("record"));
    else out.emplace_back(RawEventFromJson(j));
  }
  return out;
}

}  // namespace vane
