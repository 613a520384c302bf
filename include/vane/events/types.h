// The data model: items, users and events, in their external (string) form and their compact internal form.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "vane/core/ids.h"
#include "vane/events/actions.h"

namespace vane {

// An item of the catalogue: a page, product, video, article, trip, ...
struct Item {
  std::string id;                 // external id, unique, non-empty
  std::string type = "item";      // free label: "page", "product", "video", "article", "trip", ...
  std::string title;
  std::string text;               // description, free text (any language)
  std::vector<std::string> categories;  // categories and tags
  std::vector<std::pair<std::string, std::string>> attributes;  // brand=..., price=..., city=...
  bool available = true;
  Timestamp created = 0;

  friend bool operator==(const Item&, const Item&) = default;
};

// One behaviour record as read from a file or an API call, before validation.
struct RawEvent {
  std::string user;
  std::string item;     // empty for a pure search
  std::string query;    // search text, for search actions
  std::string action;
  Timestamp ts = 0;
  bool has_ts = false;
  double value = 0;     // dwell seconds, rating, quantity, price
  bool has_value = false;
  std::string session;
  std::string context;  // free JSON or label: device, page, referrer
};

constexpr uint32_t kNoQuery = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kNoSession = std::numeric_limits<uint32_t>::max();

// A validated event with dense ids (24 bytes).
struct Event {
  Timestamp ts = 0;
  UserIdx user;
  ItemIdx item;                 // invalid for a pure search
  uint32_t query = kNoQuery;    // index into Dataset::queries
  uint32_t session = kNoSession;
  float value = 0;
  ActionId action = 0;
  bool has_value = false;
};

}  // namespace vane
