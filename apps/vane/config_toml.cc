#include "config_toml.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <variant>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "vane/core/strings.h"

namespace vane::cli {

namespace {

// A duration in seconds: a number of seconds, or a string as Go writes durations ("10s", "1h30m"; Gorse's style).
struct Seconds {
  double* p;
};
using StringList = std::vector<std::string>;

// One setting of `vane serve`: its place in the TOML file ([section] key), the flag and the environment variable
// that override it, the option it sets and, for a number, its valid range. Settings() lists them all: every value,
// whatever its source, is type- and range-checked against this one table. Every setting of a section can also be
// set by the environment variable VANE_<SECTION>_<KEY> (EnvName); `env` is a shorter name some settings also take.
struct Setting {
  const char* section;
  const char* key;
  const char* flag;  // "" when none
  const char* env;   // "" when none
  std::variant<int*, int64_t*, size_t*, double*, float*, std::string*, Seconds, StringList*> target;
  double lo = 0, hi = 0;  // numbers: the valid range, inclusive; strings: lo = 1 when it may not be empty
};

std::vector<Setting> Settings(ServiceOptions& so, HttpOptions& ho, std::string& model, TrainerSpec& spec) {
  SeqModelConfig& mc = spec.model;
  return {
      {"server", "host", "--host", "VANE_HOST", &ho.host, 1},
      {"server", "port", "--port", "VANE_PORT", &ho.port, 0, 65535},
      {"server", "threads", "--threads", "", &ho.threads, 1, 4096},
      {"server", "max_body_bytes", "", "", &ho.max_body_bytes, 1, 1 << 30},
      {"server", "max_batch", "", "", &so.max_batch, 1, 1000000},
      {"server", "max_header_bytes", "", "", &ho.max_header_bytes, 256, 1 << 30},
      {"server", "keep_alive_max_requests", "", "", &ho.keep_alive_max_requests, 1, 1e9},
      {"server", "header_timeout_s", "", "", &ho.header_timeout_s, 1, 86400},
      {"server", "body_timeout_s", "", "", &ho.body_timeout_s, 1, 86400},
      {"server", "idle_timeout_s", "", "", &ho.idle_timeout_s, 1, 86400},
      {"server", "write_timeout_s", "", "", &ho.write_timeout_s, 1, 86400},
      {"server", "max_streams", "", "", &ho.max_streams, 0, 4096},
      {"server", "max_stream_s", "", "", &ho.max_stream_s, 1, 86400},
      {"store", "dir", "--store", "VANE_STORE", &so.store_dir, 1},
      {"store", "memtable_mb", "", "", &so.store.memtable_mb, 1, 1 << 20},
      {"store", "block_cache_mb", "", "", &so.store.block_cache_mb, 1, 1 << 20},
      {"model", "dir", "--model", "VANE_MODEL", &model, 0},
      {"model", "retrain_every_s", "--retrain-every", "", &so.retrain_every_s, 0, 1e9},
      {"model", "cache_users", "--model-cache-users", "", &so.model_cache_users, 0, 1e9},
      {"model", "cache_vectors", "--model-cache-vectors", "", &so.model_cache_vectors, 0, 1e10},
      {"model", "promotion_tolerance", "", "", &so.registry.tolerance, -1000, 1},
      {"model", "keep_versions", "", "", &so.registry.keep, 1, 10000},
      {"memory", "events", "", "", &so.memory_events, 0, 1e12},
      {"memory", "history_per_user", "", "", &so.history_per_user, 1, 1e7},
      {"memory", "edges_per_item", "", "", &so.edges_per_item, 1, 1e7},
      {"snapshots", "dir", "", "", &so.snapshot_dir, 0},
      {"snapshots", "every_events", "--snapshot-every", "", &so.snapshot_every_events, 0, 1e12},
      {"snapshots", "keep", "", "", &so.snapshots_kept, 1, 1000},
      {"training", "dim", "", "", &mc.dim, 1, 4096},
      {"training", "layers", "", "", &mc.layers, 1, 64},
      {"training", "max_len", "", "", &mc.max_len, 1, 100000},
      {"training", "batch", "", "", &mc.batch, 1, 1000000},
      {"training", "lr", "", "", &mc.lr, 1e-9, 10},
      {"training", "epochs", "--train-epochs", "", &mc.epochs, 1, 100000},
      {"training", "patience", "", "", &mc.patience, 0, 100000},
      {"training", "negatives", "", "", &mc.negatives, 0, 1e8},
      {"training", "threads", "", "", &mc.threads, 1, 1024},
      {"server", "cors_origins", "", "", &ho.cors_origins},
      {"gorse", "positive_feedback_types", "", "", &so.positive_feedback_types},
      {"gorse", "read_feedback_types", "", "", &so.read_feedback_types},
      {"gorse", "default_n", "", "", &ho.gorse_default_n, 1, 1000},
      {"gorse", "item_ttl", "", "", Seconds{&ho.gorse_item_ttl_s}, 0, 1e10},
      {"gorse", "feedback_ttl", "", "", Seconds{&ho.gorse_feedback_ttl_s}, 0, 1e10},
      // flags only
      {"", "", "--max-future", "", &so.max_future_s, 0, 1e9},
      {"", "", "--diversity", "", &so.engine.diversity, 0, 100},
  };
}

bool IsString(const Setting& s) { return std::holds_alternative<std::string*>(s.target); }
bool IsList(const Setting& s) { return std::holds_alternative<StringList*>(s.target); }
bool IsDuration(const Setting& s) { return std::holds_alternative<Seconds>(s.target); }

// VANE_<SECTION>_<KEY>, upper case: the environment variable of a setting of a section.
std::string EnvName(const Setting& s) {
  std::string name = fmt::format("VANE_{}_{}", s.section, s.key);
  for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return name;
}
bool IsInteger(const Setting& s) {
  return std::holds_alternative<int*>(s.target) || std::holds_alternative<int64_t*>(s.target) ||
         std::holds_alternative<size_t*>(s.target);
}

// The setting's current value as a number (strings: their length).
double Current(const Setting& s) {
  return std::visit([](auto p) -> double {
    if constexpr (std::is_same_v<decltype(p), std::string*> || std::is_same_v<decltype(p), StringList*>)
      return static_cast<double>(p->size());
    else if constexpr (std::is_same_v<decltype(p), Seconds>) return *p.p;
    else return static_cast<double>(*p);
  }, s.target);
}

// `where` ("vane.toml:3: [server] port", "VANE_PORT", "--port") names the value in the error.
Status CheckRange(const Setting& s, double v, const std::string& where) {
  if (IsList(s)) return Status::Ok();
  if (IsString(s)) {
    if (v < s.lo) return Status::InvalidArgument(where + ": may not be empty");
    return Status::Ok();
  }
  if (v >= s.lo && v <= s.hi) return Status::Ok();
  return Status::InvalidArgument(fmt::format("{}: {} is out of range {}..{}", where, v, s.lo, s.hi));
}

// Sets a number already range-checked.
void SetNumber(const Setting& s, double v, int64_t i) {
  std::visit([&](auto p) {
    using T = std::remove_pointer_t<decltype(p)>;
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, StringList>) return;
    else if constexpr (std::is_same_v<T, Seconds>) *p.p = v;
    else if constexpr (std::is_floating_point_v<T>) *p = static_cast<T>(v);
    else *p = static_cast<T>(i);
  }, s.target);
}

// A TOML integer or floating-point value as a double (an int64 beyond 2^53 rounded: enough for a range check).
double Number(const toml::node& v) {
  return v.is_integer() ? static_cast<double>(*v.value_exact<int64_t>()) : *v.value_exact<double>();
}

std::string TypeName(const toml::node& v) {
  switch (v.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date or time";
  }
}

const char* Expected(const Setting& s) {
  if (IsList(s)) return "an array of strings";
  if (IsDuration(s)) return "a duration (seconds, or a string such as \"10s\", \"30m\", \"1h30m\")";
  return IsString(s) ? "a string" : IsInteger(s) ? "an integer" : "a number";
}

// A duration's text ("10s", "1h30m", or a number of seconds), range-checked and set.
Status DurationFromText(const Setting& s, const std::string& text, const std::string& where, bool apply = true) {
  std::optional<double> d = ParseDuration(text);
  if (!d) {
    double x = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), x);
    if (r.ec == std::errc() && r.ptr == text.data() + text.size() && !text.empty()) d = x;
  }
  if (!d) return Status::InvalidArgument(fmt::format("{}: expected {}, got '{}'", where, Expected(s), text));
  VANE_RETURN_IF_ERROR(CheckRange(s, *d, where));
  if (apply) SetNumber(s, *d, 0);
  return Status::Ok();
}

// A TOML value: the right type (an integer where one is expected; a number may be written as an integer), in range.
Status FromToml(const Setting& s, const toml::node& v, const std::string& where, bool apply) {
  if (IsList(s)) {
    const toml::array* a = v.as_array();
    if (!a) return Status::InvalidArgument(fmt::format("{}: expected {}, got {}", where, Expected(s), TypeName(v)));
    StringList list;
    for (size_t k = 0; k < a->size(); ++k) {
      const toml::node& x = *a->get(k);
      if (!x.is_string() || x.value<std::string>()->empty())
        return Status::InvalidArgument(fmt::format("{}[{}]: expected a non-empty string, got {}", where, k,
                                                   x.is_string() ? "an empty string" : TypeName(x)));
      list.push_back(*x.value<std::string>());
    }
    if (apply) *std::get<StringList*>(s.target) = std::move(list);
    return Status::Ok();
  }
  if (IsDuration(s)) {
    if (v.is_string()) return DurationFromText(s, *v.value<std::string>(), where, apply);
    if (!v.is_integer() && !v.is_floating_point())
      return Status::InvalidArgument(fmt::format("{}: expected {}, got {}", where, Expected(s), TypeName(v)));
    VANE_RETURN_IF_ERROR(CheckRange(s, Number(v), where));
    if (apply) SetNumber(s, Number(v), 0);
    return Status::Ok();
  }
  if (IsString(s)) {
    if (!v.is_string()) return Status::InvalidArgument(fmt::format("{}: expected {}, got {}", where, Expected(s), TypeName(v)));
    const std::string text = *v.value<std::string>();
    VANE_RETURN_IF_ERROR(CheckRange(s, static_cast<double>(text.size()), where));
    if (apply) *std::get<std::string*>(s.target) = text;
    return Status::Ok();
  }
  if (!v.is_integer() && (IsInteger(s) || !v.is_floating_point()))
    return Status::InvalidArgument(fmt::format("{}: expected {}, got {}", where, Expected(s), TypeName(v)));
  const double d = Number(v);
  VANE_RETURN_IF_ERROR(CheckRange(s, d, where));
  if (apply) SetNumber(s, d, v.is_integer() ? *v.value<int64_t>() : 0);
  return Status::Ok();
}

// A value written as text (an environment variable): the whole text must be the number.
Status FromText(const Setting& s, const std::string& text, const std::string& where) {
  if (IsList(s)) {
    *std::get<StringList*>(s.target) = SplitList(text);
    return Status::Ok();
  }
  if (IsDuration(s)) return DurationFromText(s, text, where);
  if (IsString(s)) {
    VANE_RETURN_IF_ERROR(CheckRange(s, static_cast<double>(text.size()), where));
    *std::get<std::string*>(s.target) = text;
    return Status::Ok();
  }
  const char* end = text.data() + text.size();
  int64_t i = 0;
  double d = 0;
  bool ok;
  if (IsInteger(s)) {
    auto r = std::from_chars(text.data(), end, i);
    ok = r.ec == std::errc() && r.ptr == end && !text.empty();
    d = static_cast<double>(i);
  } else {
    auto r = std::from_chars(text.data(), end, d);
    ok = r.ec == std::errc() && r.ptr == end && !text.empty();
  }
  if (!ok) return Status::InvalidArgument(fmt::format("{}: expected {}, got '{}'", where, Expected(s), text));
  VANE_RETURN_IF_ERROR(CheckRange(s, d, where));
  SetNumber(s, d, i);
  return Status::Ok();
}

// The sections of arrays of tables; the others hold the settings of the table.
const std::set<std::string> kArrays = {"variants", "keys"};

// The known sections (section empty) or the known keys of a section, in the table's order.
std::vector<std::string> Known(const std::vector<Setting>& settings, const std::string& section) {
  std::vector<std::string> out;
  for (const auto& s : settings) {
    const std::string name = section.empty() ? s.section : s.key;
    if (*s.section && (section.empty() || section == s.section) && std::find(out.begin(), out.end(), name) == out.end())
      out.push_back(name);
  }
  return out;
}

std::string Where(const std::string& path, const toml::node& v, std::string_view section, std::string_view key) {
  return fmt::format("{}:{}: [{}] {}", path, v.source().begin.line, section, key);
}

// The plain sections ([server], [store], [model], [memory], [training]): every key known, every value valid. A
// setting whose flag was given keeps the flag's value (the file's is still checked).
Status ApplySections(const toml::table& t, const std::string& path, CLI::App* cmd, const std::vector<Setting>& settings) {
  const std::vector<std::string> sections = Known(settings, "");
  for (const auto& [name, node] : t) {
    const std::string section(name.str());
    if (kArrays.count(section)) continue;
    if (std::find(sections.begin(), sections.end(), section) == sections.end())
      return Status::InvalidArgument(fmt::format("{}:{}: [{}]: unknown section (known: {}, variants, keys)", path,
                                                 node.source().begin.line, section, fmt::join(sections, ", ")));
    const toml::table* table = node.as_table();
    if (!table) return Status::InvalidArgument(fmt::format("{}:{}: {}: expected a [{}] table", path, node.source().begin.line, section, section));
    for (const auto& [k, v] : *table) {
      const std::string key(k.str());
      auto s = std::find_if(settings.begin(), settings.end(), [&](const Setting& x) { return section == x.section && key == x.key; });
      if (s == settings.end())
        return Status::InvalidArgument(fmt::format("{}: unknown setting (known: {})", Where(path, v, section, key),
                                                   fmt::join(Known(settings, section), ", ")));
      const bool flag_given = *s->flag && cmd->count(s->flag);
      VANE_RETURN_IF_ERROR(FromToml(*s, v, Where(path, v, section, key), !flag_given));
    }
  }
  return Status::Ok();
}

// A number of a [[variants]] entry: absent keeps `out`; wrong type or range refuses.
Status VariantNumber(const toml::table& vt, const char* key, double lo, double hi, const std::string& where, double& out) {
  const toml::node* v = vt.get(key);
  if (!v) return Status::Ok();
  if (!v->is_integer() && !v->is_floating_point())
    return Status::InvalidArgument(fmt::format("{} {}: expected a number, got {}", where, key, TypeName(*v)));
  const double d = Number(*v);
  if (d < lo || d > hi) return Status::InvalidArgument(fmt::format("{} {}: {} is out of range {}..{}", where, key, d, lo, hi));
  out = d;
  return Status::Ok();
}

// One [[variants]] entry: a name, a share, a diversity and a scale per source.
Result<Variant> ParseVariant(const toml::node& v, const std::string& path) {
  auto* vt = v.as_table();
  if (!vt) return Status::InvalidArgument(path + ": [[variants]] entries must be tables");
  Variant var;
  const toml::node* name = vt->get("name");
  if (name && !name->is_string())
    return Status::InvalidArgument(fmt::format("{}:{}: [[variants]] name: expected a string, got {}", path, name->source().begin.line, TypeName(*name)));
  var.name = name ? *name->value<std::string>() : "";
  if (var.name.empty()) return Status::InvalidArgument(path + ": a [[variants]] entry has no name");
  const std::string where = fmt::format("{}:{}: variant '{}':", path, v.source().begin.line, var.name);
  double diversity = -1;
  VANE_RETURN_IF_ERROR(VariantNumber(*vt, "share", 0, 1e9, where, var.share));
  VANE_RETURN_IF_ERROR(VariantNumber(*vt, "diversity", 0, 100, where, diversity));
  var.diversity = static_cast<float>(diversity);
  for (int i = 0; i < kNumSources; ++i) {
    double scale = 1.0;
    VANE_RETURN_IF_ERROR(VariantNumber(*vt, SourceName(i), 0, 1000, where, scale));
    var.scale[i] = static_cast<float>(scale);
  }
  for (auto& [k, _] : *vt) {
    std::string key(k.str());
    bool known = key == "name" || key == "share" || key == "diversity";
    for (int i = 0; i < kNumSources; ++i) known |= key == SourceName(i);
    if (!known) return Status::InvalidArgument(fmt::format("{}: variant '{}': unknown setting '{}'", path, var.name, key));
  }
  return var;
}

Status ApplyVariants(const toml::table& t, const std::string& path, ServiceOptions& so) {
  const toml::node* node = t.get("variants");
  if (!node) return Status::Ok();
  const toml::array* vars = node->as_array();
  if (!vars) return Status::InvalidArgument(path + ": variants: expected [[variants]] tables");
  for (auto& v : *vars) {
    VANE_ASSIGN_OR_RETURN(Variant var, ParseVariant(v, path));
    so.variants.push_back(var);
  }
  return Status::Ok();
}

// [[keys]]: {key, scope}, both required (a key without a scope is refused rather than guessed).
Status ApplyKeys(const toml::table& t, const std::string& path, HttpOptions& ho) {
  const toml::node* node = t.get("keys");
  if (!node) return Status::Ok();
  const toml::array* keys = node->as_array();
  if (!keys) return Status::InvalidArgument(path + ": keys: expected [[keys]] tables");
  for (auto& k : *keys) {
    auto* kt = k.as_table();
    if (!kt) return Status::InvalidArgument(path + ": [[keys]] entries must be tables");
    const std::string where = fmt::format("{}:{}: [[keys]]", path, k.source().begin.line);
    for (auto& [name, _] : *kt)
      if (name.str() != "key" && name.str() != "scope")
        return Status::InvalidArgument(fmt::format("{} {}: unknown setting (known: key, scope)", where, name.str()));
    auto key = (*kt)["key"].value<std::string>();
    auto scope_text = (*kt)["scope"].value<std::string>();
    if (!key || key->empty()) return Status::InvalidArgument(where + ": an entry has no key (a non-empty string)");
    if (!scope_text) return Status::InvalidArgument(where + ": an entry has no scope (\"read\", \"write\" or \"admin\")");
    auto scope = ParseScope(*scope_text);
    if (!scope.ok()) return Status::InvalidArgument(where + ": " + scope.status().message());
    ho.keys.push_back({*key, *scope});
  }
  return Status::Ok();
}

Status ApplyFile(const std::string& path, CLI::App* cmd, const std::vector<Setting>& settings, ServiceOptions& so,
                 HttpOptions& ho) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}: {} (line {})", path, e.description(), e.source().begin.line));
  }
  VANE_RETURN_IF_ERROR(ApplySections(t, path, cmd, settings));
  VANE_RETURN_IF_ERROR(ApplyVariants(t, path, so));
  return ApplyKeys(t, path, ho);
}

Status ApplyEnvironment(CLI::App* cmd, const std::vector<Setting>& settings, HttpOptions& ho) {
  for (const Setting& s : settings) {
    if (*s.flag && cmd->count(s.flag)) continue;
    const std::string name = *s.section ? EnvName(s) : "";
    if (const char* v = name.empty() ? nullptr : std::getenv(name.c_str())) VANE_RETURN_IF_ERROR(FromText(s, v, name));
    else if (const char* w = *s.env ? std::getenv(s.env) : nullptr) VANE_RETURN_IF_ERROR(FromText(s, w, s.env));
  }
  if (const char* v = std::getenv("VANE_API_KEYS"))
    for (const auto& spec : SplitList(v))
      if (Status st = AddKey(spec, ho); !st.ok()) return st.Prefixed("VANE_API_KEYS: ");
  return Status::Ok();
}

// The flags given on the command line, range-checked like the file's and the environment's values.
Status CheckFlags(CLI::App* cmd, const std::vector<Setting>& settings) {
  for (const Setting& s : settings)
    if (*s.flag && cmd->count(s.flag)) VANE_RETURN_IF_ERROR(CheckRange(s, Current(s), s.flag));
  return Status::Ok();
}

}  // namespace

std::vector<SettingInfo> DescribeSettings(ServiceOptions& so, HttpOptions& ho, std::string& model, TrainerSpec& spec) {
  std::vector<SettingInfo> out;
  for (const Setting& s : Settings(so, ho, model, spec)) {
    SettingInfo i{s.section, s.key, *s.section ? EnvName(s) : "", s.env, "", s.lo, s.hi, ""};
    if (IsList(s)) {
      i.kind = "list";
      i.value = fmt::format("{}", fmt::join(*std::get<StringList*>(s.target), ","));
    } else if (IsString(s)) {
      i.kind = "string";
      i.value = *std::get<std::string*>(s.target);
    } else {
      i.kind = IsDuration(s) ? "duration" : IsInteger(s) ? "integer" : "number";
      i.value = fmt::format("{}", Current(s));
    }
    out.push_back(std::move(i));
  }
  return out;
}

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

Status AddKeyFile(const std::string& path, HttpOptions& ho) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(fmt::format("--api-key-file {}: cannot be read", path));
  std::error_code ec;
  auto perms = std::filesystem::status(path, ec).permissions();
  if (!ec && (perms & std::filesystem::perms::others_read) != std::filesystem::perms::none)
    std::fprintf(stderr, "warning: %s is readable by every user of this machine (chmod 600 it)\n", path.c_str());
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string spec(Trim(line));
    if (spec.empty() || spec[0] == '#') continue;
    if (Status s = AddKey(spec, ho); !s.ok()) return s.Prefixed(fmt::format("{}:{}: ", path, n));
  }
  return Status::Ok();
}

Status CheckKeys(const HttpOptions& ho) {
  for (size_t i = 0; i < ho.keys.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (ho.keys[i].key == ho.keys[j].key && ho.keys[i].scope != ho.keys[j].scope)
        return Status::InvalidArgument("an API key is given twice with different scopes");
  return Status::Ok();
}

Status ApplyConfig(const std::string& path, CLI::App* cmd, ServiceOptions& so, HttpOptions& ho, std::string& model,
                   TrainerSpec& spec) {
  const std::vector<Setting> settings = Settings(so, ho, model, spec);
  VANE_RETURN_IF_ERROR(CheckFlags(cmd, settings));
  if (!path.empty()) VANE_RETURN_IF_ERROR(ApplyFile(path, cmd, settings, so, ho));
  return ApplyEnvironment(cmd, settings, ho);
}

}  // namespace vane::cli
