#include "config_toml.h"

#include <cstdlib>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "vane/core/strings.h"

namespace vane::cli {

namespace {

// [server], [store], [model] and [memory]: plain values.
void ApplyServer(const toml::table& t, CLI::App* cmd, ServiceOptions& so, HttpOptions& ho) {
  if (!cmd->count("--host")) ho.host = t["server"]["host"].value_or(ho.host);
  if (!cmd->count("--port")) ho.port = t["server"]["port"].value_or(ho.port);
  if (!cmd->count("--threads")) ho.threads = t["server"]["threads"].value_or(ho.threads);
  ho.max_body_bytes = t["server"]["max_body_bytes"].value_or(static_cast<int64_t>(ho.max_body_bytes));
  so.max_batch = t["server"]["max_batch"].value_or(static_cast<int64_t>(so.max_batch));
}

void ApplyStore(const toml::table& t, CLI::App* cmd, ServiceOptions& so) {
  if (!cmd->count("--store")) so.store_dir = t["store"]["dir"].value_or(so.store_dir);
  so.store.memtable_mb = t["store"]["memtable_mb"].value_or(static_cast<int64_t>(so.store.memtable_mb));
  so.store.block_cache_mb = t["store"]["block_cache_mb"].value_or(static_cast<int64_t>(so.store.block_cache_mb));
}

void ApplyModel(const toml::table& t, CLI::App* cmd, ServiceOptions& so, std::string& model) {
  if (!cmd->count("--model")) model = t["model"]["dir"].value_or(model);
  if (!cmd->count("--retrain-every")) so.retrain_every_s = t["model"]["retrain_every_s"].value_or(so.retrain_every_s);
  if (!cmd->count("--model-cache-users"))
    so.model_cache_users = t["model"]["cache_users"].value_or(static_cast<int64_t>(so.model_cache_users));
  if (!cmd->count("--model-cache-vectors"))
    so.model_cache_vectors = t["model"]["cache_vectors"].value_or(static_cast<int64_t>(so.model_cache_vectors));
  so.registry.tolerance = t["model"]["promotion_tolerance"].value_or(so.registry.tolerance);
  so.registry.keep = t["model"]["keep_versions"].value_or(static_cast<int64_t>(so.registry.keep));
}

void ApplySnapshots(const toml::table& t, CLI::App* cmd, ServiceOptions& so) {
  if (!cmd->count("--no-snapshots")) so.snapshots = t["snapshots"]["enabled"].value_or(so.snapshots);
  so.snapshot_dir = t["snapshots"]["dir"].value_or(so.snapshot_dir);
  if (!cmd->count("--snapshot-every"))
    so.snapshot_every_events = t["snapshots"]["every_events"].value_or(static_cast<int64_t>(so.snapshot_every_events));
  so.snapshots_kept = t["snapshots"]["keep"].value_or(static_cast<int64_t>(so.snapshots_kept));
}

void ApplyMemory(const toml::table& t, ServiceOptions& so) {
  so.memory_events = t["memory"]["events"].value_or(static_cast<int64_t>(so.memory_events));
  so.history_per_user = t["memory"]["history_per_user"].value_or(static_cast<int64_t>(so.history_per_user));
  so.edges_per_item = t["memory"]["edges_per_item"].value_or(static_cast<int64_t>(so.edges_per_item));
}

// [training]: the background model's size; --train-epochs wins over `epochs`.
Status ApplyTraining(const toml::table& t, const std::string& path, CLI::App* cmd, TrainerSpec& spec) {
  auto* tr = t["training"].as_table();
  if (!tr) return Status::Ok();
  SeqModelConfig& mc = spec.model;
  for (auto& [k, v] : *tr) {
    std::string key(k.str());
    int* field = key == "dim" ? &mc.dim : key == "layers" ? &mc.layers : key == "max_len" ? &mc.max_len
               : key == "batch" ? &mc.batch : key == "epochs" ? &mc.epochs : key == "patience" ? &mc.patience
               : key == "negatives" ? &mc.negatives : key == "threads" ? &mc.threads : nullptr;
    if (field && v.is_integer()) {
      if (key != "epochs" || !cmd->count("--train-epochs")) *field = static_cast<int>(*v.value<int64_t>());
    } else if (key == "lr" && (v.is_floating_point() || v.is_integer())) {
      mc.lr = static_cast<float>(*v.value<double>());
    } else {
      return Status::InvalidArgument(fmt::format("{}: [training] {}: unknown setting or not a number", path, key));
    }
  }
  return Status::Ok();
}

// One [[variants]] entry: a name, a share, a diversity and a scale per source.
Result<Variant> ParseVariant(const toml::node& v, const std::string& path) {
  auto* vt = v.as_table();
  if (!vt) return Status::InvalidArgument(path + ": [[variants]] entries must be tables");
  Variant var;
  var.name = (*vt)["name"].value_or(std::string());
  if (var.name.empty()) return Status::InvalidArgument(path + ": a [[variants]] entry has no name");
  var.share = (*vt)["share"].value_or(1.0);
  var.diversity = static_cast<float>((*vt)["diversity"].value_or(-1.0));
  for (int i = 0; i < kNumSources; ++i) var.scale[i] = static_cast<float>((*vt)[SourceName(i)].value_or(1.0));
  for (auto& [k, _] : *vt) {
    std::string key(k.str());
    bool known = key == "name" || key == "share" || key == "diversity";
    for (int i = 0; i < kNumSources; ++i) known |= key == SourceName(i);
    if (!known) return Status::InvalidArgument(fmt::format("{}: variant '{}': unknown setting '{}'", path, var.name, key));
  }
  return var;
}

Status ApplyVariants(const toml::table& t, const std::string& path, ServiceOptions& so) {
  if (auto* vars = t["variants"].as_array())
    for (auto& v : *vars) {
      VANE_ASSIGN_OR_RETURN(Variant var, ParseVariant(v, path));
      so.variants.push_back(var);
    }
  return Status::Ok();
}

// [[keys]]: {key, scope (default read)}.
Status ApplyKeys(const toml::table& t, const std::string& path, HttpOptions& ho) {
  if (auto* keys = t["keys"].as_array())
    for (auto& k : *keys) {
      auto* kt = k.as_table();
      if (!kt) return Status::InvalidArgument(path + ": [[keys]] entries must be tables");
      auto key = (*kt)["key"].value<std::string>();
      auto scope = ParseScope((*kt)["scope"].value_or(std::string("read")));
      if (!key || key->empty()) return Status::InvalidArgument(path + ": a [[keys]] entry has no key");
      if (!scope.ok()) return Status::InvalidArgument(path + ": " + scope.status().message());
      ho.keys.push_back({*key, *scope});
    }
  return Status::Ok();
}

Status ApplyFile(const std::string& path, CLI::App* cmd, ServiceOptions& so, HttpOptions& ho, std::string& model,
                 TrainerSpec& spec) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}: {} (line {})", path, e.description(), e.source().begin.line));
  }
  ApplyServer(t, cmd, so, ho);
  ApplyStore(t, cmd, so);
  ApplyModel(t, cmd, so, model);
  ApplyMemory(t, so);
  ApplySnapshots(t, cmd, so);
  VANE_RETURN_IF_ERROR(ApplyTraining(t, path, cmd, spec));
  VANE_RETURN_IF_ERROR(ApplyVariants(t, path, so));
  return ApplyKeys(t, path, ho);
}

Status ApplyEnvironment(CLI::App* cmd, ServiceOptions& so, HttpOptions& ho, std::string& model) {
  auto env = [](const char* n) -> const char* { return std::getenv(n); };
  if (const char* v = env("VANE_HOST"); v && !cmd->count("--host")) ho.host = v;
  if (const char* v = env("VANE_PORT"); v && !cmd->count("--port")) ho.port = std::atoi(v);
  if (const char* v = env("VANE_STORE"); v && !cmd->count("--store")) so.store_dir = v;
  if (const char* v = env("VANE_MODEL"); v && !cmd->count("--model")) model = v;
  if (const char* v = env("VANE_API_KEYS"))
    for (const auto& spec : SplitList(v)) VANE_RETURN_IF_ERROR(AddKey(spec, ho));
  return Status::Ok();
}

}  // namespace

Result<Scope> ParseScope(const std::string& s) {
  if (s == "read") return Scope::kRead;
  if (s == "write") return Scope::kWrite;
  if (s == "admin") return Scope::kAdmin;
  return Status::InvalidArgument("API key scope must be read, write or admin, got '" + s + "'");
}

Status AddKey(const std::string& spec, HttpOptions& ho) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::InvalidArgument("API key must be KEY:SCOPE (scope read, write or admin)");
  VANE_ASSIGN_OR_RETURN(Scope scope, ParseScope(spec.substr(colon + 1)));
  ho.keys.push_back({spec.substr(0, colon), scope});
  return Status::Ok();
}

Status ApplyConfig(const std::string& path, CLI::App* cmd, ServiceOptions& so, HttpOptions& ho, std::string& model,
                   TrainerSpec& spec) {
  if (!path.empty()) VANE_RETURN_IF_ERROR(ApplyFile(path, cmd, so, ho, model, spec));
  return ApplyEnvironment(cmd, so, ho, model);
}

}  // namespace vane::cli
