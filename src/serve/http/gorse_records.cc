// The Gorse request bodies as vane records (gorse_records.h).
#include "gorse_records.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "vane/events/ids.h"

namespace vane::http::gorse {

using json = nlohmann::json;

namespace {

Status Bad(const char* code, const std::string& field, const std::string& why) {
  return Status::InvalidArgument(code, fmt::format("{}: {}", field, why)).WithField(field);
}

std::string TypeName(const json& v) { return v.is_number() ? "number" : v.type_name(); }

// The member `key`, or null when absent or null (Go's decoder takes null as absent).
const json* Field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// Why a present value is of the wrong type; nullopt when absent or `ok`.
std::optional<std::string> NotA(const json* v, const char* expected, bool ok) {
  if (!v || ok) return std::nullopt;
  return fmt::format("wrong type: expected {}, got {}", expected, TypeName(*v));
}

bool StringArray(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); });
}

// A required string id: present, a string, and following the id rule.
Status Id(const char* code, const json& obj, const char* key) {
  const json* v = Field(obj, key);
  if (!v || !v->is_string()) return Bad(code, key, v ? "wrong type: expected a string, got " + TypeName(*v) : "missing");
  if (Status s = CheckId(key, v->get_ref<const std::string&>()); !s.ok()) return s.Prefixed(std::string(key) + ": ");
  return Status::Ok();
}

constexpr const char* kTime = "a string (a time such as 2026-01-01T00:00:00Z)";

// Every string in a JSON value (object keys included): the words of Labels of any shape, for the content index.
void LabelWords(const json& v, std::string& out) {
  auto add = [&](const std::string& w) { out += (out.empty() ? "" : ",") + w; };
  if (v.is_string()) {
    add(v.get<std::string>());
  } else if (v.is_array()) {
    for (const auto& x : v) LabelWords(x, out);
  } else if (v.is_object()) {
    for (const auto& [k, x] : v.items()) {
      add(k);
      LabelWords(x, out);
    }
  }
}

// Labels into the record: words into "text"; any shape but plain strings kept as given.
void PutLabels(const json& labels, json& out) {
  std::string words;
  LabelWords(labels, words);
  if (!words.empty()) out["text"] = words;
  const bool plain = StringArray(labels) && std::none_of(labels.begin(), labels.end(), [](const json& l) {
                       return l.get_ref<const std::string&>().find(',') != std::string::npos;
                     });
  if (!plain) out["attributes"] = {{kLabelsAttribute, labels.dump(-1, ' ', false, json::error_handler_t::replace)}};
}

// One Feedback object as an event record.
Result<json> FeedbackEvent(const json& f) {
  auto bad = [](const std::string& field, const std::string& why) { return Bad("bad_feedback", field, why); };
  if (!f.is_object()) return bad("record", "expected a JSON object, got " + TypeName(f));
  const json* type = Field(f, "FeedbackType");
  if (!type || !type->is_string() || type->get_ref<const std::string&>().empty())
    return bad("FeedbackType", type && !type->is_string() ? "wrong type: expected a string, got " + TypeName(*type) : "missing");
  VANE_RETURN_IF_ERROR(Id("bad_feedback", f, "UserId"));
  VANE_RETURN_IF_ERROR(Id("bad_feedback", f, "ItemId"));
  const json *ts = Field(f, "Timestamp"), *value = Field(f, "Value"), *comment = Field(f, "Comment");
  if (auto m = NotA(ts, kTime, ts && ts->is_string())) return bad("Timestamp", *m);
  if (auto m = NotA(value, "a number", value && value->is_number())) return bad("Value", *m);
  if (auto m = NotA(comment, "a string", comment && comment->is_string())) return bad("Comment", *m);
  json e = {{"action", *type}, {"user", f["UserId"]}, {"item", f["ItemId"]}};
  if (ts && !ts->get_ref<const std::string&>().empty()) e["ts"] = *ts;
  if (value) e["value"] = *value;
  if (comment && !comment->get_ref<const std::string&>().empty()) e["context"] = *comment;
  return e;
}

}  // namespace

Result<json> FromGorseItem(const json& g) {
  auto bad = [](const std::string& field, const std::string& why) { return Bad("bad_item", field, why); };
  if (!g.is_object()) return bad("record", "expected a JSON object, got " + TypeName(g));
  VANE_RETURN_IF_ERROR(Id("bad_item", g, "ItemId"));
  const json *hidden = Field(g, "IsHidden"), *cats = Field(g, "Categories"), *comment = Field(g, "Comment"),
             *ts = Field(g, "Timestamp"), *labels = Field(g, "Labels");
  if (auto e = NotA(hidden, "a boolean", hidden && hidden->is_boolean())) return bad("IsHidden", *e);
  if (auto e = NotA(cats, "an array of strings", cats && StringArray(*cats))) return bad("Categories", *e);
  if (auto e = NotA(comment, "a string", comment && comment->is_string())) return bad("Comment", *e);
  if (auto e = NotA(ts, kTime, ts && ts->is_string())) return bad("Timestamp", *e);
  json out = {{"id", g["ItemId"]}};
  if (hidden) out["available"] = !hidden->get<bool>();
  if (cats) out["categories"] = *cats;
  if (comment) out["title"] = *comment;
  if (ts && !ts->get_ref<const std::string&>().empty()) out["created"] = *ts;
  if (labels) PutLabels(*labels, out);
  return out;
}

Status CheckGorseUser(const json& u) {
  auto bad = [](const std::string& field, const std::string& why) { return Bad("bad_user", field, why); };
  if (!u.is_object()) return bad("record", "expected a JSON object, got " + TypeName(u));
  VANE_RETURN_IF_ERROR(Id("bad_user", u, "UserId"));
  const json *sub = Field(u, "Subscribe"), *comment = Field(u, "Comment");
  if (auto e = NotA(sub, "an array of strings", sub && StringArray(*sub))) return bad("Subscribe", *e);
  if (auto e = NotA(comment, "a string", comment && comment->is_string())) return bad("Comment", *e);
  return Status::Ok();
}

Result<json> FeedbackEvents(const json& body) {
  json events = json::array();
  for (size_t k = 0; k < body.size(); ++k) {
    auto e = FeedbackEvent(body[k]);
    if (!e.ok()) return e.status().Prefixed(fmt::format("feedback {}: ", k));
    events.push_back(std::move(e).value());
  }
  return events;
}

}  // namespace vane::http::gorse
