// The native API under /v1 (docs/http_api.md).
#include "vane/core/strings.h"
#include "vane/events/import.h"
#include "event_body.h"
#include "internal.h"

#include <fmt/format.h>

namespace vane::http::native {

// The answer to an ingestion; in cluster mode with the write's position token also as the X-Vane-Position header
// (a client sends it back on a read from any node to read its own writes).
namespace {
void ReplyIngest(Res& res, const Result<IngestResult>& r) {
  if (r.ok() && !r->position.empty()) res.set_header("X-Vane-Position", r->position);
  Reply(res, r, IngestJson);
}
}  // namespace

void PostEvents(const Ctx& c, const Req& req, Res& res) {
  if (NestingDepth(req.body, kMaxJsonDepth) <= kMaxJsonDepth)  // the common shape without a JSON document
    if (auto records = FastEventRecords(req.body)) {
      if (Status s = c.service.CheckBatch(records->size(), "events"); !s.ok()) return SendError(res, s);
      return ReplyIngest(res, c.service.IngestEvents(*records));
    }
  auto body = ParseBody(req, res);
  if (!body) return;
  const json& events = body->is_object() && body->contains("events") ? (*body)["events"] : *body;
  if (!events.is_array()) return SendError(res, Status::InvalidArgument("bad_request", "expected a JSON array of events"));
  if (Status s = c.service.CheckBatch(events.size(), "events"); !s.ok()) return SendError(res, s);
  auto records = EventRecords(events);
  ReplyIngest(res, c.service.IngestEvents(records));
}

void Recommend(const Ctx& c, const Req& req, Res& res) {
  RecommendRequest rq;
  rq.user = req.matches[1];
  auto n = ParseSize(req, "n", 10, res);
  if (!n) return;
  rq.n = *n;
  rq.item_type = req.get_param_value("type");
  rq.categories = SplitList(req.get_param_value("categories"));
  rq.exclude_ids = SplitList(req.get_param_value("exclude"));
  rq.slate_types = SplitList(req.get_param_value("slates"));
  rq.explain = req.get_param_value("explain") != "false";
  auto now = ParseSize(req, "now", 0, res);  // "as of" time (unix seconds) instead of the clock: reproducible answers
  if (!now) return;
  rq.now = static_cast<Timestamp>(*now);
  // The ranking stage's controls for this request (docs/http_api.md): naming any sets all three, the others off.
  if (req.has_param("diversity_weight") || req.has_param("long_tail") || req.has_param("category_cap")) {
    auto d = ParseUnitFloat(req, "diversity_weight", 0, 0, 100, res);
    if (!d) return;
    auto t = ParseUnitFloat(req, "long_tail", 0, 0, 100, res);
    if (!t) return;
    auto cap = ParseUnitFloat(req, "category_cap", 1, 0.01f, 1, res);
    if (!cap) return;
    rq.controls = RankControls{.diversity = *d, .long_tail = *t, .category_cap = *cap};
  }
  Reply(res, c.service.Recommend(rq), ServedJson);
}

void Interests(const Ctx& c, const Req& req, Res& res) { Reply(res, c.service.Interests(req.matches[1]), UserInterestsJson); }

void UserEvents(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseSize(req, "n", 20, res);
  if (!n) return;
  const std::string user = req.matches[1];
  Reply(res, c.service.UserEvents(user, *n),
        [&](const auto& ev) { return json{{"user", user}, {"events", UserEventsJson(ev)}}; });
}

void GetUser(const Ctx& c, const Req& req, Res& res) { Reply(res, c.service.GetUser(req.matches[1]), UserInfoJson); }

void DeleteUser(const Ctx& c, const Req& req, Res& res) {
  const std::string user = req.matches[1];
  std::string position;
  auto r = c.service.DeleteUser(user, &position);
  SetPosition(res, position);
  Reply(res, r, [&](uint64_t n) { return json{{"deleted", user}, {"events", n}}; });
}

void ListUsers(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseSize(req, "n", 20, res);
  if (!n) return;
  Reply(res, c.service.ListUsers(req.get_param_value("q"), *n), [](const auto& users) {
    json out = json::array();
    for (const auto& u : users) out.push_back(UserInfoJson(u));
    return json{{"users", std::move(out)}};
  });
}

std::optional<Result<std::vector<ScoredItem>>> ItemList(const Ctx& c, const Req& req, Res& res, Service::ListKind kind,
                                                        const std::string& category) {
  auto n = ParseSize(req, "n", 10, res);
  if (!n) return std::nullopt;
  auto offset = ParseSize(req, "offset", 0, res);
  if (!offset) return std::nullopt;
  return c.service.ItemList(kind, category, *n, *offset);
}

namespace {
void List(const Ctx& c, const Req& req, Res& res, Service::ListKind kind) {
  if (auto r = ItemList(c, req, res, kind, req.get_param_value("category")))
    Reply(res, *r, [](const auto& items) { return json{{"items", ScoredItemsJson(items, false)}}; });
}
}  // namespace

void Popular(const Ctx& c, const Req& req, Res& res) { List(c, req, res, Service::ListKind::kPopular); }
void Latest(const Ctx& c, const Req& req, Res& res) { List(c, req, res, Service::ListKind::kLatest); }

void Similar(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseSize(req, "n", 10, res);
  if (!n) return;
  const std::string item = req.matches[1];
  Reply(res, c.service.Similar(item, *n),
        [&](const auto& items) { return json{{"item", item}, {"similar", ScoredItemsJson(items, true)}}; });
}

void GetItem(const Ctx& c, const Req& req, Res& res) {
  Reply(res, c.service.GetItem(req.matches[1]), [&](const Item& it) {
    json j = ItemJson(it);
    const OnlineCounts o = c.service.ItemOnline(it.id);  // clients' feedback on this item, all strategies
    j["online"] = {{"impressions", o.impressions}, {"clicks", o.clicks}, {"conversions", o.conversions}, {"ctr", o.ctr()}};
    return j;
  });
}

void DeleteItem(const Ctx& c, const Req& req, Res& res) {
  const std::string item = req.matches[1];
  std::string position;
  if (Status s = c.service.DeleteItem(item, &position); !s.ok()) return SendError(res, s);
  SetPosition(res, position);
  SendJson(res, 200, json{{"deleted", item}});
}

void PostItems(const Ctx& c, const Req& req, Res& res) {
  auto body = ParseBody(req, res);
  if (!body) return;
  const json list = body->is_array() ? *body : json::array({*body});
  if (body->is_array())
    if (Status s = c.service.CheckBatch(list.size(), "items"); !s.ok()) return SendError(res, s);
  std::vector<Item> items;
  for (size_t k = 0; k < list.size(); ++k) {
    if (!list[k].is_object())
      return SendError(res, Status::InvalidArgument("bad_item", fmt::format("item {}: expected a JSON object", k)));
    auto it = ItemFromJson(list[k]);
    if (!it.ok())
      return SendError(res, Status::InvalidArgument(
                                "bad_item", fmt::format("item {}: {}: {}", k, it.status().field(), it.status().message())));
    items.push_back(std::move(it).value());
  }
  std::string position;
  auto r = c.service.PutItems(std::move(items), &position);
  SetPosition(res, position);
  Reply(res, r, [](size_t n) { return json{{"stored", n}}; });
}

void Feedback(const Ctx& c, const Req& req, Res& res) {
  auto body = ParseBody(req, res);
  if (!body) return;
  if (!body->is_object()) return SendError(res, Status::InvalidArgument("bad_request", "expected a JSON object"));
  for (const char* k : {"user", "item", "type", "strategy", "variant", "source", "origin"})
    if (auto it = body->find(k); it != body->end() && !it->is_string() && !it->is_null())
      return SendError(res, Status::InvalidArgument("bad_feedback", std::string(k) + ": wrong type: expected a string")
                                .WithField(k));
  auto str = [&](const char* k) -> std::string {
    auto it = body->find(k);
    return it != body->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string position;
  auto r = c.service.Feedback({str("user"), str("item"), str("type"), str("strategy"), str("variant"), str("source"),
                               str("origin")},
                              &position);
  SetPosition(res, position);
  Reply(res, r, [](const FeedbackRecord& fb) {
          json out = {{"recorded", fb.type}, {"strategy", fb.strategy}, {"source", fb.source}, {"origin", fb.origin}};
          if (!fb.variant.empty()) out["variant"] = fb.variant;
          return out;
        });
}

void Retrain(const Ctx& c, const Req&, Res& res) {
  Reply(res, c.service.Retrain(), [](const std::string& v) { return json{{"training", v}}; }, 202);
}

void PromoteVersion(const Ctx& c, const Req& req, Res& res) {
  const std::string version = req.matches[1];
  if (Status s = c.service.PromoteVersion(version); !s.ok()) return SendError(res, s);
  SendJson(res, 200, json{{"serving", version}});
}

void Models(const Ctx& c, const Req&, Res& res) { SendJson(res, 200, ModelsJson(c.service.Models())); }

void Stats(const Ctx& c, const Req&, Res& res) {
  SendJson(res, 200, StatsJson(c.service.GetStats(), c.service.Online("client"), c.service.Online("dashboard")));
}

}  // namespace vane::http::native
