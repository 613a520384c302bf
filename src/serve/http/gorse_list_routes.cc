// The Gorse API's cursor-paged users and items, item categories, user neighbours, and Gorse v0.5's recommender
// routes where they map onto vane (docs/http_api.md, "Gorse API").
#include <algorithm>

#include <fmt/format.h>

#include "vane/events/ids.h"
#include "gorse_common.h"

namespace vane::http::gorse {
namespace {

// A cursor of the users' or items' list: the id of the last record of the previous page ("" = from the first);
// anything that cannot be an id is refused (400 bad_cursor).
std::optional<std::string> IdCursor(const Req& req, Res& res) {
  std::string cursor = Cursor(req);
  if (cursor.empty()) return cursor;
  if (Status s = CheckId("cursor", cursor); !s.ok()) {
    SendError(res, Status::InvalidArgument("bad_cursor", fmt::format("cursor: not a cursor this server gave out ({})",
                                                                     s.message())));
    return std::nullopt;
  }
  return cursor;
}

// {"Cursor": <the last id when the page is full, else "">, <key>: [...]}.
json Page(const char* key, json list, const std::string& last, size_t n) {
  return {{"Cursor", list.size() == n ? last : ""}, {key, std::move(list)}};
}

// Changes an item's categories and stores it (PUT/DELETE /api/item/{item}/category/{category}).
void EditCategory(const Ctx& c, const Req& req, Res& res, bool add) {
  auto item = c.service.GetItem(req.matches[1]);
  if (!item.ok()) return SendError(res, item.status());
  const std::string cat = req.matches[2];
  if (Status s = CheckId("category", cat); !s.ok()) return SendError(res, s.Prefixed("path parameter category: "));
  auto& cats = item->categories;
  const bool has = std::find(cats.begin(), cats.end(), cat) != cats.end();
  if (add && !has) cats.push_back(cat);
  if (!add) std::erase(cats, cat);
  if (add == has) return SendJson(res, 200, json{{"RowAffected", 0}});  // nothing to change
  std::vector<Item> one{std::move(item).value()};
  std::string position;
  auto r = c.service.PutItems(std::move(one), &position);
  SetPosition(res, position);
  Reply(res, r, [](size_t n) { return json{{"RowAffected", n}}; });
}

Status UnknownRecommender(const char* kind, const std::string& name, const char* known) {
  return Status::NotFound("unknown_recommender", fmt::format("no {} recommender named '{}' (known: {})", kind, name, known));
}

// Users like `user`, [{"Id", "Score"}], n of them (?n=).
void SimilarUsers(const Ctx& c, const Req& req, const std::string& user, Res& res) {
  auto n = ParseN(c, req, res);
  if (!n) return;
  Reply(res, c.service.SimilarUsers(user, *n), [](const auto& users) {
    json out = json::array();
    for (const auto& u : users) out.push_back({{"Id", u.id}, {"Score", u.score}});
    return out;
  });
}

}  // namespace

void ListUsers(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseN(c, req, res);
  if (!n) return;
  auto cursor = IdCursor(req, res);
  if (!cursor) return;
  auto ids = c.service.UserIdsAfter(*cursor, *n);
  if (!ids.ok()) return SendError(res, ids.status());
  json users = json::array();
  for (const std::string& id : *ids) {
    auto rec = c.service.GetUserRecord(id);
    if (!rec.ok()) continue;  // deleted meanwhile
    users.push_back(GorseUser(id, json::parse(*rec, nullptr, false)));
  }
  SendJson(res, 200, Page("Users", std::move(users), ids->empty() ? "" : ids->back(), *n));
}

void ListItems(const Ctx& c, const Req& req, Res& res) {
  auto n = ParseN(c, req, res);
  if (!n) return;
  auto cursor = IdCursor(req, res);
  if (!cursor) return;
  Reply(res, c.service.ItemsAfter(*cursor, *n), [&](const std::vector<Item>& items) {
    json out = json::array();
    for (const Item& it : items) out.push_back(GorseItem(it));
    return Page("Items", std::move(out), items.empty() ? "" : items.back().id, *n);
  });
}

void PutCategory(const Ctx& c, const Req& req, Res& res) { EditCategory(c, req, res, true); }
void DeleteCategory(const Ctx& c, const Req& req, Res& res) { EditCategory(c, req, res, false); }

// Users like this one: [{"Id", "Score"}] (Gorse's user neighbours); the v0.5 route takes the same.
void UserNeighbors(const Ctx& c, const Req& req, Res& res) { SimilarUsers(c, req, req.matches[1], res); }

// v0.5 /api/non-personalized/{name}: vane's two non-personalised lists, "popular" and "latest".
void NonPersonalized(const Ctx& c, const Req& req, Res& res) {
  const std::string name = req.matches[1];
  if (name == "popular") return List(c, req, res, Service::ListKind::kPopular, "");
  if (name == "latest") return List(c, req, res, Service::ListKind::kLatest, "");
  SendError(res, UnknownRecommender("non-personalized", name, "popular, latest"));
}

// v0.5 /api/item-to-item/{name}/{item}: vane's one item-to-item recommender, "neighbors" (content similarity).
void ItemToItem(const Ctx& c, const Req& req, Res& res) {
  if (req.matches[1] != "neighbors") return SendError(res, UnknownRecommender("item-to-item", req.matches[1], "neighbors"));
  auto n = ParseN(c, req, res);
  if (!n) return;
  Reply(res, c.service.Similar(req.matches[2], std::min<size_t>(1000, *n * 2 + 8)), [&](const auto& items) {
    json out = json::array();  // Similar may give fewer than asked (hidden items are left out after its search)
    for (const auto& s : items)
      if (out.size() < *n) out.push_back({{"Id", s.id}, {"Score", s.score}});
    return out;
  });
}

// v0.5 /api/user-to-user/{name}/{user}: "neighbors", the users of UserNeighbors.
void UserToUser(const Ctx& c, const Req& req, Res& res) {
  if (req.matches[1] != "neighbors") return SendError(res, UnknownRecommender("user-to-user", req.matches[1], "neighbors"));
  SimilarUsers(c, req, req.matches[2], res);
}

// v0.5 /api/collaborative-filtering/{user}[/{category}]: vane's personalised ranking with scores (its blend of
// collaborative and content sources; vane has no collaborative-filtering-only ranking to expose), as
// /api/recommend ranks it (item TTL, offset, ?category=).
void CollaborativeFiltering(const Ctx& c, const Req& req, Res& res) {
  if (auto out = RankedPage(c, req, res, true)) SendJson(res, 200, *out);
}

}  // namespace vane::http::gorse
