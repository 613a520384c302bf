#include "vane/events/json_records.h"

#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "values.h"
#include "vane/events/cleaner.h"
#include "vane/events/iso8601.h"

namespace vane {
namespace {

using events_detail::Quote;
using nlohmann::json;

std::string JsonTypeName(const json& v) {
  if (v.is_number()) return "number";
  return v.type_name();
}

// The member `key` of `obj`, or null when absent or null.
const json* Member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

Status WrongType(const char* field, std::string_view expected, const json& got) {
  return RecordRejection(field, fmt::format("wrong type: expected {}, got {}", expected, JsonTypeName(got)));
}

// A JSON id (string, or an integer written as a number) into `out`. Absent or null leaves it empty.
Status JsonId(const json& obj, const char* key, std::string& out) {
  out.clear();
  const json* v = Member(obj, key);
  if (!v) return Status::Ok();
  if (v->is_string()) {
    out = v->get_ref<const std::string&>();
  } else if (v->is_number_integer()) {
    out = v->dump();
  } else {
    return WrongType(key, "a string", *v);
  }
  return Status::Ok();
}

Status JsonString(const json& obj, const char* key, std::string& out) {
  out.clear();
  const json* v = Member(obj, key);
  if (!v) return Status::Ok();
  if (!v->is_string()) return WrongType(key, "a string", *v);
  out = v->get_ref<const std::string&>();
  return Status::Ok();
}

// A time written as a string: unix seconds or ISO-8601.
Status TimeFromString(const char* key, const std::string& s, Timestamp& out) {
  double d;
  if (events_detail::ParseDouble(s, d)) {
    if (!events_detail::SecondsToTs(d, out)) return RecordRejection(key, "out of range: " + Quote(s));
    return Status::Ok();
  }
  auto r = ParseIso8601(s);
  if (!r.ok()) return RecordRejection(key, "not a time: " + Quote(s) + " (expected unix seconds or ISO-8601)");
  out = r.value();
  return Status::Ok();
}

// "ts"/"created": unix seconds as a number, or a string holding unix seconds or an ISO-8601 time.
Status JsonTime(const json& obj, const char* key, Timestamp& out, bool& has) {
  has = false;
  const json* v = Member(obj, key);
  if (!v) return Status::Ok();
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return RecordRejection(key, "out of range: " + v->dump());
    out = v->get<int64_t>();
  } else if (v->is_number_float()) {
    if (!events_detail::SecondsToTs(v->get<double>(), out)) return RecordRejection(key, "out of range: " + v->dump());
  } else if (v->is_string()) {
    VANE_RETURN_IF_ERROR(TimeFromString(key, v->get_ref<const std::string&>(), out));
  } else {
    return WrongType(key, "a number or an ISO-8601 string", *v);
  }
  has = true;
  return Status::Ok();
}

Status JsonCategories(const json& j, std::vector<std::string>& out) {
  const json* v = Member(j, "categories");
  if (!v) return Status::Ok();
  if (!v->is_array()) return WrongType("categories", "an array of strings", *v);
  for (size_t k = 0; k < v->size(); ++k) {
    const json& c = (*v)[k];
    if (!c.is_string())
      return RecordRejection("categories",
                             fmt::format("wrong type: expected an array of strings, element {} is {}", k, JsonTypeName(c)));
    out.push_back(c.get<std::string>());
  }
  return Status::Ok();
}

Status JsonAttributes(const json& j, std::vector<std::pair<std::string, std::string>>& out) {
  const json* v = Member(j, "attributes");
  if (!v) return Status::Ok();
  if (!v->is_object()) return WrongType("attributes", "an object", *v);
  for (const auto& [k, a] : v->items()) {
    if (a.is_string()) {
      out.emplace_back(k, a.get<std::string>());
    } else if (a.is_number()) {
      out.emplace_back(k, a.dump());
    } else {
      return RecordRejection("attributes", fmt::format("wrong type: value of {} must be a string or number, got {}",
                                                       Quote(k), JsonTypeName(a)));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<RawEvent> RawEventFromJson(const json& j) {
  RawEvent raw;
  VANE_RETURN_IF_ERROR(JsonId(j, "user", raw.user));
  VANE_RETURN_IF_ERROR(JsonId(j, "item", raw.item));
  VANE_RETURN_IF_ERROR(JsonString(j, "query", raw.query));
  VANE_RETURN_IF_ERROR(JsonString(j, "action", raw.action));
  VANE_RETURN_IF_ERROR(JsonId(j, "session", raw.session));
  VANE_RETURN_IF_ERROR(JsonTime(j, "ts", raw.ts, raw.has_ts));
  if (const json* v = Member(j, "value")) {
    if (!v->is_number()) return WrongType("value", "a number", *v);
    raw.value = v->get<double>();
    raw.has_value = true;
  }
  // Context is free: a label or any JSON value, kept as text.
  if (const json* v = Member(j, "context"))
    raw.context = v->is_string() ? v->get<std::string>() : v->dump(-1, ' ', false, json::error_handler_t::replace);
  return raw;
}

Result<Item> ItemFromJson(const json& j) {
  Item item;
  VANE_RETURN_IF_ERROR(JsonId(j, "id", item.id));
  if (item.id.empty()) return RecordRejection("id", "missing");
  std::string type;
  VANE_RETURN_IF_ERROR(JsonString(j, "type", type));
  if (!type.empty()) item.type = std::move(type);
  VANE_RETURN_IF_ERROR(JsonString(j, "title", item.title));
  VANE_RETURN_IF_ERROR(JsonString(j, "text", item.text));
  VANE_RETURN_IF_ERROR(JsonCategories(j, item.categories));
  VANE_RETURN_IF_ERROR(JsonAttributes(j, item.attributes));
  if (const json* v = Member(j, "available")) {
    if (!v->is_boolean()) return WrongType("available", "a boolean", *v);
    item.available = v->get<bool>();
  }
  bool has_created = false;
  VANE_RETURN_IF_ERROR(JsonTime(j, "created", item.created, has_created));
  return item;
}

}  // namespace vane
