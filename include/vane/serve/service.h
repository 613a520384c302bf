// The service behind `vane serve`: the live Dataset and Engine, kept durable by a Store (store/store.h).
//
// Writes are durable before they are answered, and nobody waits for the disk while holding the state:
//   - an event batch is cleaned into the live dataset and given its log positions under a short exclusive lock
//     (CPU only), written to the store with no lock held (concurrent batches reach RocksDB together, which
//     commits them as one group with one fsync), then applied to the engine in position order under a second
//     short exclusive lock, and only then answered. A batch is answered after every earlier batch was applied, so
//     an answer never depends on a batch that may still fail (a "duplicate" answer included).
//   - A failed store write is never acknowledged; the service stops taking writes (not ready) and, once the writes
//     in flight have finished, replaces its in-memory state by one loaded from the store, so what it serves is
//     exactly what is durable.
//   - Item writes are serialised among themselves; their durable write holds no lock readers need.
//   - Deleting a user removes the user's events from the store (the store erases them from its files in the
//     background, store/store.h), then forgets the user's own state at once under a short lock (unknown to every
//     read route from then on). The user's contribution to shared statistics (co-visitation, popularity,
//     transitions) is removed by a rebuild from the log that runs in the background and is swapped in under a
//     short lock; deletions arriving together share one rebuild. Retraining never sees a deleted user's events.
// Reads (recommendations, interests, items) share the lock and never wait on I/O; they see every acknowledged
// write (read-your-writes). On start the store is replayed in order, so the state after a restart equals the
// state before it (catalogue, events and live interest state); a store with no data is first filled with the
// seed data.
//
// Every method returns plain structs or a Status with a machine-readable reason ("unknown_user", ...); no JSON,
// no HTTP: serve/http renders them and maps each Status code to an HTTP status in one place. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "vane/core/clock.h"
#include "vane/events/import.h"
#include "vane/interest/describe.h"
#include "vane/registry/registry.h"
#include "vane/registry/trainer.h"
#include "vane/recommend/engine.h"
#include "vane/serve/experiments.h"
#include "vane/serve/notify.h"
#include "vane/serve/snapshots.h"
#include "vane/store/shared_log.h"
#include "vane/store/store.h"

namespace vane {

struct ServiceOptions {
  std::string store_dir = "data/store";
  std::string action_preset = "ecommerce";
  size_t max_batch = 10000;  // events or items per write request
  EngineConfig engine;       // model_source included when the caller links a model
  std::string model_version = "none";
  std::string model_path;  // the directory the serving model was loaded from at start ("" without one)
  size_t model_cache_users = 1000;
  size_t model_cache_vectors = 100000;
  // After a start, a rebuild or a model swap, a background thread computes the model's state of the most recently
  // active users (as many as the two caches above hold) before they ask, so that a first request costs what a
  // repeated one does. Off: states are computed on each user's first request.
  bool model_prepare = true;
  std::vector<Variant> variants;    // empty: no experiment (every user gets the configured blend)
  ModelTrainer trainer;             // unset: no retraining
  ModelLoader model_loader;         // unset: kept versions cannot be promoted by hand
  RegistryOptions registry;         // promotion tolerance and how many versions stay on disk
  std::string models_dir = "data/models";  // versions v1, v2, ... are written here
  double retrain_every_s = 0;       // > 0: retrain on this schedule (seconds), besides on demand
  // Memory bounds of a long-running server. Events kept in memory (the store keeps them all): the newest
  // memory_events, trimmed once a quarter more has arrived; background training and duplicate detection see this
  // window (0 = keep every event). Each user's history lists keep the newest history_per_user items; each item
  // keeps its strongest edges_per_item co-visitation edges. They override the engine configuration's.
  size_t memory_events = 5000000;
  size_t history_per_user = 1000;
  size_t edges_per_item = 500;
  RocksDbOptions store;              // RocksDB memtables and block cache
  std::shared_ptr<const Clock> clock = std::make_shared<SystemClock>();  // "now" of requests without one
  // Events dated more than this many seconds ahead of the clock are rejected (field "ts"): the clock-error bound.
  int64_t max_future_s = 600;
  // The blend that serves. Given (`vane serve --blend`): used, and kept in the store. Otherwise the store's (from an
  // earlier start or retraining). Otherwise, with a fitter, fitted on the data as `vane eval` fits it, during the
  // first start (before the service answers), and kept in the store, so a restart loads it without refitting.
  // Every retraining refits it with the new model, in the background.
  std::optional<BlendConfig> blend;
  BlendFitter blend_fitter;
  // false: an empty store takes the seed's catalogue only, not its events (`vane serve --catalogue-only`, the start
  // of a `vane replay` evaluation).
  bool seed_events = true;
  AdaptOptions adapt;  // online adaptation of the source weights (off by default)
  // Feedback types of Gorse clients (Gorse's positive_feedback_types and read_feedback_types): each becomes an
  // action of its own name (ActionRegistry::AddNamed), counted as "like" (positive) or as "view" (read) (in a
  // registry without them: its strongest, or weakest, positive action), so that
  // it is stored and read back as sent. Added to the store's registry at start (and kept there: stored events
  // name them); a type in both lists is positive.
  std::vector<std::string> positive_feedback_types = {"star", "like"};
  std::vector<std::string> read_feedback_types = {"read"};
  // State snapshots: a restart loads the newest valid snapshot and replays only the log after it (see "Snapshots"
  // below). Folder: snapshot_dir when given; otherwise <store_dir>/snapshots when the service opens its RocksDB
  // store itself, and none (snapshots off) when a store is handed to Open.
  bool snapshots = true;
  std::string snapshot_dir;
  uint64_t snapshot_every_events = 1000000;  // a snapshot once this many events arrived since the last (0: never)
  size_t snapshots_kept = 2;                 // the newest ones stay; older ones are removed
  // Cluster mode (docs/cluster.md, "Nodes applying the log"): events are appended to the log every node shares, and
  // this node applies that log, in its common order, to its state and to its store (then a local mirror: pass a
  // memory store to Open). An ingestion is answered once this node has applied it, with its position token;
  // WaitForPosition holds a read until the node has applied a token's writes.
  std::shared_ptr<SharedLog> shared_log;
  std::string node_id = "node";                      // batch ids are <node_id>-<start time>-<counter>
  std::chrono::milliseconds apply_wait{10000};       // how long an ingestion waits for its own application
  // Cluster snapshots (docs/cluster.md, "Snapshots in the cluster"): a node starts from the newest one in the
  // cluster and reads the log on from its position; one node at a time (the lease "snap") writes one every
  // snapshot_every_events events, keeps snapshots_kept, and trims the log behind the oldest kept.
  bool cluster_snapshots = true;
  // Node groups (docs/cluster.md, "Node groups"): with groups > 1 this node is in group `group` and applies the
  // entries of the users whose partition p has p mod groups == group (their events, records and deletions; the
  // catalogue and online counters from every partition). A request naming a user of another group is redirected
  // (307) to a live node of that group, found in the cluster's membership, where this node announces itself under
  // `advertise_url` (e.g. http://10.0.0.5:8080; set by the HTTP server from its port when empty).
  int groups = 1, group = 0;
  std::string advertise_url;
};

// One rejected record of a write batch: its index in the request, the field and why.
struct Rejection {
  size_t index = 0;
  std::string field, reason;
};

struct IngestResult {
  uint64_t accepted = 0, duplicates = 0;
  std::vector<Rejection> rejected;  // by index
  std::string position;             // cluster mode: the write's position token ("" otherwise)
  // Node groups: events of users of other groups, appended to the log and counted in `accepted`; their group's
  // cleaning decides whether they are duplicates.
  uint64_t other_groups = 0;
};

struct ScoredItem {
  std::string id, type, title;
  double score = 0;
};

struct UserInfo {
  std::string id;
  uint64_t events = 0;
  Timestamp last_ts = 0;
};

// An event of a user as stored, with the item's title (empty for searches and unknown items).
struct UserEvent {
  uint64_t seq = 0;
  RawEvent event;
  std::string title;
};

// The interest graph's nodes (categories and keywords, weights decayed to now) and the user's transitions.
struct GraphNode {
  std::string id, kind, name;  // id: "c:<category>" or "k:<keyword>"; kind: "category" or "keyword"
  float s = 0, l = 0;
  // Keyword nodes: the categories the keyword came from ("c:<category>") with the share of the catalogue's items
  // holding the keyword that are in each (InterestStore::KeywordCategories: at most 3, each at least 0.2). Empty
  // for a keyword spread over many categories ("plus", "top", "3"): it says nothing about a category.
  std::vector<std::pair<std::string, float>> categories;
};
struct GraphEdge {
  std::string from, to;
  uint32_t count = 0;
};
// What the behaviour model says of a user (its interest and keyword heads), with category names.
struct ModelView {
  std::string text_en, text_zh;
  std::vector<std::pair<std::string, float>> interests, keywords;  // most likely first
  std::string generated;                                           // the text decoder's words ("" without one)
  std::vector<std::string> generated_words;
};
struct UserInterests {
  std::string user;
  InterestSummary summary;
  std::optional<ModelView> model;  // when a model serves and has an interest head
  std::vector<GraphNode> nodes;
  std::vector<GraphEdge> edges;
};

struct ServedRecommendation {
  std::string user;
  bool known_user = false;
  std::string variant;  // empty without variants
  std::string model_version;
  RecommendResponse response;
  // How the request's source weights were decided: the strategy's (blend × strategy multipliers), then the
  // variant's scale and the online adaptation's scale when they apply; `scale` is their product.
  std::vector<std::string> weights_from;
  BlendWeights scale{};
};

// Everything the dashboard shows of a user in one answer.
struct UserSnapshot {
  std::string user;
  uint64_t version = 0;  // the change sequence at the user's last change
  UserInterests interests;
  ServedRecommendation recommend;
  std::vector<UserEvent> events;
};

struct ModelsInfo {
  std::string current;
  std::string current_path;  // where the serving model was loaded from ("" without one)
  bool training = false;
  nlohmann::json versions;  // the registry's records (registry/registry.h)
  // The blend that serves: {"state": "default"|"given"|"stored"|"fitting"|"fitted"|"failed", "config": BlendConfig
  // JSON, "error" when failed}.
  nlohmann::json blend;
};

// Cluster mode: one position token covering both `a` and `b` (tokens are "partition:ms-seq" parts joined by ','):
// the furthest entry of each partition, in partition order. "" for two empty tokens.
std::string MergePositions(const std::string& a, const std::string& b);

class Service {
 public:
  // Opens the RocksDB store at opt.store_dir (or uses `store`), fills it from `seed` when it is empty (seed may be
  // null), and replays it.
  static Result<std::unique_ptr<Service>> Open(const ServiceOptions& opt, const Dataset* seed,
                                               std::unique_ptr<Store> store = nullptr);
  ~Service();

  // The batch limit: TooLarge ("batch_too_large") when `n` records of `what` ("events", "items") exceed it.
  Status CheckBatch(size_t n, const char* what) const;
  // Ingests a batch: each record is an event or the reason it could not be read (its position is its index).
  // kPerRecord: valid events are stored and applied even when others are rejected. kAllOrNothing: every record is
  // checked first; when any would be rejected, nothing is stored and the rejections are returned (accepted 0).
  enum class BatchMode { kPerRecord, kAllOrNothing };
  Result<IngestResult> IngestEvents(std::span<const Result<RawEvent>> records, BatchMode mode = BatchMode::kPerRecord);
  // Cluster mode: waits until this node has applied every write of `token` (IngestResult::position, from any
  // node), at most `timeout`: Unavailable ("position_not_reached") then; InvalidArgument ("bad_token") for a
  // token that does not read. OK at once outside cluster mode or for an empty token.
  Status WaitForPosition(const std::string& token, std::chrono::milliseconds timeout) const;
  // Recommendations; the request's `now` (0) is filled with the clock.
  Result<ServedRecommendation> Recommend(RecommendRequest req) const;
  Result<UserInterests> Interests(const std::string& user) const;
  // Items like `item` by text (content index), available ones only.
  Result<std::vector<ScoredItem>> Similar(const std::string& item, size_t n) const;
  // Stores the items in one durable write and applies them; returns how many. An id outside the id rule
  // (events/ids.h) refuses the whole batch ("bad_id").
  // Writes take an optional `position`: in cluster mode it receives the write's position token (as
  // IngestResult::position; a read carrying it on any node sees the write), untouched otherwise.
  Result<size_t> PutItems(std::vector<Item> items, std::string* position = nullptr);
  Result<Item> GetItem(const std::string& id) const;
  // Marks the item unavailable (past events keep naming it) and stores that.
  Status DeleteItem(const std::string& id, std::string* position = nullptr);
  Result<UserInfo> GetUser(const std::string& id) const;
  // Available items by decayed popularity (score: popularity), or by creation time, newest first (score: the
  // creation time in unix seconds), optionally of one category.
  enum class ListKind { kPopular, kLatest };
  Result<std::vector<ScoredItem>> ItemList(ListKind kind, const std::string& category, size_t n, size_t offset) const;
  // Users whose id contains `q` (all when empty), most recently active first, at most n.
  Result<std::vector<UserInfo>> ListUsers(const std::string& q, size_t n) const;
  // The user's newest n events from the store, newest first.
  Result<std::vector<UserEvent>> UserEvents(const std::string& id, size_t n) const;
  Result<UserSnapshot> Snapshot(const std::string& id, size_t n) const;
  // ---- listings and per-item views (service_lists.cc; the Gorse API's cursors) ----
  // Users (with live events or a stored record) whose id sorts (bytewise) after `after`, in id order, at most n.
  Result<std::vector<std::string>> UserIdsAfter(const std::string& after, size_t n) const;
  // Catalogue items (hidden ones included) whose id sorts after `after`, in id order, at most n.
  Result<std::vector<Item>> ItemsAfter(const std::string& after, size_t n) const;
  // Stored events at log positions >= `from` for which `keep` holds, in log order, at most n; `next` is the
  // position to continue from, 0 when the log has no more. Reads the store from `from` to its end.
  struct LogPage {
    std::vector<std::pair<uint64_t, RawEvent>> events;
    uint64_t next = 0;
  };
  Result<LogPage> LogEvents(uint64_t from, size_t n, const std::function<bool(const RawEvent&)>& keep) const;
  // The newest n events on `item` in memory (the window of ServiceOptions::memory_events), newest first, without
  // their context (the store indexes events by user only). NotFound for an item outside the catalogue.
  Result<std::vector<RawEvent>> ItemEvents(const std::string& item, size_t n) const;
  // Users most like `user` by the items both acted on positively within the memory window: score = shared items /
  // sqrt(the user's items x the other's items), best first, at most n. NotFound for an unknown user.
  Result<std::vector<ScoredItem>> SimilarUsers(const std::string& user, size_t n) const;
  // Removes the user's stored events for which `drop` holds and keeps the others (at their log positions) and the
  // user's record: one atomic store write (Store::EraseUserEvents), so a crash leaves either every event or the
  // kept ones, and events of the user written meanwhile are never touched (batches in flight are applied first).
  // The store-backed views (UserEvents, LogEvents) and ItemEvents forget the removed events at once; the user's
  // interest state, recommendations and the shared statistics follow when the background rebuild is swapped in
  // (as after DeleteUser; WaitForRebuild). Like a deletion it removes the snapshots (the next restart replays the
  // log unless a snapshot was written since) and lets the model be retrained. Returns how many were removed;
  // NotFound ("unknown_feedback") when none matched, and then nothing is written.
  Result<uint64_t> DeleteUserEvents(const std::string& user, const std::function<bool(const RawEvent&)>& drop);
  // DeleteUserEvents of the user's events on `item` (of `type` when not empty): the form cluster mode can carry
  // in the log (every node removes them; docs/cluster.md, "Deletion").
  Result<uint64_t> DeleteFeedback(const std::string& user, const std::string& item, const std::string& type,
                                  std::string* position = nullptr);
  // Gorse stores feedback of any type. Each type that is not an action's own name becomes one, durably (the store's
  // action registry) before any event of it is written: a vane alias (`buy`, `read`) as an action of its own counted
  // as the action it named (ActionRegistry::AddNamed), any other type as a neutral action (AddNeutral: kept and read
  // back as sent, moving no interest). InvalidArgument ("bad_feedback") for a type outside the id rule or once the
  // registry is full (ActionRegistry::kMaxActions); nothing is registered then.
  Status RegisterFeedbackTypes(const std::vector<std::string>& types);
  // Live views: ChangeSeq grows with every change of any user's state (ingestion, user deletion, model swap);
  // UserChangeSeq is the value it had at the user's last change (0: unknown user). WaitForChange blocks until
  // ChangeSeq() != seen or the timeout passes, and returns ChangeSeq().
  uint64_t ChangeSeq() const { return notify_.Seq(); }
  uint64_t UserChangeSeq(const std::string& id) const;
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const { return notify_.Wait(seen, timeout); }
  // A client's user record: a JSON object's text, stored as given (e.g. Gorse's {UserId, Labels, Comment}); users
  // need no record to receive events; the id must follow the id rule (events/ids.h, "bad_id"). GetUserRecord: "{}"
  // for a user with events and no record; NotFound when the user has neither.
  Status PutUserRecord(const std::string& id, const std::string& record_json, std::string* position = nullptr);
  Result<std::string> GetUserRecord(const std::string& id) const;
  // Removes the user's events and record from the store and forgets the user's own state at once; the shared
  // statistics are rebuilt without them in the background (see the top of this file). Returns how many events.
  Result<uint64_t> DeleteUser(const std::string& id, std::string* position = nullptr);
  // Cluster mode: true once every deletion applied here is gone from the cluster's log and snapshots (a snapshot
  // without the users was written and the log trimmed behind it; docs/cluster.md, "Deletion").
  bool ClusterErasuresDone() const { return cluster_erasures_pending_.load() == 0; }
  // Node groups (service_cluster_groups.cc). The group of a user's entries (0 without groups); whether this node
  // applies them; the base URL of a live node of group g ("" when none is known), from the membership this node
  // refreshes after each announcement (every 2 s) and, when no node of the group is known, at most once a second
  // (RefreshMembers; no lock is held across the Redis read); Announce publishes this node's entry now (at start,
  // and when its URL becomes known).
  int GroupOf(const std::string& user) const;
  bool OwnsUser(const std::string& user) const { return GroupOf(user) == opt_.group; }
  std::string NodeOfGroup(int g) const;
  Status Announce(const std::string& url = "");
  void RefreshMembers() const;
  // Blocks until every deletion so far is out of the shared statistics (the background rebuild has been swapped
  // in) or the timeout passes; returns whether it was. For tests and orderly shutdown.
  bool WaitForRebuild(std::chrono::milliseconds timeout) const;
  // Snapshots. A snapshot is a binary image of everything derived from the log (the live dataset with its event
  // window, the cleaner's duplicate index, the engine's interest store and sources; core/binary_io.h) with the log
  // position it covers, in the snapshot folder (ServiceOptions::snapshot_dir). Start-up (and a rebuild) loads the
  // newest one that is whole (its checksum holds), was taken under the same state-shaping configuration and is
  // not beyond the log, then replays the log after it; one that fails is skipped with a warning on stderr, and
  // without one the whole log is replayed. Items are not in the log: the store's catalogue is compared with the
  // snapshot's on load and what changed is applied. A deletion removes every snapshot (durably) before the store
  // forgets the user, so no restart can bring the user back; the background rebuild that follows writes a new
  // one without the user. Snapshots are written every snapshot_every_events events by the maintenance thread,
  // and by SnapshotNow.
  // SnapshotNow writes one of the serving state now (orderly shutdown; tests): writes pause while it is copied
  // (under the read lock) and resume before it reaches the disk. Returns its size in bytes (0 when the newest
  // snapshot already covers every event); NotImplemented with snapshots off; Conflict while a deletion's rebuild
  // is pending (the serving state still holds the deleted user's share of the statistics).
  Result<uint64_t> SnapshotNow();
  // Starts training a new model version in the background on a snapshot of the data. When it is done and its
  // validation figures pass the registry's gate, the model slot is swapped under a short exclusive lock (requests
  // keep being served meanwhile); otherwise it is kept as a candidate. Returns the version name; Conflict while a
  // training runs ("training_in_progress") or when no event arrived since the last training ("no_new_events");
  // NotImplemented without a trainer.
  Result<std::string> Retrain();
  // Makes a kept version serve (a rollback, or a candidate the gate held back). NotFound for an unknown or removed
  // version; NotImplemented without a model loader.
  Status PromoteVersion(const std::string& version);
  ModelsInfo Models() const;
  const Variant* VariantFor(const std::string& user) const { return experiments_.VariantFor(user); }
  Result<FeedbackRecord> Feedback(FeedbackRecord fb, std::string* position = nullptr);
  OnlineStats Online(const std::string& origin = "client") const { return experiments_.Stats(origin); }
  OnlineCounts ItemOnline(const std::string& item) const { return experiments_.ItemCounts(item); }

  struct Stats {
    uint64_t events = 0, users = 0, items = 0, accepted = 0, rejected = 0, duplicates = 0, store_bytes = 0;
    double recovery_seconds = 0;
    uint64_t recovered_events = 0;
    // The background pass over users' model states (ServiceOptions::model_prepare): users whose state it computed
    // since the serving state or model was last replaced, whether it is done, and how long it took.
    uint64_t model_prepared_users = 0;
    bool model_prepare_done = false;
    double model_prepare_seconds = 0;
    size_t state_bytes = 0;
    uint64_t events_in_memory = 0;  // the window kept in memory (ServiceOptions::memory_events)
    size_t hot_state_bytes_per_user = 0;
    std::string model_version;
    uint64_t rebuilds = 0;            // background rebuilds swapped in (after deletions or a failed write)
    double last_rebuild_seconds = 0;  // how long the last one took (off the request path)
    double last_swap_ms = 0;          // how long its swap held the exclusive lock
    uint64_t snapshot_loaded_seq = 0;  // the position of the snapshot the serving state was loaded from (0: none)
    uint64_t replayed_events = 0;      // events of the log replayed on top of it (all of them without one)
    uint64_t snapshots_written = 0, last_snapshot_seq = 0, last_snapshot_bytes = 0;
    double last_snapshot_seconds = 0;  // copying and writing it
    double last_snapshot_pause_ms = 0; // how long writes paused while the serving state was copied
    uint64_t pending_erasures = 0;    // deleted users not yet erased from the store's files
    // Cluster mode: where this node is in the shared log, how far behind the log's present (the wall clock minus
    // the log's watermark: at least the tailer's order margin), malformed log entries skipped.
    bool cluster = false;
    std::string cluster_position;
    double cluster_lag_ms = 0;
    uint64_t cluster_log_rejected = 0;
    std::string cluster_error;             // why the applier cannot go on (e.g. the log trimmed past it); "" when fine
    double cluster_restore_seconds = 0;    // reading and unpacking the cluster snapshot at start (0: none loaded)
    uint64_t cluster_snapshot_bytes = 0;   // the image loaded at start, or the last one this node wrote
    uint64_t cluster_snapshots_written = 0, cluster_trimmed_entries = 0;
  };
  Stats GetStats() const;
  const ServiceOptions& options() const { return opt_; }
  bool ready() const { return ready_.load(); }
  Timestamp Now() const { return opt_.clock->Now(); }

 private:
  // Everything derived from the store: the live dataset, its cleaner and the engine, and how far they got.
  struct State {
    std::unique_ptr<Dataset> ds;
    std::unique_ptr<ImportOptions> iopt;
    std::unique_ptr<ImportReport> report;
    std::unique_ptr<EventCleaner> cleaner;
    std::unique_ptr<Engine> engine;
    uint64_t next_seq = 0;  // one past the last position loaded
    size_t applied = 0;     // ds->events[0, applied) are in the engine
    size_t items_known = 0;
    uint64_t snapshot_seq = 0;  // loaded from the snapshot at this position (0: none)
    uint64_t replayed = 0;      // events replayed from the log
  };
  // A batch between cleaning and its answer: its positions [first, end).
  struct Ticket {
    uint64_t first = 0, end = 0;
  };

  explicit Service(ServiceOptions opt);
  Status InitStore(const Dataset* seed);
  ActionRegistry Actions() const;  // actions_, read under mu_
  // A new State with the store's items and the events at positions [from, to) (to = UINT64_MAX: all). No lock
  // is held while it loads; `cfg` is the engine configuration to build with.
  Result<State> LoadState(const EngineConfig& cfg, uint64_t to) const;
  // Adds the store's events at positions [from, to) to a state (catch-up after LoadState).
  Status CatchUp(State& st, uint64_t from, uint64_t to) const;
  // Makes `st` the serving state and leaves the old one in `st`; caller holds the exclusive lock (and frees `st`
  // after releasing it).
  void Install(State& st);
  // A failed durable write: the service stops taking writes (not ready) and the caller gets `s`.
  Status StoreFailed(const Status& s);
  // Cleans one record into the live dataset: a stored form, a duplicate, or a rejection.
  void CleanRecord(size_t index, const Result<RawEvent>& record, Timestamp now, std::vector<RawEvent>& to_store,
                   IngestResult& out);
  // The write path of one node: clean, store, apply (IngestEvents outside cluster mode; the applier in it).
  Result<IngestResult> IngestLocal(std::span<const Result<RawEvent>> records, BatchMode mode);
  // Cluster mode (service_cluster.cc): checks the records, appends the valid ones to the shared log, waits for
  // their application here.
  Result<IngestResult> IngestShared(std::span<const Result<RawEvent>> records, BatchMode mode);
  void ApplierLoop();
  Result<size_t> PutItemsLocal(std::vector<Item> items);
  Result<size_t> PutItemsShared(const std::vector<Item>& items, std::string* position);
  Status PutUserRecordLocal(const std::string& id, const std::string& record_json);
  void ApplyEntry(const SharedLogEntry& e);
  // Cluster snapshots (service_cluster_snapshots.cc). Before InitStore: fills the mirror store from the newest
  // cluster snapshot and keeps its state payload for LoadState; a node without one starts from the log.
  Status RestoreFromCluster();
  // Writes a cluster snapshot unless the cluster's newest already covers this node's position; `keep` snapshots
  // stay (1 after a deletion: the older ones may hold the user).
  Result<uint64_t> ClusterSnapshotNow(size_t keep);
  Status CaptureNodeImage(SharedSnapshot& meta, std::string& image);
  // One trainer in the cluster (service_cluster_models.cc).
  Status TakeTrainerLease();
  void RenewTrainerLease(const std::atomic<bool>& done);
  void PublishModel(const std::string& version, const std::string& dir, const nlohmann::json& info, uint64_t trained_at);
  void AdoptPublishedModel();
  // The blend every node serves: the cluster's (the first node's fit, or the last published model's).
  Status InitClusterBlend();
  // After deletions were applied and the state rebuilt: a snapshot without the users replaces every older one and
  // the log is trimmed behind it (maintenance thread; retried while another node holds the lease).
  void EraseFromCluster();
  void NoteClusterSnapshot(const SharedSnapshot& meta, uint64_t bytes, uint64_t trimmed, double seconds, double pause_ms);
  Result<uint64_t> DeleteUserLocal(const std::string& id);
  Result<uint64_t> DeleteUserShared(const std::string& id, std::string* position);
  struct BatchOutcome;
  Result<std::pair<std::string, BatchOutcome>> AppendOwnBatch(
      const std::function<Result<std::string>(const std::string& batch)>& append, std::string_view what);
  // Cluster mode: appends a record (SharedLogEntry::record_kind) and waits until this node has applied it; the
  // outcome of its application here (ApplyRecord).
  Result<std::pair<std::string, BatchOutcome>> AppendRecord(const std::string& kind, const std::string& user,
                                                            const std::string& body);
  void ApplyRecord(const SharedLogEntry& e, BatchOutcome* own);
  // The state a snapshot payload holds (both kinds of snapshot), checked against this store and configuration.
  Result<State> StateFromPayload(std::string_view payload, const EngineConfig& cfg, uint64_t expect_seq) const;
  static Result<RawEvent> Admit(const Result<RawEvent>& record, Timestamp now, int64_t max_future_s);
  // The write path's stages (see the top of this file).
  Result<Ticket> CleanBatch(std::span<const Result<RawEvent>> records, BatchMode mode, std::vector<RawEvent>& to_store,
                            IngestResult& out);
  Status FinishBatch(const Ticket& t, const Status& written);
  // Waits until every batch given positions so far has been applied (or a write failed); caller holds write_gate_.
  Status Drain();
  // The background rebuild (after deletions) and recovery (after a failed write); see the top of this file.
  void MaintenanceLoop();
  Status RebuildAside(bool recovery);
  // Snapshots (service_snapshots.cc). The key of the configuration a snapshot's state depends on.
  std::string SnapshotKey(const EngineConfig& cfg) const;
  // The newest loadable snapshot at a position <= to, with the store's catalogue changes applied; nullopt: none.
  std::optional<State> LoadNewestSnapshot(const EngineConfig& cfg, uint64_t to) const;
  Result<State> LoadSnapshot(const SnapshotEntry& entry, const EngineConfig& cfg) const;
  // Writes a snapshot image (the serialised state) as the file for position `seq`, unless a deletion came after
  // `epoch` (then nothing is written: 0). Caller holds snap_mu_. `t0`: when the copy began (for the stats).
  Result<uint64_t> WriteSnapshotImage(const std::string& image, uint64_t seq, uint64_t epoch,
                                      std::chrono::steady_clock::time_point t0, double pause_ms);
  // The serving state's image, taken with writes paused; sets seq and the pause. Caller holds snap_mu_.
  Result<std::string> CaptureLive(uint64_t& seq, double& pause_ms);
  // Writes a snapshot of a state loaded aside (a rebuild's, private to the maintenance thread: nothing pauses),
  // unless a deletion came after `epoch`. Failures are warnings: the log stays the truth.
  void SnapshotLoaded(const State& st, uint64_t epoch);
  // After an applied batch: asks the maintenance thread for a snapshot once enough events arrived since the last.
  void MaybeWantSnapshot();
  bool SnapshotsOn() const;  // local snapshots, or cluster snapshots in cluster mode
  // The maintenance thread's periodic snapshot (SnapshotNow; a pending rebuild writes one itself).
  void PeriodicSnapshot();
  std::optional<uint32_t> FindLiveUser(const std::string& id) const;  // caller holds mu_ (either mode)
  bool Erased(const Event& e) const;  // in erased_; caller holds mu_ (either mode)
  // A copy of the dataset for training and fitting, without the events of users deleted since the last rebuild.
  std::unique_ptr<Dataset> DatasetSnapshot() const;
  void TrainInBackground(const std::string& version);
  // Puts a model into the blend's model slot and names the serving version.
  void SwapModel(const SourceFactory& factory, const std::string& version);
  // The blend at start: given, stored, or fitted in the background (see ServiceOptions::blend).
  Status InitBlend();
  // Fits the blend on a snapshot with the serving configuration, applies and stores it (and writes it to `dir`
  // when not empty). Called at the first start and from the training thread.
  void FitBlend(const std::string& dir);
  // Applies a blend to the engine and to the configuration rebuilds use; caller holds the exclusive lock.
  void ApplyBlend(const BlendConfig& b, const char* state);
  std::optional<uint32_t> FindCategory(const std::string& name) const;

  ServiceOptions opt_;
  ActionRegistry actions_;
  bool has_timestamps_ = true;  // the store's data has real event times
  std::unique_ptr<Store> store_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<Dataset> ds_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ImportOptions> import_opt_;
  std::unique_ptr<ImportReport> report_;
  std::unique_ptr<EventCleaner> cleaner_;
  uint64_t next_seq_ = 0;        // the next free log position; guarded by write_gate_ and mu_ (both to write)
  size_t applied_ = 0;           // ds_->events[0, applied_) are in the engine; guarded by mu_
  size_t items_known_ = 0;       // catalogue size the engine was last told of; guarded by mu_
  std::unordered_set<uint32_t> deleted_;  // users forgotten since the last rebuild; guarded by mu_
  // Events erased from the store (DeleteUserEvents) that the serving state may still hold, hidden from ItemEvents;
  // a rebuild drops those erased before its load began (gen <= the count it saw). Guarded by mu_.
  struct ErasedEvent {
    uint64_t gen;
    std::string user, item, action;  // names: a rebuild numbers users and items anew
    Timestamp ts;
  };
  std::vector<ErasedEvent> erased_;
  uint64_t erase_gen_ = 0;  // guarded by mu_
  // The write path's ordering (see the top of this file). Lock order: items_mu_, records_mu_, write_gate_, mu_; seq_mu_ is
  // never held while taking another.
  std::mutex write_gate_;        // held while a batch is cleaned; deletion and swaps hold it to stop new batches
  std::mutex items_mu_;          // serialises catalogue writes
  std::mutex records_mu_;        // serialises user-record writes with deletions
  uint64_t items_gen_ = 0;       // catalogue writes so far; guarded by items_mu_
  mutable std::mutex seq_mu_;
  mutable std::condition_variable seq_cv_;
  uint64_t applied_seq_ = 0;     // every position below is durable and applied; guarded by seq_mu_
  int inflight_ = 0;             // batches between cleaning and their answer; guarded by seq_mu_
  bool write_failed_ = false;    // a store write failed; guarded by seq_mu_
  // The maintenance thread: background rebuilds and recovery.
  mutable std::mutex maint_mu_;
  mutable std::condition_variable maint_cv_;
  bool rebuild_wanted_ = false, recovery_wanted_ = false, maint_stop_ = false;  // guarded by maint_mu_
  uint64_t deletions_ = 0, deletions_rebuilt_ = 0;  // guarded by maint_mu_
  std::vector<std::string> deleted_names_;  // deleted since the serving state was loaded; guarded by maint_mu_
  std::atomic<uint64_t> accepted_{0}, rejected_{0}, duplicates_{0};
  std::thread maint_thread_;
  std::atomic<bool> stopping_{false};  // set by the destructor: a replay in progress stops early
  // The model-state pass (ServiceOptions::model_prepare). Lock order: never holds prepare_mu_ while taking mu_.
  void WantPrepare();   // a new engine or model: (re)start the pass
  void PrepareLoop();
  void PreparePass(uint64_t gen);
  std::vector<UserIdx> UsersByRecency() const;  // caller holds mu_ (shared)
  std::thread prepare_thread_;
  std::mutex prepare_mu_;
  std::condition_variable prepare_cv_;
  uint64_t prepare_gen_ = 0;     // guarded by prepare_mu_
  bool prepare_stop_ = false;    // guarded by prepare_mu_
  std::atomic<uint64_t> prepared_users_{0};
  std::atomic<bool> prepare_done_{false};
  std::atomic<double> prepare_seconds_{0};
  // Snapshots. Lock order: snap_mu_ before every other lock (a deletion takes it first).
  SnapshotDir snapshots_;
  std::string store_id_;  // a random id kept in the store's metadata: a snapshot of another store is never loaded
  std::mutex snap_mu_;
  uint64_t snap_epoch_ = 0;      // deletions so far; guarded by snap_mu_
  bool snapshot_wanted_ = false; // guarded by maint_mu_
  uint64_t snapshot_seq_ = 0;    // position of the newest snapshot written or loaded; guarded by seq_mu_
  Stats stats_;
  std::atomic<bool> ready_{false};
  ChangeNotifier notify_;
  Experiments experiments_;
  ModelRegistry registry_;
  std::atomic<bool> training_{false};
  uint64_t trained_at_seq_ = UINT64_MAX;  // the log position the last training's snapshot ended at; guarded by mu_
  std::thread train_thread_;
  std::unique_ptr<PeriodicTask> scheduler_;
  mutable std::mutex blend_mu_;
  // Cluster mode: the applier thread, and what it has applied of this node's own batches.
  struct BatchOutcome {
    uint64_t accepted = 0, duplicates = 0, rejected = 0, other_groups = 0;
    Status status;  // a deletion's outcome (unknown user)
  };
  std::thread applier_thread_;
  std::atomic<bool> applier_stop_{false};
  mutable std::mutex applied_mu_;
  mutable std::condition_variable applied_cv_;
  uint64_t applied_polls_ = 0;                         // guarded by applied_mu_ (held across a poll and its application)
  std::map<std::string, BatchOutcome> own_batches_;    // batch id -> outcome so far; guarded by applied_mu_
  std::atomic<uint64_t> batch_counter_{0};
  std::string batch_prefix_;                           // <node_id>-<start time>-
  std::atomic<uint64_t> log_rejected_{0};              // malformed log entries seen
  std::string cluster_payload_, cluster_position_;     // the cluster snapshot loaded at start (Open only)
  uint64_t cluster_snapshot_seq_ = 0;
  mutable std::mutex cluster_error_mu_;
  mutable std::mutex members_mu_;
  mutable std::map<int, std::vector<std::string>> group_urls_;  // live nodes by group; guarded by members_mu_
  mutable std::chrono::steady_clock::time_point members_read_{};  // last read on a request's behalf
  mutable bool members_reading_ = false;                           // a request is reading it; guarded by members_mu_
  mutable size_t member_turn_ = 0;
  std::string advertised_;  // guarded by members_mu_
  std::string cluster_error_;                          // guarded by cluster_error_mu_
  std::atomic<uint64_t> cluster_erasures_pending_{0};  // deletions applied, not yet out of the cluster's snapshots
  uint64_t trainer_lease_ = 0;                         // the lease token of the training in progress (train thread)
  std::string adopted_model_id_;                       // the published model serving here; guarded by blend_mu_
  nlohmann::json blend_info_ = {{"state", "default"}};  // guarded by blend_mu_
};

}  // namespace vane
