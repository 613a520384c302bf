// The Gorse request bodies as vane records (gorse_records.h).
#include "gorse_records.h"

#include <map>
#include <utility>

#include <fmt/format.h>

namespace vane::http::gorse {

using json = nlohmann::json;

std::string GorseAction(const std::string& t) {
  static const std::map<std::string, std::string> kMap = {{"star", "like"}, {"read", "view"}, {"watch", "view"}};
  auto it = kMap.find(t);
  return it == kMap.end() ? t : it->second;
}

Result<json> FromGorseItem(const json& g) {
  auto bad = [](std::string m) { return Status::InvalidArgument(std::move(m)); };
  if (!g.is_object()) return bad("expected a JSON object");
  auto id = g.find("ItemId");
  if (id == g.end() || !id->is_string() || id->get<std::string>().empty()) return bad("ItemId: missing or not a string");
  json out = {{"id", id->get<std::string>()}};
  if (auto h = g.find("IsHidden"); h != g.end() && !h->is_null()) {
    if (!h->is_boolean()) return bad("IsHidden: expected a boolean");
    out["available"] = !h->get<bool>();
  }
  if (auto c = g.find("Categories"); c != g.end() && !c->is_null()) {
    if (!c->is_array()) return bad("Categories: expected an array of strings");
    out["categories"] = *c;
  }
  if (auto c = g.find("Comment"); c != g.end() && !c->is_null()) {
    if (!c->is_string()) return bad("Comment: expected a string");
    out["title"] = *c;
  }
  if (auto l = g.find("Labels"); l != g.end() && !l->is_null()) {
    std::string text;
    if (l->is_array()) {
      for (const auto& x : *l) {
        if (!x.is_string()) return bad("Labels: expected strings");
        text += (text.empty() ? "" : ",") + x.get<std::string>();
      }
    } else if (!l->is_object()) {
      return bad("Labels: expected an array of strings");
    }
    if (!text.empty()) out["text"] = text;
  }
  return out;
}

Result<json> FeedbackEvents(const json& body) {
  json events = json::array();
  for (size_t k = 0; k < body.size(); ++k) {
    const json& f = body[k];
    auto bad = [&](const std::string& why) { return Status::InvalidArgument("bad_feedback", fmt::format("feedback {}: {}", k, why)); };
    if (!f.is_object()) return bad("expected a JSON object");
    json e = json::object();
    for (auto [from, to] : {std::pair{"UserId", "user"}, {"ItemId", "item"}}) {
      auto it = f.find(from);
      if (it == f.end() || !it->is_string()) return bad(fmt::format("{} missing or not a string", from));
      e[to] = *it;
    }
    auto t = f.find("FeedbackType");
    if (t == f.end() || !t->is_string()) return bad("FeedbackType missing or not a string");
    e["action"] = GorseAction(t->get<std::string>());
    if (auto v = f.find("Value"); v != f.end() && v->is_number()) e["value"] = *v;
    if (auto ts = f.find("Timestamp"); ts != f.end() && ts->is_string() && !ts->get<std::string>().empty()) e["ts"] = *ts;
    events.push_back(e);
  }
  return events;
}

}  // namespace vane::http::gorse
