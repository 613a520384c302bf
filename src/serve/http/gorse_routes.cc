// The Gorse-compatible API under /api: Gorse clients switch to vane by changing the URL (docs/http_api.md lists
// what is covered).
#include <ctime>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "vane/core/strings.h"
#include "vane/events/import.h"
#include "gorse_records.h"
#include "internal.h"

namespace vane::http::gorse {
namespace {

std::string GorseTime(Timestamp t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(t)));
}

json GorseItem(const Item& it) {
  json g = {{"ItemId", it.id}, {"IsHidden", !it.available}, {"Categories", it.categories}, {"Comment", it.title},
            {"Labels", json::array()}, {"Timestamp", it.created ? GorseTime(it.created) : ""}};
  for (const auto& [k, v] : it.attributes)
    if (k == kLabelsAttribute) g["Labels"] = json::parse(v, nullptr, false);
  if (g["Labels"].is_array() && g["Labels"].empty() && !it.text.empty())
    for (const auto& l : SplitList(it.text)) g["Labels"].push_back(l);
  return g;
}

// A refused record of a Gorse batch: "<noun> <k>: <field>: <why>", the field in field().
Status BadRecord(const char* code, const char* noun, size_t k, const std::string& field, const std::string& why) {
  return Status::InvalidArgument(code, fmt::format("{} {}: {}: {}", noun, k, field, why)).WithField(field);
}

void PutItems(const Ctx& c, const json& list, Res& res) {
  if (Status s = c.service.CheckBatch(list.size(), "items"); !s.ok()) return SendError(res, s);
  std::vector<Item> items;
  for (size_t k = 0; k < list.size(); ++k) {
    auto rec = FromGorseItem(list[k]);
    if (!rec.ok()) return SendError(res, rec.status().Prefixed(fmt::format("item {}: ", k)));
    auto it = ItemFromJson(rec.value());
    if (!it.ok()) {  // the vane record's field named as Gorse names it
      const std::string& f = it.status().field();
      const std::string field = f == "created" ? "Timestamp" : f == "categories" ? "Categories" : f == "title" ? "Comment" : f;
      return SendError(res, BadRecord("bad_item", "item", k, field, it.status().message()));
    }
    items.push_back(std::move(it).value());
  }
  Reply(res, c.service.PutItems(std::move(items)), [](size_t n) { return json{{"RowAffected", n}}; });
}

json GorseUser(const std::string& id, const json& rec) {
  json u = {{"UserId", id}, {"Labels", json::array()}, {"Comment", ""}, {"Subscribe", json::array()}};
  if (rec.is_object())
    for (auto& [k, v] : rec.items()) u[k] = v;
  u["UserId"] = id;
  return u;
}

// All or nothing: every record is checked before any is stored.
void PutUsers(const Ctx& c, const json& list, Res& res) {
  if (Status s = c.service.CheckBatch(list.size(), "users"); !s.ok()) return SendError(res, s);
  for (size_t k = 0; k < list.size(); ++k)
    if (Status s = CheckGorseUser(list[k]); !s.ok()) return SendError(res, s.Prefixed(fmt::format("user {}: ", k)));
  for (const auto& u : list)
    if (Status s = c.service.PutUserRecord(u["UserId"].get<std::string>(), u.dump(-1, ' ', false, json::error_handler_t::replace));
        !s.ok())
      return SendError(res, s);
  SendJson(res, 200, json{{"RowAffected", list.size()}});
}

void List(const Ctx& c, const Req& req, Res& res, Service::ListKind kind) {
  auto r = native::ItemList(c, req, res, kind, req.matches.size() > 1 ? std::string(req.matches[1]) : "");
  if (!r) return;
  // Non-personalised lists: [{"Id", "Score"}] (popularity, or the creation time as unix seconds for "latest").
  Reply(res, *r, [](const auto& items) {
    json out = json::array();
    for (const auto& x : items) out.push_back({{"Id", x.id}, {"Score", x.score}});
    return out;
  });
}

void Health(const Ctx& c, Res& res) {
  SendJson(res, 200, json{{"Ready", c.service.ready()}, {"DataStoreConnected", c.service.ready()}});
}

}  // namespace

// All or nothing, as Gorse decodes the whole array before storing: any refused record refuses the request (400,
// naming the first refused record and its field), and nothing is stored, so a client may retry the corrected batch.
void PostFeedback(const Ctx& c, const Req& req, Res& res) {
  auto body = ParseBody(req, res);
  if (!body) return;
  if (!body->is_array())
    return SendError(res, Status::InvalidArgument("bad_request", "expected a JSON array of Feedback objects"));
  if (Status s = c.service.CheckBatch(body->size(), "events"); !s.ok()) return SendError(res, s);
  auto events = FeedbackEvents(*body);
  if (!events.ok()) return SendError(res, events.status());
  auto r = c.service.IngestEvents(EventRecords(*events), Service::BatchMode::kAllOrNothing);
  if (!r.ok()) return SendError(res, r.status());
  if (!r->rejected.empty()) {  // the cleaning rules (unknown type, time out of range, ...): the vane field as Gorse's
    static const std::map<std::string, std::string> kGorseField = {
        {"user", "UserId"}, {"item", "ItemId"}, {"action", "FeedbackType"}, {"ts", "Timestamp"}, {"value", "Value"},
        {"context", "Comment"}};
    const Rejection& first = r->rejected[0];
    auto f = kGorseField.find(first.field);
    const std::string field = f == kGorseField.end() ? first.field : f->second;
    return SendError(res, BadRecord("bad_feedback", "feedback", first.index, field,
                                    fmt::format("{} ({} of {} refused; nothing stored)", first.reason,
                                                r->rejected.size(), body->size())));
  }
  SendJson(res, 200, json{{"RowAffected", r->accepted + r->duplicates}});
}

// gorsejs asks /api/recommend/{user}/{category} (category may be empty: a trailing slash).
void Recommend(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseSize(req, "n", 10, res);
  if (!n) return;
  auto offset = ParseSize(req, "offset", 0, res);
  if (!offset) return;
  RecommendRequest rq;
  rq.user = req.matches[1];
  rq.n = *n + *offset;
  rq.explain = false;
  if (req.matches.size() > 2 && req.matches[2].length() > 0) rq.categories = {req.matches[2].str()};
  else if (req.has_param("category") && !req.get_param_value("category").empty())
    rq.categories = {req.get_param_value("category")};
  const bool scored = req.get_header_value("X-API-Version") == "2";
  const size_t skip = *offset;
  Reply(res, c.service.Recommend(rq), [&](const ServedRecommendation& r) {
    json out = json::array();
    const auto& items = r.response.items;
    for (size_t k = skip; k < items.size(); ++k) {
      if (scored) out.push_back({{"Id", items[k].id}, {"Score", items[k].score}});
      else out.push_back(items[k].id);
    }
    return out;
  });
}

void PostItem(const Ctx& c, const Req& req, Res& res) {
  if (auto body = ParseBody(req, res)) PutItems(c, json::array({*body}), res);
}

void PostItems(const Ctx& c, const Req& req, Res& res) {
  auto body = ParseBody(req, res);
  if (!body) return;
  if (!body->is_array()) return SendError(res, Status::InvalidArgument("bad_request", "expected a JSON array of Item objects"));
  PutItems(c, *body, res);
}

void ItemNeighbors(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseSize(req, "n", 10, res);
  if (!n) return;
  Reply(res, c.service.Similar(req.matches[1], *n), [](const auto& items) {
    json out = json::array();
    for (const auto& s : items) out.push_back({{"Id", s.id}, {"Score", s.score}});
    return out;
  });
}

void GetItem(const Ctx& c, const Req& req, Res& res) { Reply(res, c.service.GetItem(req.matches[1]), GorseItem); }

void PatchItem(const Ctx& c, const Req& req, Res& res) {
  auto body = ParseBody(req, res);
  if (!body) return;
  if (!body->is_object()) return SendError(res, Status::InvalidArgument("bad_request", "expected a JSON object (ItemPatch)"));
  auto cur = c.service.GetItem(req.matches[1]);
  if (!cur.ok()) return SendError(res, cur.status());
  json g = GorseItem(cur.value());
  for (auto& [k, v] : body->items()) g[k] = v;
  g["ItemId"] = req.matches[1].str();
  PutItems(c, json::array({g}), res);
}

void DeleteItem(const Ctx& c, const Req& req, Res& res) {
  if (Status s = c.service.DeleteItem(req.matches[1]); !s.ok()) return SendError(res, s);
  SendJson(res, 200, json{{"RowAffected", 1}});
}

void PostUser(const Ctx& c, const Req& req, Res& res) {
  if (auto body = ParseBody(req, res)) PutUsers(c, json::array({*body}), res);
}

void PostUsers(const Ctx& c, const Req& req, Res& res) {
  auto body = ParseBody(req, res);
  if (!body) return;
  if (!body->is_array()) return SendError(res, Status::InvalidArgument("bad_request", "expected a JSON array of User objects"));
  PutUsers(c, *body, res);
}

void PatchUser(const Ctx& c, const Req& req, Res& res) {
  auto body = ParseBody(req, res);
  if (!body) return;
  if (!body->is_object()) return SendError(res, Status::InvalidArgument("bad_request", "expected a JSON object (UserPatch)"));
  const std::string id = req.matches[1];
  auto cur = c.service.GetUserRecord(id);
  json u = GorseUser(id, cur.ok() ? json::parse(cur.value(), nullptr, false) : json::object());
  for (auto& [k, v] : body->items()) u[k] = v;
  u["UserId"] = id;
  PutUsers(c, json::array({u}), res);
}

void GetUser(const Ctx& c, const Req& req, Res& res) {
  const std::string id = req.matches[1];
  Reply(res, c.service.GetUserRecord(id), [&](const std::string& rec) { return GorseUser(id, json::parse(rec, nullptr, false)); });
}

void DeleteUser(const Ctx& c, const Req& req, Res& res) {
  Reply(res, c.service.DeleteUser(req.matches[1]), [](uint64_t) { return json{{"RowAffected", 1}}; });
}

void Popular(const Ctx& c, const Req& req, Res& res) { List(c, req, res, Service::ListKind::kPopular); }
void Latest(const Ctx& c, const Req& req, Res& res) { List(c, req, res, Service::ListKind::kLatest); }

// A user's feedback, newest first (Gorse's Feedback objects; the FeedbackType is vane's action name).
void UserFeedback(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseSize(req, "n", 100, res);
  if (!n) return;
  const std::string user = req.matches[1];
  const std::string type = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
  Reply(res, c.service.UserEvents(user, type.empty() ? *n : 1000), [&](const std::vector<UserEvent>& events) {
    json out = json::array();
    for (const auto& x : events) {
      const RawEvent& e = x.event;
      if (e.item.empty()) continue;  // searches are not Gorse feedback
      if (!type.empty() && e.action != GorseAction(type) && e.action != type) continue;
      if (out.size() == *n) break;
      out.push_back({{"FeedbackType", e.action}, {"UserId", user}, {"ItemId", e.item}, {"Value", e.value},
                     {"Timestamp", GorseTime(e.ts)}, {"Comment", e.context}});
    }
    return out;
  });
}

void HealthLive(const Ctx& c, const Req&, Res& res) { Health(c, res); }

void HealthReady(const Ctx& c, const Req&, Res& res) {
  Health(c, res);
  if (!c.service.ready()) res.status = 503;
}

}  // namespace vane::http::gorse
