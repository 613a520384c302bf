// vane serve: the HTTP service over a durable store, with background training of the model.
#include <malloc.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "config_toml.h"
#include "vane/cluster_store/stream_log.h"
#include "vane/core/binary_io.h"
#include "vane/eval/evaluator.h"
#include "vane/model/pipeline.h"
#include "vane/registry/registry.h"
#include "vane/serve/http.h"
#include "vane/serve/service.h"

namespace vane::cli {

namespace {

std::atomic<bool> g_stop{false};

struct ServeArgs {
  DataFlags data;
  std::string config, model;
  ServiceOptions so;
  HttpOptions ho;
  std::vector<std::string> keys;
  std::string key_file;  // --api-key-file
  TrainerSpec train;
  std::string blend;  // --blend FILE
  bool no_fit = false;
  bool ranker = false;  // --ranker
  bool gate = false;    // --gate
  // Cluster mode (--cluster SEEDS): the shared event log on Redis Cluster (docs/cluster.md).
  std::string cluster_seeds, cluster_prefix = "vane";
  int cluster_partitions = 16, cluster_wait_replicas = 0;
};

// Cluster mode: the shared log on the Redis Cluster at --cluster, and a memory store as this node's mirror of it
// (snapshots in the cluster: a node starts from the newest and reads the log on from it). Outside cluster mode leaves `mirror` empty (the RocksDB store).
Status SetUpCluster(const ServeArgs& a, ServiceOptions& so, std::unique_ptr<Store>& mirror) {
  if (a.cluster_seeds.empty()) return Status::Ok();
  cluster::RedisClusterOptions c;
  for (size_t start = 0; start <= a.cluster_seeds.size();) {
    size_t end = std::min(a.cluster_seeds.find(',', start), a.cluster_seeds.size());
    if (end > start) c.seeds.push_back(a.cluster_seeds.substr(start, end - start));
    start = end + 1;
  }
  cluster::StreamLogOptions lo;
  lo.prefix = a.cluster_prefix;
  lo.partitions = a.cluster_partitions;
  lo.wait_replicas = a.cluster_wait_replicas;
  VANE_ASSIGN_OR_RETURN(so.shared_log, cluster::NewStreamSharedLog(c, lo));
  if (so.node_id == "node") so.node_id = fmt::format("node{}", ::getpid());
  so.cluster_snapshots = so.snapshots;  // --no-snapshots: neither local nor cluster snapshots
  so.snapshots = false;                 // a node keeps none on its disk: they live in the cluster
  mirror = NewMemoryStore();
  return Status::Ok();
}

// Whether host:port can be listened on, before anything is opened: a port another process listens on (another
// `vane serve` with its own store, say) is a configuration error, not a second server sharing the port's traffic.
Status CheckPortFree(const std::string& host, int port) {
  if (port == 0) return Status::Ok();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return Status::InvalidArgument(fmt::format("--host {}: cannot be resolved ({})", host, gai_strerror(rc)));
  int err = 0;
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);  // as the server binds: TIME_WAIT does not count
    const bool bound = bind(fd, a->ai_addr, a->ai_addrlen) == 0;
    if (!bound && !err) err = errno;
    close(fd);
    if (bound) {
      freeaddrinfo(res);
      return Status::Ok();
    }
  }
  freeaddrinfo(res);
  if (err == EADDRINUSE)
    return Status::InvalidArgument("port_in_use", fmt::format("{}:{} is in use by another process (another vane serve?); "
                                                              "choose another --port", host, port));
  return Status::InvalidArgument(fmt::format("cannot listen on {}:{}: {}", host, port, std::strerror(err)));
}

// Everything settled before anything is opened: the configuration (file, environment, flags; checked in
// config_toml.cc), the API keys, and a free port.
Status Configure(const ServeArgs& a, CLI::App* cmd, ServiceOptions& so, HttpOptions& ho, std::string& model,
                 TrainerSpec& spec) {
  VANE_RETURN_IF_ERROR(ApplyConfig(a.config, cmd, so, ho, model, spec));
  if (!a.keys.empty())
    std::cerr << "warning: --api-key puts keys on the command line, where every user of this machine can read them "
                 "(ps); use --api-key-file, VANE_API_KEYS or [[keys]] in the configuration\n";
  for (const auto& k : a.keys)
    if (Status s = AddKey(k, ho); !s.ok()) return s.Prefixed("--api-key: ");
  if (!a.key_file.empty()) VANE_RETURN_IF_ERROR(AddKeyFile(a.key_file, ho));
  VANE_RETURN_IF_ERROR(CheckKeys(ho));
  return CheckPortFree(ho.host, ho.port);
}

// The blend: given with --blend, else the store's, else fitted in the background (unless --no-fit).
Status SetUpBlend(const ServeArgs& a, ServiceOptions& so) {
  if (!a.blend.empty()) {
    VANE_ASSIGN_OR_RETURN(BlendConfig b, BlendConfig::Load(a.blend));
    so.blend = b;
  }
  if (!a.no_fit) {
    const bool ranker = a.ranker, gate = a.gate;
    so.blend_fitter = [ranker, gate](const Dataset& snapshot, const EngineConfig& cfg) {
      return FitBlend(snapshot, cfg, 6000, ranker, gate);
    };
  }
  return Status::Ok();
}

// A model given with --model (not a kept version of the registry) is named by what it holds, not by its path:
// "ext-" and 12 hex digits of the XXH64 of its model.json (configuration, vocabulary sizes, training figures)
// and the sizes of its files, so that /metrics and the dashboard show which model serves, wherever it lies.
std::string ExternalModelVersion(const std::string& dir) {
  std::ifstream in(dir + "/model.json", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Xxh64 h;
  h.Update(text.data(), text.size());
  std::error_code ec;
  std::vector<std::pair<std::string, uint64_t>> files;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code fe;
    if (it->is_regular_file(fe)) files.emplace_back(it->path().filename().string(), it->file_size(fe));
  }
  std::sort(files.begin(), files.end());
  for (const auto& [name, size] : files) {
    h.Update(name.data(), name.size());
    h.Update(&size, sizeof(size));
  }
  return fmt::format("ext-{:012x}", h.Digest() >> 16);
}

int RunServe(const ServeArgs& a, CLI::App* cmd) {
  const DataFlags& sd = a.data;
  std::string model = a.model;
  ServiceOptions so = a.so;
  HttpOptions ho = a.ho;
  TrainerSpec spec = a.train;
  // glibc gives threads up to 8 malloc arenas per core and keeps what each frees: with 64 workers allocating,
  // resident memory crept up by ~280 MB over a 10-minute soak while vane's own state was constant; with one arena
  // per core it stayed flat (BENCHMARKS.md §5). MALLOC_ARENA_MAX in the environment still decides when set.
  if (!std::getenv("MALLOC_ARENA_MAX"))
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  if (Status c = Configure(a, cmd, so, ho, model, spec); !c.ok()) return Fail(c);
  if (!cmd->count("--models-dir")) {
    // Cluster mode: inside the node's own folder (its store is a memory mirror), so that nodes whose folders share
    // a parent do not share one registry.
    auto parent = std::filesystem::path(so.store_dir).parent_path();
    so.models_dir = !a.cluster_seeds.empty() ? (std::filesystem::path(so.store_dir) / "models").string()
                    : (parent.empty() ? std::filesystem::path("models") : parent / "models").string();
  }
  so.trainer = MakeTrainer(spec, so.model_cache_users, so.model_cache_vectors);
  // A kept version, loaded for a rollback or a promoted candidate.
  so.model_loader = [cu = so.model_cache_users, cv = so.model_cache_vectors](const std::string& dir) -> Result<SourceFactory> {
    static const Dataset kLive;  // not exact: the live catalogue only grows
    EngineConfig cfg;
    VANE_RETURN_IF_ERROR(UseModel(dir, kLive, cfg, {.exact = false, .cache_users = cu, .cache_vectors = cv}));
    return SourceFactory(cfg.model_source);
  };
  if (Status b = SetUpBlend(a, so); !b.ok()) return Fail(b);
  std::string model_version = model.empty() ? "" : ExternalModelVersion(model);
  if (model.empty()) {
    // The version a background training swapped in last time.
    if (auto v = ModelRegistry::ReadCurrent(so.models_dir)) {
      model = so.models_dir + "/" + *v;
      model_version = *v;
    }
  }
  Dataset seed;
  if (sd.format == "none") {  // an empty store stays empty: the installed service (packaging/)
    auto actions = ActionRegistry::Preset(sd.actions);
    if (!actions.ok()) return Fail(actions.status());
    seed.actions = std::move(actions).value();
  } else if (Status s = Load(sd, seed); !s.ok()) {
    return Fail(s);
  }
  if (!model.empty()) {
    UseModelOptions mo{.exact = false, .cache_users = so.model_cache_users, .cache_vectors = so.model_cache_vectors};
    if (Status ms = UseModel(model, seed, so.engine, mo); !ms.ok()) return Fail(ms);
    so.model_version = model_version;
    so.model_path = model;
  }
  std::unique_ptr<Store> mirror;
  if (Status c = SetUpCluster(a, so, mirror); !c.ok()) return Fail(c);
  auto t0 = std::chrono::steady_clock::now();
  auto svc = Service::Open(so, &seed, std::move(mirror));
  if (!svc.ok()) return Fail(svc.status());
  auto st = (*svc)->GetStats();
  std::cerr << fmt::format("store {}: recovered {} events, {} users, {} items in {:.2f} s (replay {:.2f} s)\n",
                           so.store_dir, st.events, st.users, st.items,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                           st.recovery_seconds);
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  Status r = RunHttpServer(**svc, ho, g_stop, [&](int port) {
    std::cout << fmt::format("vane serve listening on http://{}:{}/ (dashboard: open it in a browser; API: curl http://{}:{}/v1/recommend/u0)",
                             ho.host, port, ho.host, port)
              << std::endl;
  });
  if (!r.ok()) return Fail(r);
  // An orderly stop keeps what was built: the next start loads it instead of replaying the log.
  if (auto snap = (*svc)->SnapshotNow(); !snap.ok() && snap.status().code() != StatusCode::kNotImplemented)
    std::cerr << "warning: no snapshot at shutdown: " << snap.status().ToString() << "\n";
  return 0;
}

// The serving model's per-user caches and the background pass that fills them.
void AddModelCacheOptions(CLI::App* cmd, ServiceOptions& so) {
  cmd->add_option("--model-cache-users", so.model_cache_users,
                  "active users whose model state stays cached (about 200 KiB each at width 64, length 200)")
      ->capture_default_str();
  cmd->add_option("--model-cache-vectors", so.model_cache_vectors,
                  "users beyond those whose model vector alone stays cached (256 B each at width 64)")
      ->capture_default_str();
  cmd->add_flag("!--no-model-prepare", so.model_prepare,
                "compute users' model states on their first request only, not in a background pass (most recently "
                "active first, up to the two caches' size) after a start, a rebuild or a model swap");
}

}  // namespace

Command AddServeCommand(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "the HTTP service: events in, recommendations out, durable (RocksDB)");
  AddDataFlags(cmd, a->data);
  ServiceOptions& so = a->so;
  HttpOptions& ho = a->ho;
  cmd->add_option("--config", a->config, "TOML configuration file (docs/http_api.md); flags and VANE_* environment variables override it");
  cmd->add_option("--host", ho.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", ho.port, "port (0 = any free port)")->capture_default_str();
  cmd->add_option("--store", so.store_dir, "store directory (created when absent; filled from the seed data on first start)")->capture_default_str();
  cmd->add_option("--model", a->model, "a `vane train` model directory: the model joins the blend");
  cmd->add_option("--api-key", a->keys, "KEY:SCOPE (scope read, write or admin); repeatable (visible in ps: prefer --api-key-file)");
  cmd->add_option("--api-key-file", a->key_file, "a file of API keys: one KEY:SCOPE per line, # comments");
  cmd->add_option("--threads", ho.threads, "HTTP worker threads")->capture_default_str();
  cmd->add_option("--retrain-every", so.retrain_every_s,
                  "retrain the model in the background every this many seconds (0 = only on demand)")
      ->capture_default_str();
  cmd->add_option("--train-epochs", a->train.model.epochs, "epochs of a background training")->capture_default_str();
  cmd->add_option("--models-dir", so.models_dir,
                  "where trained versions go (default: models/ beside the store; in cluster mode, inside it)");
  AddModelCacheOptions(cmd, so);
  cmd->add_option("--blend", a->blend,
                  "the fitted blend `vane eval --save-blend` wrote (kept in the store; default: the store's, else "
                  "fitted in the background on the data)");
  cmd->add_flag("!--catalogue-only", so.seed_events,
                "a new store takes only the catalogue of the seed data, not its events (for `vane replay`)");
  cmd->add_option("--diversity", so.engine.diversity,
                  "penalty per earlier item of the same category in a list (0 = off, as `vane eval` ranks)")
      ->capture_default_str();
  cmd->add_flag("--adapt", so.adapt.enabled,
                "adapt each source's weight to its online click-through rate (clamped to 0.5..2; off by default)");
  cmd->add_option("--long-tail", so.engine.controls.long_tail,
                  "ranking-stage bonus of a long-tail item (outside the most popular 20%), 0 = off; a request's "
                  "long_tail= overrides")
      ->check(CLI::Range(0.0, 100.0))->capture_default_str();
  cmd->add_option("--diversity-weight", so.engine.controls.diversity,
                  "ranking-stage weight of intra-list distance (category Jaccard), 0 = off")
      ->check(CLI::Range(0.0, 100.0))->capture_default_str();
  cmd->add_option("--category-cap", so.engine.controls.category_cap,
                  "most share of a list from one main category (1 = no cap)")
      ->check(CLI::Range(0.01, 1.0))->capture_default_str();
  cmd->add_flag("--ranker", a->ranker,
                "when the blend is fitted here, fit the learned ranking stage with it (LambdaMART on validation, as "
                "`vane eval --ranker`); a --blend file brings its own");
  cmd->add_flag("--gate", a->gate,
                "when the blend is fitted here, fit the learned strategy gate with it (as `vane eval --gate`)");
  cmd->add_flag("--no-fit", a->no_fit, "do not fit the blend when none is given or stored (the built-in weights serve)");
  cmd->add_option("--snapshot-every", so.snapshot_every_events,
                  "write a state snapshot once this many events arrived since the last (0 = only at shutdown); a "
                  "restart loads the newest and replays only the log after it")
      ->capture_default_str();
  cmd->add_flag("!--no-snapshots", so.snapshots, "neither write nor load state snapshots (a restart replays the log)");
  cmd->add_option("--cluster", a->cluster_seeds,
                  "cluster mode: host:port,... of Redis Cluster nodes; events go to the log every node shares and "
                  "this node applies it (docs/cluster.md)");
  cmd->add_option("--cluster-prefix", a->cluster_prefix, "the shared log's key prefix")->capture_default_str();
  cmd->add_option("--cluster-partitions", a->cluster_partitions, "the shared log's partitions (the same on every node)")
      ->capture_default_str();
  cmd->add_option("--cluster-wait-replicas", a->cluster_wait_replicas,
                  "acknowledge a batch only once this many replicas of each master hold it (WAIT)")
      ->capture_default_str();
  cmd->add_option("--node-id", so.node_id, "this node's name in batch ids (default: node<pid>)");
  cmd->add_option("--groups", so.groups,
                  "node groups: user state split over this many groups by log partition (docs/cluster.md)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--group", so.group, "node groups: this node's group, 0 to --groups - 1")->capture_default_str();
  cmd->add_option("--advertise", so.advertise_url,
                  "cluster mode: the base URL other nodes redirect to for this node (default http://<host>:<port>)");
  cmd->add_option("--max-future", so.max_future_s,
                  "reject events dated more than this many seconds ahead of the server's clock")
      ->capture_default_str();
  return {cmd, [a, cmd] { return RunServe(*a, cmd); }};
}

}  // namespace vane::cli
