// The service behind `vane serve`: the live Dataset and Engine, kept durable by the Store.
//
// Writes (events, items, user deletion) take an exclusive lock, apply to memory, and are made durable before the
// caller is answered: an acknowledged write survives a crash. Reads (recommendations, interests, items) share the
// lock and see every acknowledged write (read-your-writes). On start the store is replayed in order, so the state
// after a restart equals the state before it (catalogue, events and live interest state); an empty store is first
// filled with the seed data (the embedded demo data by default).
// Every method returns JSON-ready results or an error with a stable code; the HTTP layer (serve/http.h) only maps
// them to routes. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <span>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "vane/events/import.h"
#include "vane/interest/describe.h"
#include "vane/model/trainer.h"
#include "vane/recommend/engine.h"
#include "vane/serve/store.h"

namespace vane {

// JSON renderings shared by the CLI and the API.
nlohmann::json RecsJson(const RecommendResponse& r);
nlohmann::json InterestsJson(const InterestSummary& s);

// An API error: HTTP status, a stable machine-readable code and a message that names the problem.
struct ApiError {
  int status = 400;
  std::string code, message;
};

template <typename T>
struct ApiResult {
  std::optional<T> value;
  ApiError error;
  bool ok() const { return value.has_value(); }
  static ApiResult Ok(T v) { return ApiResult{std::move(v), {}}; }
  static ApiResult Fail(int status, std::string code, std::string message) {
    return ApiResult{std::nullopt, {status, std::move(code), std::move(message)}};
  }
};

// An A/B variant: users are bucketed by a hash of their id (sticky), in proportion to `share`; a variant scales the
// strategy's source weights and may set its own diversity.
struct Variant {
  std::string name;
  double share = 1;
  BlendWeights scale = {1, 1, 1, 1, 1, 1, 1};
  float diversity = -1;  // negative: the engine's
};

struct ServiceOptions {
  std::string store_dir = "data/store";
  std::string action_preset = "ecommerce";
  size_t max_batch = 10000;  // events per ingestion request
  EngineConfig engine;       // model_source included when the caller links a model
  std::string model_version = "none";
  size_t model_cache_users = 1000;
  size_t model_cache_vectors = 100000;
  std::vector<Variant> variants;    // empty: no experiment (every user gets the configured blend)
  ModelTrainer trainer;             // unset: no retraining
  std::string models_dir = "data/models";  // versions v1, v2, ... are written here
  double retrain_every_s = 0;       // > 0: retrain on this schedule (seconds), besides on demand
  // Events kept in memory (the store keeps them all): the newest memory_events, trimmed once a quarter more has
  // arrived; background training and duplicate detection see this window. 0 = keep every event.
  size_t memory_events = 5000000;
  size_t store_memtable_mb = 64;     // RocksDB memtables, all column families together
  size_t store_block_cache_mb = 32;  // RocksDB block cache (index and filter blocks included)
};

class Service {
 public:
  // Opens the store, fills it from `seed` when it is empty (may be null), and replays it.
  static Result<std::unique_ptr<Service>> Open(const ServiceOptions& opt, const Dataset* seed);

  // Ingests an array of events. Valid events are stored and applied even when others are rejected; the result
  // lists {"accepted", "duplicates", "rejected": [{"index", "field", "reason"}]}.
  ApiResult<nlohmann::json> IngestEvents(const nlohmann::json& events);
  // Recommendations (RecsJson plus "user" and "model_version"). The request's `now` is filled with the clock.
  ApiResult<nlohmann::json> Recommend(RecommendRequest req) const;
  ApiResult<nlohmann::json> Interests(const std::string& user) const;
  ApiResult<nlohmann::json> Similar(const std::string& item, size_t n) const;
  ApiResult<nlohmann::json> PutItems(const nlohmann::json& items);  // an object or an array of objects
  ApiResult<nlohmann::json> GetItem(const std::string& id) const;
  ApiResult<nlohmann::json> DeleteItem(const std::string& id);   // marks unavailable and removes it from the store
  ApiResult<nlohmann::json> GetUser(const std::string& id) const;
  // Available items by decayed popularity, or by creation time (newest first), optionally of one category:
  // {"items": [{"id", "title", "score"}]} (score: popularity, or the creation time in unix seconds).
  enum class ListKind { kPopular, kLatest };
  ApiResult<nlohmann::json> ItemList(ListKind kind, const std::string& category, size_t n, size_t offset) const;
  // Users whose id contains `q` (all when empty), most recently active first, at most n:
  // {"users": [{"id", "events", "last_ts"}]}.
  ApiResult<nlohmann::json> ListUsers(const std::string& q, size_t n) const;
  // The user's newest n events from the store, newest first: {"user", "events": [{"seq", "item", "title", "action",
  // "query", "ts", "value"}]}.
  ApiResult<nlohmann::json> UserEvents(const std::string& id, size_t n) const;
  // Live views (the dashboard's stream). ChangeSeq grows with every change of any user's state (ingestion, user
  // deletion, model swap); UserChangeSeq is the value it had at the user's last change (0: unknown user).
  // WaitForChange blocks until ChangeSeq() != seen or the timeout passes, and returns ChangeSeq().
  uint64_t ChangeSeq() const { return change_seq_.load(); }
  uint64_t UserChangeSeq(const std::string& id) const;
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;
  // Everything the dashboard shows of a user in one answer: {"user", "version", "interests", "recommend", "events"}.
  ApiResult<nlohmann::json> UserSnapshot(const std::string& id, size_t n) const;
  // A client's user record (an object stored as given; e.g. Gorse's {UserId, Labels, Comment}); users need no
  // record to receive events. GetUserRecord: 404 when the user has neither a record nor events.
  ApiResult<nlohmann::json> PutUserRecord(const std::string& id, const nlohmann::json& record);
  ApiResult<nlohmann::json> GetUserRecord(const std::string& id) const;
  // Removes the user's events from the store and every derived state (the in-memory state is rebuilt by replay).
  ApiResult<nlohmann::json> DeleteUser(const std::string& id);
  // Starts training a new model version in the background on a snapshot of the data; when it is done the model
  // slot is swapped under a short exclusive lock (requests keep being served meanwhile). 202-style result with the
  // version name; 409 while a training runs; 501 without a trainer.
  ApiResult<nlohmann::json> Retrain();
  // {"current", "training", "versions": [{"version", "state", "info"...}]}.
  nlohmann::json Models() const;
  ~Service();
  // The user's A/B variant (nullptr without variants).
  const Variant* VariantFor(const std::string& user) const;
  // Online feedback: {"user", "item", "type": "impression"|"click"|"conversion", "strategy"}; the variant is the
  // user's (or "variant" when given).
  ApiResult<nlohmann::json> Feedback(const nlohmann::json& fb);

  struct Stats {
    uint64_t events = 0, users = 0, items = 0, accepted = 0, rejected = 0, duplicates = 0, store_bytes = 0;
    double recovery_seconds = 0;
    uint64_t recovered_events = 0;
    size_t state_bytes = 0;
    uint64_t events_in_memory = 0;  // the window kept in memory (ServiceOptions::memory_events)
    size_t hot_state_bytes_per_user = 0;
    std::string model_version;
  };
  Stats GetStats() const;
  // Online counters per strategy and per variant: impressions, clicks, conversions, CTR, conversion rate:
  // {"by_strategy": {...}, "by_variant": {...}}.
  nlohmann::json OnlineStats() const;
  const ServiceOptions& options() const { return opt_; }
  bool ready() const { return ready_.load(); }

 private:
  explicit Service(ServiceOptions opt);
  Status Rebuild();  // (re)creates dataset and engine from the store; caller holds the exclusive lock
  void NoteChange(std::span<const uint32_t> users);  // caller holds the exclusive lock; empty: every user
  Timestamp Now() const;

  ServiceOptions opt_;
  ActionRegistry actions_;
  std::unique_ptr<Store> store_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<Dataset> ds_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ImportOptions> import_opt_;
  std::unique_ptr<ImportReport> report_;
  std::unique_ptr<EventCleaner> cleaner_;
  uint64_t next_seq_ = 0;
  Stats stats_;
  std::atomic<bool> ready_{false};
  // Change tracking for live views.
  std::atomic<uint64_t> change_seq_{0};
  std::vector<uint64_t> user_change_;  // by UserIdx; guarded by mu_
  mutable std::mutex change_mu_;
  mutable std::condition_variable change_cv_;
  struct Online {
    uint64_t impressions = 0, clicks = 0, conversions = 0;
  };
  mutable std::mutex online_mu_;
  std::map<std::string, Online> online_, online_variant_;
  // Model lifecycle.
  mutable std::mutex models_mu_;
  nlohmann::json versions_ = nlohmann::json::array();
  int next_version_ = 1;
  std::atomic<bool> training_{false}, stopping_{false};
  std::thread train_thread_, scheduler_;
};

}  // namespace vane
