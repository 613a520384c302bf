// Actions (view, search, cart, purchase, dislike, ...) and how much each says about interest.
//
// An ActionRegistry maps action names (and aliases such as "pv", "buy", "add_to_cart") to a dense ActionId and an
// ActionSpec: a signed weight (negative actions lower interest), whether the item counts as consumed (so it can be
// filtered from recommendations), whether the action is a search, and how its optional value is read (dwell
// seconds or a rating). Presets exist for the five scenarios (ecommerce, video, social, news, travel) and for
// implicit benchmark data. Thread-compatible; immutable after set-up in practice.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vane/core/status.h"

namespace vane {

class BinaryWriter;
class BinaryReader;

using ActionId = uint8_t;

enum class ValueKind : uint8_t {
  kNone,     // value ignored
  kDwell,    // seconds on the item: scales the weight by a saturating curve (see EffectiveWeight)
  kRating,   // explicit rating on a 0..max scale: maps to [-1, 1] around its midpoint
  kQuantity  // quantity / price multiplier, capped
};

struct ActionSpec {
  std::string name;
  float weight = 1.0f;        // signed: dislike/skip/hide/remove_from_cart are negative
  bool consumes = false;      // item counts as consumed (purchase, booking; view on video/news)
  bool is_search = false;     // carries a query text instead of (or besides) an item
  ValueKind value_kind = ValueKind::kNone;
  float value_max = 0;        // rating scale maximum (5) or dwell saturation seconds (300)
  std::vector<std::string> aliases;
};

class ActionRegistry {
 public:
  static constexpr size_t kMaxActions = 64;

  // Known presets: "ecommerce", "video", "social", "news", "travel", "implicit".
  static Result<ActionRegistry> Preset(std::string_view name);
  static std::vector<std::string> PresetNames();
  // Reads {"actions":[{"name":..,"weight":..,"consumes":..,"search":..,"value":"dwell|rating|quantity|none",
  // "value_max":..,"aliases":[..]}]}. Errors name the entry index and field.
  static Result<ActionRegistry> FromJson(std::string_view json_text);
  // The same format (FromJson(ToJson()) gives an equal registry; its preset name becomes "custom").
  std::string ToJson() const;

  // Adds or replaces (by name) an action. REQUIRES: size() < kMaxActions.
  ActionId Add(ActionSpec spec);
  // Makes `name` an action of its own, counted as the action `like` counts (weight, consumption, value kind), so that
  // events of that name are stored and read back under it: an alias of another action stops being one; an action
  // already of that name is left as it is (returns false). FailedPrecondition when `like` is unknown or the
  // registry is full (kMaxActions). Returns whether the registry changed.
  Result<bool> AddNamed(const std::string& name, std::string_view like);
  // Makes `name` an action of its own that counts for nothing (weight 0, consumes nothing, no value): events of it
  // are kept and read back under it and move no interest. Otherwise as AddNamed.
  Result<bool> AddNeutral(const std::string& name);
  // Case-insensitive lookup of a name or alias.
  std::optional<ActionId> Find(std::string_view name) const;
  const ActionSpec& spec(ActionId id) const { return specs_[id]; }
  size_t size() const { return specs_.size(); }
  const std::string& preset() const { return preset_; }

  // The signed interest weight of one event with this action, after value normalisation:
  //  dwell: weight * clamp(log1p(v) / log1p(value_max), 0.1, 1)  (a 2 s bounce counts little, 5 min fully);
  //  rating: weight * clamp((v - value_max/2) / (value_max/2), -1, 1);  quantity: weight * clamp(v, 1, value_max).
  float EffectiveWeight(ActionId id, float value, bool has_value) const;
  std::optional<ActionId> search_action() const { return search_; }

  // Snapshot (core/binary_io.h): the specs, the preset name and the search action.
  void Save(BinaryWriter& w) const;
  Status Load(BinaryReader& r);

 private:
  Result<bool> AddOwn(const std::string& name, ActionSpec spec);  // AddNamed's rules, with the spec given

  std::vector<ActionSpec> specs_;
  std::string preset_;
  std::optional<ActionId> search_;
};

}  // namespace vane
