#include "vane/events/actions.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

#include "vane/core/binary_io.h"

namespace vane {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

ActionSpec A(std::string name, float w, bool consumes = false, std::vector<std::string> aliases = {},
             ValueKind vk = ValueKind::kNone, float vmax = 0) {
  ActionSpec s;
  s.name = std::move(name);
  s.weight = w;
  s.consumes = consumes;
  s.aliases = std::move(aliases);
  s.value_kind = vk;
  s.value_max = vmax;
  return s;
}

ActionSpec Search(float w) {
  ActionSpec s = A("search", w, false, {"query", "search_query"});
  s.is_search = true;
  return s;
}

// Actions every preset shares; presets then adjust weights and what counts as consumed.
void AddCommon(ActionRegistry& r, bool view_consumes) {
  r.Add(A("view", 1.0f, view_consumes, {"browse", "page_view", "pageview", "pv", "impression_click", "watch", "read"}));
  r.Add(A("click", 1.0f, false, {"clk"}));
  r.Add(Search(1.5f));
  r.Add(A("dwell", 1.0f, false, {"dwell_time"}, ValueKind::kDwell, 300));
  r.Add(A("like", 2.0f, false, {"fav", "favorite", "favourite", "upvote"}));
  r.Add(A("share", 2.5f, false, {"repost", "forward"}));
  r.Add(A("comment", 2.0f, false, {"reply"}));
  r.Add(A("rating", 1.0f, false, {"rate", "rated"}, ValueKind::kRating, 5));
  r.Add(A("dislike", -2.0f, false, {"thumbs_down", "downvote"}));
  r.Add(A("skip", -0.5f, false, {"skipped"}));
  r.Add(A("hide", -3.0f, false, {"not_interested", "block"}));
}

}  // namespace

std::vector<std::string> ActionRegistry::PresetNames() {
  return {"ecommerce", "video", "social", "news", "travel", "implicit"};
}

Result<ActionRegistry> ActionRegistry::Preset(std::string_view name) {
  ActionRegistry r;
  if (name == "ecommerce") {
    AddCommon(r, false);
    r.Add(A("cart", 3.0f, false, {"add_to_cart", "addtocart", "add-to-cart"}, ValueKind::kQuantity, 5));
    r.Add(A("remove_from_cart", -1.5f, false, {"removefromcart", "remove-from-cart", "uncart"}));
    r.Add(A("purchase", 5.0f, true, {"buy", "order", "checkout", "transaction"}, ValueKind::kQuantity, 5));
  } else if (name == "video") {
    AddCommon(r, true);
    r.Add(A("complete", 3.0f, true, {"finish", "watched"}));
    r.Add(A("subscribe", 4.0f, false, {"follow"}));
  } else if (name == "social") {
    AddCommon(r, false);
    r.Add(A("follow", 4.0f, false, {"subscribe"}));
    r.Add(A("report", -5.0f, false, {"flag"}));
  } else if (name == "news") {
    AddCommon(r, true);
    r.Add(A("bookmark", 3.0f, false, {"save"}));
  } else if (name == "travel") {
    AddCommon(r, false);
    r.Add(A("save", 2.0f, false, {"wishlist", "bookmark"}));
    r.Add(A("cart", 3.0f, false, {"hold", "add_to_cart"}));
    r.Add(A("remove_from_cart", -1.5f, false, {"release"}));
    r.Add(A("booking", 6.0f, true, {"book", "purchase", "buy", "reserve"}));
    r.Add(A("cancel", -3.0f, false, {"cancellation"}));
  } else if (name == "implicit") {
    // Benchmark files: every record is one positive, consumed interaction.
    r.Add(A("interact", 1.0f, true, {"view", "click", "rating", "rate", "purchase"}));
    r.Add(Search(1.0f));
  } else {
    return Status::InvalidArgument("unknown action preset '" + std::string(name) +
                                   "' (known: ecommerce, video, social, news, travel, implicit)");
  }
  r.preset_ = std::string(name);
  return r;
}

Result<ActionRegistry> ActionRegistry::FromJson(std::string_view json_text) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("action config: not valid JSON");
  if (!j.is_object() || !j.contains("actions") || !j["actions"].is_array())
    return Status::InvalidArgument("action config: expected an object with an array field 'actions'");
  ActionRegistry r;
  size_t idx = 0;
  for (const auto& a : j["actions"]) {
    std::string where = "action config: actions[" + std::to_string(idx++) + "]";
    if (!a.is_object()) return Status::InvalidArgument(where + ": expected an object");
    if (!a.contains("name") || !a["name"].is_string() || a["name"].get<std::string>().empty())
      return Status::InvalidArgument(where + ".name: missing or not a non-empty string");
    if (!a.contains("weight") || !a["weight"].is_number())
      return Status::InvalidArgument(where + ".weight: missing or not a number");
    ActionSpec s;
    s.name = a["name"].get<std::string>();
    s.weight = a["weight"].get<float>();
    if (a.contains("consumes")) {
      if (!a["consumes"].is_boolean()) return Status::InvalidArgument(where + ".consumes: not a boolean");
      s.consumes = a["consumes"].get<bool>();
    }
    if (a.contains("search")) {
      if (!a["search"].is_boolean()) return Status::InvalidArgument(where + ".search: not a boolean");
      s.is_search = a["search"].get<bool>();
    }
    if (a.contains("value")) {
      std::string v = a["value"].is_string() ? a["value"].get<std::string>() : "";
      if (v == "dwell") s.value_kind = ValueKind::kDwell;
      else if (v == "rating") s.value_kind = ValueKind::kRating;
      else if (v == "quantity") s.value_kind = ValueKind::kQuantity;
      else if (v == "none") s.value_kind = ValueKind::kNone;
      else return Status::InvalidArgument(where + ".value: expected dwell, rating, quantity or none");
    }
    if (a.contains("value_max")) {
      if (!a["value_max"].is_number() || a["value_max"].get<float>() <= 0)
        return Status::InvalidArgument(where + ".value_max: not a positive number");
      s.value_max = a["value_max"].get<float>();
    }
    if (s.value_kind != ValueKind::kNone && s.value_max <= 0)
      s.value_max = s.value_kind == ValueKind::kDwell ? 300 : 5;
    if (a.contains("aliases")) {
      if (!a["aliases"].is_array()) return Status::InvalidArgument(where + ".aliases: not an array");
      for (const auto& al : a["aliases"]) {
        if (!al.is_string()) return Status::InvalidArgument(where + ".aliases: not all strings");
        s.aliases.push_back(al.get<std::string>());
      }
    }
    if (r.size() >= kMaxActions) return Status::InvalidArgument("action config: more than 64 actions");
    r.Add(std::move(s));
  }
  if (r.size() == 0) return Status::InvalidArgument("action config: 'actions' is empty");
  r.preset_ = "custom";
  return r;
}

std::string ActionRegistry::ToJson() const {
  nlohmann::json actions = nlohmann::json::array();
  for (const ActionSpec& s : specs_) {
    const char* kind = s.value_kind == ValueKind::kDwell ? "dwell" : s.value_kind == ValueKind::kRating ? "rating"
                     : s.value_kind == ValueKind::kQuantity ? "quantity" : "none";
    nlohmann::json a = {{"name", s.name}, {"weight", s.weight}, {"consumes", s.consumes}, {"search", s.is_search},
                        {"value", kind}, {"aliases", s.aliases}};
    if (s.value_kind != ValueKind::kNone) a["value_max"] = s.value_max;
    actions.push_back(std::move(a));
  }
  return nlohmann::json{{"actions", std::move(actions)}}.dump();
}

ActionId ActionRegistry::Add(ActionSpec spec) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (IEquals(specs_[i].name, spec.name)) {
      specs_[i] = std::move(spec);
      if (specs_[i].is_search) search_ = static_cast<ActionId>(i);
      return static_cast<ActionId>(i);
    }
  }
  VANE_CHECK(specs_.size() < kMaxActions, "too many actions");
  specs_.push_back(std::move(spec));
  auto id = static_cast<ActionId>(specs_.size() - 1);
  if (specs_.back().is_search && !search_) search_ = id;
  return id;
}

Result<bool> ActionRegistry::AddNamed(const std::string& name, std::string_view like) {
  auto model = Find(like);
  if (!model) return Status::FailedPrecondition("no action '" + std::string(like) + "' to count '" + name + "' as");
  ActionSpec spec = specs_[*model];
  return AddOwn(name, std::move(spec));
}

Result<bool> ActionRegistry::AddNeutral(const std::string& name) {
  ActionSpec spec;
  spec.weight = 0;
  return AddOwn(name, std::move(spec));
}

Result<bool> ActionRegistry::AddOwn(const std::string& name, ActionSpec spec) {
  for (const ActionSpec& s : specs_)
    if (IEquals(s.name, name)) return false;
  if (specs_.size() >= kMaxActions)
    return Status::FailedPrecondition("cannot add action '" + name + "': the registry holds its maximum of " +
                                      std::to_string(kMaxActions) + " actions");
  spec.name = name;
  spec.aliases.clear();
  spec.is_search = false;
  for (ActionSpec& s : specs_)
    std::erase_if(s.aliases, [&](const std::string& a) { return IEquals(a, name); });
  Add(std::move(spec));
  return true;
}

std::optional<ActionId> ActionRegistry::Find(std::string_view name) const {
  for (size_t i = 0; i < specs_.size(); ++i)
    if (IEquals(specs_[i].name, name)) return static_cast<ActionId>(i);
  for (size_t i = 0; i < specs_.size(); ++i)
    for (const auto& al : specs_[i].aliases)
      if (IEquals(al, name)) return static_cast<ActionId>(i);
  return std::nullopt;
}

float ActionRegistry::EffectiveWeight(ActionId id, float value, bool has_value) const {
  const ActionSpec& s = specs_[id];
  if (!has_value || s.value_kind == ValueKind::kNone) return s.weight;
  switch (s.value_kind) {
    case ValueKind::kDwell: {
      float f = std::log1p(std::max(0.0f, value)) / std::log1p(s.value_max);
      return s.weight * std::clamp(f, 0.1f, 1.0f);
    }
    case ValueKind::kRating: {
      float mid = s.value_max / 2;
      return s.weight * std::clamp((value - mid) / mid, -1.0f, 1.0f);
    }
    case ValueKind::kQuantity:
      return s.weight * std::clamp(value, 1.0f, std::max(1.0f, s.value_max));
    case ValueKind::kNone:
      break;
  }
  return s.weight;
}

void ActionRegistry::Save(BinaryWriter& w) const {
  w.Tag("actions");
  w.U64(specs_.size());
  for (const ActionSpec& s : specs_) {
    w.Str(s.name);
    w.F32(s.weight);
    w.Bool(s.consumes);
    w.Bool(s.is_search);
    w.U8(static_cast<uint8_t>(s.value_kind));
    w.F32(s.value_max);
    w.StrVec(s.aliases);
  }
  w.Str(preset_);
  w.Bool(search_.has_value());
  w.U8(search_.value_or(0));
}

Status ActionRegistry::Load(BinaryReader& r) {
  r.Expect("actions");
  uint64_t n = r.Count(8, "actions");
  if (n > kMaxActions) r.Fail("more than 64 actions");
  specs_.clear();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    ActionSpec s;
    s.name = r.Str();
    s.weight = r.F32();
    s.consumes = r.Bool();
    s.is_search = r.Bool();
    uint8_t kind = r.U8();
    if (kind > static_cast<uint8_t>(ValueKind::kQuantity)) r.Fail("unknown value kind");
    s.value_kind = static_cast<ValueKind>(kind);
    s.value_max = r.F32();
    r.StrVec(s.aliases);
    specs_.push_back(std::move(s));
  }
  preset_ = r.Str();
  bool has_search = r.Bool();
  ActionId search = r.U8();
  if (has_search && search >= specs_.size()) r.Fail("search action out of range");
  search_ = has_search ? std::optional<ActionId>(search) : std::nullopt;
  return r.status();
}

}  // namespace vane
