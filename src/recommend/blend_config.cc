#include "vane/recommend/blend_config.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "vane/recommend/gate.h"
#include "vane/recommend/ranker.h"

namespace vane {

using json = nlohmann::json;

namespace {

json WeightsJson(const BlendWeights& w) {
  json j = json::object();
  for (int s = 0; s < kNumSources; ++s) j[SourceName(s)] = w[s];
  return j;
}

Result<BlendWeights> WeightsFromJson(const json& j, const std::string& where) {
  if (!j.is_object()) return Status::InvalidArgument(where + ": expected an object of weights by source").WithField(where);
  BlendWeights w{};
  for (int s = 0; s < kNumSources; ++s) {
    auto it = j.find(SourceName(s));
    if (it == j.end() || !it->is_number())
      return Status::InvalidArgument(fmt::format("{}.{}: missing or not a number", where, SourceName(s))).WithField(where);
    double v = it->get<double>();
    // Weights are floats: a double beyond the float range would become infinity.
    if (!std::isfinite(v) || v < 0 || v > std::numeric_limits<float>::max())
      return Status::InvalidArgument(fmt::format("{}.{}: must be a finite number >= 0, got {}", where, SourceName(s), v))
          .WithField(where);
    w[s] = static_cast<float>(v);
  }
  for (const auto& [k, _] : j.items()) {
    bool known = false;
    for (int s = 0; s < kNumSources; ++s) known |= k == SourceName(s);
    if (!known) return Status::InvalidArgument(fmt::format("{}: unknown source '{}'", where, k)).WithField(where);
  }
  return w;
}

}  // namespace

BlendConfig BlendConfig::From(const EngineConfig& cfg) {
  BlendConfig b;
  b.base = cfg.base;
  b.multipliers = cfg.strategy_multipliers;
  b.ranker = cfg.ranker;
  b.gate = cfg.gate;
  return b;
}

void BlendConfig::ApplyTo(EngineConfig& cfg) const {
  cfg.base = base;
  cfg.strategy_multipliers = multipliers;
  cfg.ranker = ranker;
  cfg.gate = gate;
}

json BlendConfig::ToJson() const {
  json j = {{"format", kFormat}, {"fitted", fitted}, {"base", WeightsJson(base)}};
  j["strategy_multipliers"] = json::object();
  for (int st = 0; st < 3; ++st) j["strategy_multipliers"][StrategyName(static_cast<Strategy>(st))] = WeightsJson(multipliers[st]);
  j["source"] = source;
  j["validation"] = validation;
  if (ranker) j["ranker"] = ranker->ToJson();
  if (gate) j["gate"] = gate->ToJson();
  return j;
}

Result<BlendConfig> BlendConfig::FromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("a blend configuration is a JSON object");
  auto f = j.find("format");
  // Compared as int64 (an int would wrap 4294967297 to 1).
  if (f == j.end() || !f->is_number_integer() || f->get<int64_t>() < 1 || f->get<int64_t>() > kFormat)
    return Status::InvalidArgument(fmt::format("format: expected 1..{}", kFormat)).WithField("format");
  BlendConfig b;
  if (auto fitted = j.find("fitted"); fitted != j.end()) {
    // json::value would throw on another type.
    if (!fitted->is_boolean()) return Status::InvalidArgument("fitted: expected true or false").WithField("fitted");
    b.fitted = fitted->get<bool>();
  }
  VANE_ASSIGN_OR_RETURN(b.base, WeightsFromJson(j.value("base", json()), "base"));
  const json m = j.value("strategy_multipliers", json());
  if (!m.is_object()) return Status::InvalidArgument("strategy_multipliers: expected an object by strategy").WithField("strategy_multipliers");
  for (int st = 0; st < 3; ++st) {
    const std::string name = StrategyName(static_cast<Strategy>(st));
    VANE_ASSIGN_OR_RETURN(b.multipliers[st], WeightsFromJson(m.value(name, json()), "strategy_multipliers." + name));
  }
  b.source = j.value("source", json::object());
  b.validation = j.value("validation", json::object());
  if (auto r = j.find("ranker"); r != j.end() && !r->is_null()) {
    auto rk = Ranker::FromJson(*r);
    if (!rk.ok()) return Status::InvalidArgument(rk.status().message()).WithField("ranker");
    b.ranker = std::make_shared<const Ranker>(std::move(*rk));
  }
  if (auto g = j.find("gate"); g != j.end() && !g->is_null()) {
    auto gt = StrategyGate::FromJson(*g);
    if (!gt.ok()) return gt.status();
    b.gate = std::make_shared<const StrategyGate>(std::move(*gt));
  }
  return b;
}

Status BlendConfig::Save(const std::string& path) const {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) return Status::IoError(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
    out << ToJson().dump(2) << "\n";
    if (!out.flush()) return Status::IoError(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  }
  std::filesystem::rename(tmp, path, ec);  // the old file stays whole until the new one is
  if (ec) return Status::IoError(fmt::format("cannot write {}: {}", path, ec.message()));
  return Status::Ok();
}

Result<BlendConfig> BlendConfig::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument(path + ": not valid JSON");
  auto b = FromJson(j);
  if (!b.ok()) return b.status().Prefixed(path + ": ");
  return b;
}

}  // namespace vane
