// POST /v1/events's fast path (event_body.h): simdjson's DOM parser (it validates the whole body, as nlohmann does)
// and the common shape read straight into event records.
#include "event_body.h"

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>

namespace vane::http {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// A parser per thread keeps its buffers between requests; one grown by a large body is let go.
constexpr size_t kKeepParserBytes = size_t{8} << 20;

enum Field : unsigned { kUser = 1, kItem = 2, kQuery = 4, kAction = 8, kSession = 16, kTs = 32, kValue = 64, kContext = 128 };

Field FieldOf(std::string_view key) {
  if (key == "user") return kUser;
  if (key == "item") return kItem;
  if (key == "query") return kQuery;
  if (key == "action") return kAction;
  if (key == "session") return kSession;
  if (key == "ts") return kTs;
  if (key == "value") return kValue;
  if (key == "context") return kContext;
  return Field{0};
}

// An id as RawEventFromJson reads it: a string, or an integer written in decimal (nlohmann's dump of it).
bool Id(element v, std::string& out) {
  switch (v.type()) {
    case element_type::STRING: out = std::string_view(v.get_string().value_unsafe()); return true;
    case element_type::INT64: out = std::to_string(v.get_int64().value_unsafe()); return true;
    case element_type::UINT64: out = std::to_string(v.get_uint64().value_unsafe()); return true;
    default: return false;
  }
}

bool Text(element v, std::string& out) {
  if (v.type() != element_type::STRING) return false;
  out = std::string_view(v.get_string().value_unsafe());
  return true;
}

// One member into the event; false: not the common shape (the full path decides).
bool Member(Field f, element v, RawEvent& e) {
  switch (f) {
    case kUser: return Id(v, e.user);
    case kItem: return Id(v, e.item);
    case kSession: return Id(v, e.session);
    case kQuery: return Text(v, e.query);
    case kAction: return Text(v, e.action);
    case kContext: return Text(v, e.context);
    case kTs:
      if (v.type() != element_type::INT64) return false;  // a uint64 past int64, a fraction, a string: full path
      e.ts = v.get_int64().value_unsafe();
      e.has_ts = true;
      return true;
    case kValue:
      switch (v.type()) {
        case element_type::INT64: e.value = static_cast<double>(v.get_int64().value_unsafe()); break;
        case element_type::UINT64: e.value = static_cast<double>(v.get_uint64().value_unsafe()); break;
        case element_type::DOUBLE: e.value = v.get_double().value_unsafe(); break;
        default: return false;
      }
      e.has_value = true;
      return true;
  }
  return false;
}

std::optional<std::vector<Result<RawEvent>>> Read(element doc) {
  simdjson::dom::array array;
  if (doc.get_array().get(array)) return std::nullopt;
  std::vector<Result<RawEvent>> out;
  out.reserve(array.size());
  for (element item : array) {
    simdjson::dom::object obj;
    if (item.get_object().get(obj)) return std::nullopt;
    RawEvent e;
    unsigned seen = 0;
    for (simdjson::dom::key_value_pair kv : obj) {
      Field f = FieldOf(kv.key);
      if (f == 0) continue;
      if (seen & f) return std::nullopt;
      seen |= f;
      if (kv.value.type() == element_type::NULL_VALUE) continue;  // null is absent
      if (!Member(f, kv.value, e)) return std::nullopt;
    }
    out.emplace_back(std::move(e));
  }
  return out;
}

}  // namespace

std::optional<std::vector<Result<RawEvent>>> FastEventRecords(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  element doc;
  std::optional<std::vector<Result<RawEvent>>> out;
  if (!parser.parse(body.data(), body.size(), true).get(doc)) out = Read(doc);
  if (parser.capacity() > kKeepParserBytes) parser = simdjson::dom::parser();
  return out;
}

}  // namespace vane::http
