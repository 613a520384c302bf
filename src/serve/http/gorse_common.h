// What the Gorse route files (gorse_routes.cc, gorse_feedback_routes.cc, gorse_list_routes.cc) share: Gorse's
// renderings of vane's records and the query parameters every Gorse route reads. Private to src/serve/http.
#pragma once

#include <optional>
#include <string>

#include "internal.h"

namespace vane::http::gorse {

// A time as Gorse writes it: RFC 3339 in UTC ("2026-01-01T00:00:00Z").
std::string GorseTime(Timestamp t);
// A catalogue item as a Gorse Item {ItemId, IsHidden, Categories, Labels, Comment, Timestamp}.
json GorseItem(const Item& it);
// A user record (the stored JSON, or {} for a user with events only) as a Gorse User.
json GorseUser(const std::string& id, const json& rec);
// A stored event as a Gorse Feedback {FeedbackType, UserId, ItemId, Value, Timestamp, Comment}.
json GorseFeedback(const RawEvent& e);
// `n` as Gorse reads it: HttpOptions::gorse_default_n when absent; nullopt after answering 400.
std::optional<size_t> ParseN(const Ctx& c, const Req& req, Res& res);
// The cursor of a cursor-paged list: Gorse's `cursor` (gorsejs sends `Cursor`), "" when absent.
std::string Cursor(const Req& req);
// Whether an item is past HttpOptions::gorse_item_ttl_s (only items with a Timestamp age).
bool Expired(const Ctx& c, const Item& it);
// Popular or latest items as Gorse lists them ([{"Id", "Score"}]), of `category` (or ?category=) when not empty.
void List(const Ctx& c, const Req& req, Res& res, Service::ListKind kind, std::string category);
// A request body that is an array of Gorse Feedback objects within the batch limit, as vane records
// (FeedbackEvents); nullopt after answering with an error.
std::optional<json> FeedbackBody(const Ctx& c, const Req& req, Res& res);
// The personalised ranking of GET /api/recommend/{user}[/{category}] and v0.5's /api/collaborative-filtering:
// n, offset and the category (the path's, else ?category=) read; vane asked for enough items that those past the
// item TTL can be left out; the page after offset, as ids or as [{"Id", "Score"}] when `scored`. nullopt after
// answering with an error.
std::optional<json> RankedPage(const Ctx& c, const Req& req, Res& res, bool scored);
// Whether feedback is past HttpOptions::gorse_feedback_ttl_s.
bool FeedbackExpired(const Ctx& c, const RawEvent& e);

// ---- handlers (the route table in server.cc names them; declared with the others in internal.h) ----

}  // namespace vane::http::gorse
