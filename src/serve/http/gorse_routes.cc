// The Gorse-compatible API under /api: Gorse clients switch to vane by changing the URL (docs/http_api.md lists
// what is covered). Items, users, recommendations and health here; lists and neighbours in gorse_list_routes.cc,
// feedback reads and deletions in gorse_feedback_routes.cc.
#include <algorithm>
#include <ctime>
#include <set>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "vane/core/strings.h"
#include "vane/events/import.h"
#include "gorse_common.h"
#include "gorse_records.h"

namespace vane::http::gorse {

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

json GorseUser(const std::string& id, const json& rec) {
  json u = {{"UserId", id}, {"Labels", json::array()}, {"Comment", ""}, {"Subscribe", json::array()}};
  if (rec.is_object())
    for (auto& [k, v] : rec.items()) u[k] = v;
  u["UserId"] = id;
  return u;
}

json GorseFeedback(const RawEvent& e) {
  return {{"FeedbackType", e.action}, {"UserId", e.user}, {"ItemId", e.item}, {"Value", e.value},
          {"Timestamp", GorseTime(e.ts)}, {"Comment", e.context}};
}

std::optional<size_t> ParseN(const Ctx& c, const Req& req, Res& res) {
  return ParseSize(req, "n", c.opt.gorse_default_n, res);
}

std::string Cursor(const Req& req) {
  return req.has_param("cursor") ? req.get_param_value("cursor") : req.get_param_value("Cursor");
}

bool Expired(const Ctx& c, const Item& it) {
  return c.opt.gorse_item_ttl_s > 0 && it.created > 0 &&
         static_cast<double>(c.service.Now() - it.created) > c.opt.gorse_item_ttl_s;
}

bool FeedbackExpired(const Ctx& c, const RawEvent& e) {
  return c.opt.gorse_feedback_ttl_s > 0 && static_cast<double>(c.service.Now() - e.ts) > c.opt.gorse_feedback_ttl_s;
}

namespace {

// Whether the item is fresh (HttpOptions::gorse_item_ttl_s); an item the catalogue no longer knows is not.
bool Fresh(const Ctx& c, const std::string& id) {
  if (c.opt.gorse_item_ttl_s <= 0) return true;
  auto it = c.service.GetItem(id);
  return it.ok() && !Expired(c, *it);
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
  std::string position;
  auto r = c.service.PutItems(std::move(items), &position);
  SetPosition(res, position);
  Reply(res, r, [](size_t n) { return json{{"RowAffected", n}}; });
}

// All or nothing: every record is checked before any is stored.
void PutUsers(const Ctx& c, const json& list, Res& res) {
  if (Status s = c.service.CheckBatch(list.size(), "users"); !s.ok()) return SendError(res, s);
  for (size_t k = 0; k < list.size(); ++k)
    if (Status s = CheckGorseUser(list[k]); !s.ok()) return SendError(res, s.Prefixed(fmt::format("user {}: ", k)));
  std::string all;  // cluster mode: one token covering every record written
  for (const auto& u : list) {
    std::string position;
    Status s = c.service.PutUserRecord(u["UserId"].get<std::string>(),
                                       u.dump(-1, ' ', false, json::error_handler_t::replace), &position);
    all = MergePositions(all, position);
    SetPosition(res, all);
    if (!s.ok()) return SendError(res, s);
  }
  SendJson(res, 200, json{{"RowAffected", list.size()}});
}

}  // namespace

// Non-personalised lists: [{"Id", "Score"}] (popularity, or the creation time as unix seconds for "latest"); the
// category from the path (empty after a trailing slash: all) or ?category=.
void List(const Ctx& c, const Req& req, Res& res, Service::ListKind kind, std::string category) {
  auto n = ParseN(c, req, res);
  if (!n) return;
  auto offset = ParseSize(req, "offset", 0, res);
  if (!offset) return;
  if (category.empty()) category = req.get_param_value("category");
  if (c.opt.gorse_item_ttl_s <= 0) {
    Reply(res, c.service.ItemList(kind, category, *n, *offset), [&](const auto& items) {
      json out = json::array();
      for (const auto& x : items) out.push_back({{"Id", x.id}, {"Score", x.score}});
      return out;
    });
    return;
  }
  // With an item TTL the list is read in pages, expired items skipped (the offset counts fresh ones).
  json out = json::array();
  size_t skip = *offset;
  for (size_t from = 0; out.size() < *n && from < 100000; from += 1000) {
    auto page = c.service.ItemList(kind, category, 1000, from);
    if (!page.ok()) return SendError(res, page.status());
    for (const auto& x : *page) {
      if (out.size() == *n || !Fresh(c, x.id)) continue;
      if (skip > 0) --skip;
      else out.push_back({{"Id", x.id}, {"Score", x.score}});
    }
    if (page->size() < 1000) break;
  }
  SendJson(res, 200, out);
}

namespace {

// The feedback types of a batch of records (FeedbackEvents), each once.
std::vector<std::string> Types(const json& records) {
  std::set<std::string> types;
  for (const auto& e : records)
    if (auto a = e.find("action"); a != e.end() && a->is_string()) types.insert(a->get<std::string>());
  return {types.begin(), types.end()};
}

void Health(const Ctx& c, Res& res) {
  SendJson(res, 200, json{{"Ready", c.service.ready()}, {"DataStoreConnected", c.service.ready()}});
}

}  // namespace

std::optional<json> FeedbackBody(const Ctx& c, const Req& req, Res& res) {
  auto body = ParseBody(req, res);
  if (!body) return std::nullopt;
  Status s = body->is_array() ? c.service.CheckBatch(body->size(), "events")
                              : Status::InvalidArgument("bad_request", "expected a JSON array of Feedback objects");
  if (!s.ok()) {
    SendError(res, s);
    return std::nullopt;
  }
  auto events = FeedbackEvents(*body);
  if (!events.ok()) {
    SendError(res, events.status());
    return std::nullopt;
  }
  return std::move(events.value());
}

// All or nothing, as Gorse decodes the whole array before storing: any refused record refuses the request (400,
// naming the first refused record and its field), and nothing is stored, so a client may retry the corrected batch.
void PostFeedback(const Ctx& c, const Req& req, Res& res) {
  auto events = FeedbackBody(c, req, res);
  if (!events) return;
  if (Status s = c.service.RegisterFeedbackTypes(Types(*events)); !s.ok()) return SendError(res, s);
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
                                                r->rejected.size(), events->size())));
  }
  SendJson(res, 200, json{{"RowAffected", r->accepted + r->duplicates}});
}

namespace {

// The write-back of GET /api/recommend (write-back-type, write-back-delay): each recommended item is recorded as
// feedback of that type, dated now + the delay, as Gorse does (so that it is not recommended again).
Status WriteBack(const Ctx& c, const Req& req, const std::string& user, const json& items) {
  const std::string type = req.get_param_value("write-back-type");
  if (type.empty()) {
    if (req.has_param("write-back-delay"))
      return Status::InvalidArgument("bad_parameter", "write-back-delay is given without write-back-type");
    return Status::Ok();
  }
  double delay = 0;
  if (req.has_param("write-back-delay")) {
    auto d = ParseDuration(req.get_param_value("write-back-delay"));
    if (!d || *d < 0)
      return Status::InvalidArgument("bad_parameter", fmt::format("write-back-delay must be a duration such as 10m or "
                                                                  "1h30m, got '{}'", req.get_param_value("write-back-delay")));
    delay = *d;
  }
  if (delay > static_cast<double>(c.service.options().max_future_s))
    return Status::InvalidArgument("bad_parameter", fmt::format("write-back-delay {} s is beyond the clock-error bound of "
                                                                "{} s (--max-future)", delay, c.service.options().max_future_s));
  if (Status s = c.service.RegisterFeedbackTypes({type}); !s.ok()) return s;
  std::vector<Result<RawEvent>> events;
  const Timestamp ts = c.service.Now() + static_cast<Timestamp>(delay);
  for (const auto& x : items) {
    RawEvent e;
    e.user = user;
    e.item = x.is_string() ? x.get<std::string>() : x["Id"].get<std::string>();
    e.action = type;
    e.ts = ts;
    e.has_ts = true;
    events.emplace_back(std::move(e));
  }
  auto r = c.service.IngestEvents(events, Service::BatchMode::kAllOrNothing);
  if (!r.ok()) return r.status();
  if (!r->rejected.empty())
    return Status::InvalidArgument("bad_parameter", fmt::format("write-back-type '{}': {} (nothing written back)", type,
                                                                r->rejected[0].reason));
  return Status::Ok();
}

}  // namespace

std::optional<json> RankedPage(const Ctx& c, const Req& req, Res& res, bool scored) {
  auto n = ParseN(c, req, res);
  if (!n) return std::nullopt;
  auto offset = ParseSize(req, "offset", 0, res);
  if (!offset) return std::nullopt;
  RecommendRequest rq;
  rq.user = req.matches[1];
  rq.n = *n + *offset;
  if (c.opt.gorse_item_ttl_s > 0 && rq.n <= 1000) rq.n = std::min<size_t>(1000, rq.n * 2 + 8);  // room for expired ones
  rq.explain = false;
  if (req.matches.size() > 2 && req.matches[2].length() > 0) rq.categories = {req.matches[2].str()};
  else if (req.has_param("category") && !req.get_param_value("category").empty())
    rq.categories = {req.get_param_value("category")};
  auto r = c.service.Recommend(rq);
  if (!r.ok()) {
    SendError(res, r.status());
    return std::nullopt;
  }
  json out = json::array();
  const auto& items = r->response.items;
  size_t skip = *offset;
  for (size_t k = 0; k < items.size() && out.size() < *n; ++k) {
    if (!Fresh(c, items[k].id)) continue;
    if (skip > 0) {
      --skip;
      continue;
    }
    if (scored) out.push_back({{"Id", items[k].id}, {"Score", items[k].score}});
    else out.push_back(items[k].id);
  }
  return out;
}

// gorsejs asks /api/recommend/{user}/{category} (category may be empty: a trailing slash); write-back-type and
// write-back-delay record the answer as feedback (Gorse's write-back).
void Recommend(const Ctx& c, const Req& req, Res& res) {
  auto out = RankedPage(c, req, res, req.get_header_value("X-API-Version") == "2");
  if (!out) return;
  if (Status s = WriteBack(c, req, req.matches[1], *out); !s.ok()) return SendError(res, s);
  SendJson(res, 200, *out);
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

// Items like this one (/api/item/{item}/neighbors[/{category}]), of the category when one is given.
void ItemNeighbors(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseN(c, req, res);
  if (!n) return;
  const std::string category = req.matches.size() > 2 ? req.matches[2].str() : "";
  // Similar leaves out hidden items after its search, so it may give fewer than asked: ask for more.
  const size_t ask = std::min<size_t>(1000, *n * (category.empty() && c.opt.gorse_item_ttl_s <= 0 ? 2 : 5) + 8);
  Reply(res, c.service.Similar(req.matches[1], ask), [&](const auto& items) {
    json out = json::array();
    for (const auto& s : items) {
      if (out.size() == *n) break;
      if (!category.empty()) {
        auto it = c.service.GetItem(s.id);
        if (!it.ok() || std::find(it->categories.begin(), it->categories.end(), category) == it->categories.end()) continue;
      }
      if (Fresh(c, s.id)) out.push_back({{"Id", s.id}, {"Score", s.score}});
    }
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
  std::string position;
  if (Status s = c.service.DeleteItem(req.matches[1], &position); !s.ok()) return SendError(res, s);
  SetPosition(res, position);
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
  std::string position;
  auto r = c.service.DeleteUser(req.matches[1], &position);
  SetPosition(res, position);
  Reply(res, r, [](uint64_t) { return json{{"RowAffected", 1}}; });
}

void Popular(const Ctx& c, const Req& req, Res& res) {
  List(c, req, res, Service::ListKind::kPopular, req.matches.size() > 1 ? req.matches[1].str() : "");
}
void Latest(const Ctx& c, const Req& req, Res& res) {
  List(c, req, res, Service::ListKind::kLatest, req.matches.size() > 1 ? req.matches[1].str() : "");
}

// A user's feedback, newest first, as Gorse keeps it: one Feedback per (type, item), the newest; the type as sent.
void UserFeedback(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseSize(req, "n", 100, res);
  if (!n) return;
  const std::string user = req.matches[1];
  const std::string type = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
  Reply(res, c.service.UserEvents(user, 1000), [&](const std::vector<UserEvent>& events) {
    json out = json::array();
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& x : events) {
      const RawEvent& e = x.event;
      if (e.item.empty() || FeedbackExpired(c, e)) continue;  // searches are not Gorse feedback
      if (!type.empty() && e.action != type) continue;
      if (!seen.insert({e.action, e.item}).second) continue;
      if (out.size() == *n) break;
      out.push_back(GorseFeedback(e));
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
