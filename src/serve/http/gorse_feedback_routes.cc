// The Gorse API's feedback reads and deletions, and session recommendations (docs/http_api.md, "Gorse API").
// Gorse keeps one Feedback per (type, user, item); vane keeps every event: a read answers the newest event of each
// (type, user, item), a deletion removes every event of it.
#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include <fmt/format.h>

#include "vane/events/import.h"
#include "gorse_common.h"
#include "gorse_records.h"

namespace vane::http::gorse {
namespace {

// The position cursor of the feedback list: "" (from the start) or a log position this server gave out.
std::optional<uint64_t> PositionCursor(const Req& req, Res& res) {
  const std::string cursor = Cursor(req);
  if (cursor.empty()) return 0;
  uint64_t pos = 0;
  auto r = std::from_chars(cursor.data(), cursor.data() + cursor.size(), pos);
  if (r.ec == std::errc() && r.ptr == cursor.data() + cursor.size()) return pos;
  SendError(res, Status::InvalidArgument("bad_cursor", fmt::format("cursor: not a cursor this server gave out "
                                                                   "(expected a log position, got '{}')", cursor.substr(0, 64))));
  return std::nullopt;
}

// The user's newest event of each (type, item) with `item` (and `type` when not empty), newest first.
Result<std::vector<RawEvent>> UserItemEvents(const Ctx& c, const std::string& user, const std::string& item,
                                             const std::string& type) {
  auto events = c.service.UserEvents(user, 1000);
  if (!events.ok()) return events.status();
  std::vector<RawEvent> out;
  std::set<std::string> types;
  for (const UserEvent& x : *events)
    if (x.event.item == item && (type.empty() || x.event.action == type) && !FeedbackExpired(c, x.event) &&
        types.insert(x.event.action).second)
      out.push_back(x.event);
  return out;
}

void DeleteFeedback(const Ctx& c, const std::string& type, const std::string& user, const std::string& item, Res& res) {
  std::string position;
  auto r = c.service.DeleteFeedback(user, item, type, &position);
  SetPosition(res, position);
  Reply(res, r, [](uint64_t n) { return json{{"RowAffected", n}}; });
}

}  // namespace

// GET /api/feedback[/{type}]?cursor=&n=: the log in order, feedback only (no searches), of one type when given.
// The cursor is the log position to go on from. {"Cursor", "Feedback"}; the list is also under "Feedbacks", the key
// gorsejs's typings read.
void ListFeedback(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseN(c, req, res);
  if (!n) return;
  auto from = PositionCursor(req, res);
  if (!from) return;
  const std::string type = req.matches.size() > 1 ? req.matches[1].str() : "";
  auto page = c.service.LogEvents(*from, *n, [&](const RawEvent& e) {
    return !e.item.empty() && (type.empty() || e.action == type) && !FeedbackExpired(c, e);
  });
  Reply(res, page, [](const Service::LogPage& p) {
    json list = json::array();
    for (const auto& [seq, e] : p.events) list.push_back(GorseFeedback(e));
    return json{{"Cursor", p.next ? std::to_string(p.next) : ""}, {"Feedback", list}, {"Feedbacks", list}};
  });
}

// GET /api/feedback/{user}/{item}: every type's newest feedback of the user on the item (an empty list when none).
void UserItemFeedback(const Ctx& c, const Req& req, Res& res) {
  Reply(res, UserItemEvents(c, req.matches[1], req.matches[2], ""), [](const std::vector<RawEvent>& events) {
    json out = json::array();
    for (const RawEvent& e : events) out.push_back(GorseFeedback(e));
    return out;
  });
}

// GET /api/feedback/{type}/{user}/{item}: one Feedback; 404 unknown_feedback when there is none.
void TypedFeedback(const Ctx& c, const Req& req, Res& res) {
  auto events = UserItemEvents(c, req.matches[2], req.matches[3], req.matches[1]);
  if (!events.ok()) return SendError(res, events.status());
  if (events->empty())
    return SendError(res, Status::NotFound("unknown_feedback", fmt::format("user '{}' has no '{}' feedback on item '{}'",
                                                                           req.matches[2].str(), req.matches[1].str(),
                                                                           req.matches[3].str())));
  SendJson(res, 200, GorseFeedback(events->front()));
}

void DeleteUserItemFeedback(const Ctx& c, const Req& req, Res& res) {
  DeleteFeedback(c, "", req.matches[1], req.matches[2], res);
}

void DeleteTypedFeedback(const Ctx& c, const Req& req, Res& res) {
  DeleteFeedback(c, req.matches[1], req.matches[2], req.matches[3], res);
}

// GET /api/item/{item}/feedback[/{type}]: the item's feedback in memory, newest first, one per (type, user).
// Comments are not kept in memory: Comment is "" here (the user routes give it).
void ItemFeedback(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseSize(req, "n", 100, res);
  if (!n) return;
  const std::string type = req.matches.size() > 2 ? req.matches[2].str() : "";
  Reply(res, c.service.ItemEvents(req.matches[1], 1000), [&](const std::vector<RawEvent>& events) {
    json out = json::array();
    std::set<std::pair<std::string, std::string>> seen;
    for (const RawEvent& e : events) {
      if (out.size() == *n) break;
      if ((!type.empty() && e.action != type) || FeedbackExpired(c, e) || !seen.insert({e.action, e.user}).second) continue;
      out.push_back(GorseFeedback(e));
    }
    return out;
  });
}

// POST /api/session/recommend[/{category}]: items for an anonymous session given as a Feedback list (not stored):
// the items most like the session's items (content similarity, summed over the session), the session's own items
// left out. [{"Id", "Score"}].
void SessionRecommend(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseN(c, req, res);
  if (!n) return;
  auto offset = ParseSize(req, "offset", 0, res);
  if (!offset) return;
  if (*n + *offset > 1000)
    return SendError(res, Status::InvalidArgument("bad_parameter", fmt::format("n + offset must be at most 1000, got {}",
                                                                               *n + *offset)));
  auto records = FeedbackBody(c, req, res);
  if (!records) return;
  const std::string category = req.matches.size() > 1 ? req.matches[1].str() : "";
  std::set<std::string> session;
  for (const auto& e : *records) session.insert(e["item"].get<std::string>());
  std::map<std::string, double> score;
  for (const std::string& item : session) {
    auto similar = c.service.Similar(item, 100);
    if (!similar.ok()) continue;  // an item the catalogue does not know adds nothing (as in Gorse)
    for (const auto& s : *similar)
      if (!session.count(s.id)) score[s.id] += s.score;
  }
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [id, s] : score) {
    if (!category.empty() || c.opt.gorse_item_ttl_s > 0) {
      auto it = c.service.GetItem(id);
      if (!it.ok() || Expired(c, *it)) continue;
      if (!category.empty() && std::find(it->categories.begin(), it->categories.end(), category) == it->categories.end())
        continue;
    }
    ranked.emplace_back(s, id);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  json out = json::array();
  for (size_t k = *offset; k < ranked.size() && out.size() < *n; ++k) out.push_back({{"Id", ranked[k].second}, {"Score", ranked[k].first}});
  SendJson(res, 200, out);
}

}  // namespace vane::http::gorse
