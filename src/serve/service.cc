#include "vane/serve/service.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <fmt/format.h>

#include "vane/events/ids.h"
#include "vane/interest/describe.h"
#include "vane/recommend/ranker.h"

namespace vane {
namespace {

// A list size outside 1..1000 (n of recommendations, users, items, events).
Status CheckCount(size_t n) {
  if (n >= 1 && n <= 1000) return Status::Ok();
  return Status::InvalidArgument("bad_parameter", fmt::format("n must be 1..1000, got {}", n));
}

Status UnknownUser(const std::string& id) { return Status::NotFound("unknown_user", "user '" + id + "' has no events"); }
Status UnknownItem(const std::string& id) {
  return Status::NotFound("unknown_item", "item '" + id + "' is not in the catalogue");
}

// Keeps the newest `keep` events in memory once a quarter more has arrived (0: keep all); the cleaner forgets the
// dropped ones' de-duplication entries. Returns whether anything was dropped.
bool TrimWindow(Dataset& ds, EventCleaner& cleaner, size_t keep) {
  if (keep == 0 || ds.events.size() < keep + keep / 4) return false;
  ds.DropOldEvents(keep);
  cleaner.ForgetDropped();
  return true;
}

// The stored form of an accepted event (ToRawEvent) with the context the client sent.
RawEvent Stored(const Dataset& ds, const Event& e, std::string context) {
  RawEvent r = ToRawEvent(ds, e);
  r.context = std::move(context);
  return r;
}

// The record as the cleaner gets it (the server's clock is the event time when the client sends none), or why it
// is refused before cleaning (unreadable, or dated beyond the clock-error bound).
Result<RawEvent> Admitted(const Result<RawEvent>& record, Timestamp now, int64_t max_future_s) {
  if (!record.ok()) return record.status();
  RawEvent raw = record.value();
  if (!raw.has_ts) {
    raw.ts = now;
    raw.has_ts = true;
  } else if (raw.ts > now + max_future_s) {
    return RecordRejection("ts", fmt::format("{} s ahead of the server's clock (the clock-error bound is {} s)",
                                             raw.ts - now, max_future_s));
  }
  return raw;
}

// `keep`: the seed users whose events are stored (node groups: the node's own group's).
Status AppendSeed(Store& store, const Dataset& seed, bool events, const std::function<bool(const std::string&)>& keep) {
  std::vector<Item> items;
  for (uint32_t i = 0; i < seed.num_items(); ++i) items.push_back(seed.catalog.item(ItemIdx(i)));
  VANE_RETURN_IF_ERROR(store.PutItems(items));
  if (!events) return Status::Ok();
  // Imported history is stored in time order (ties in file order), as the CLI and `vane eval` replay it; live
  // events are stored in arrival order. A replay of the store therefore builds the state the CLI builds.
  std::vector<uint32_t> order(seed.events.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  if (seed.has_timestamps)
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return seed.events[a].ts < seed.events[b].ts; });
  std::vector<RawEvent> batch;
  uint64_t seq = 0;
  for (uint32_t i : order) {
    if (!keep(seed.users.Name(seed.events[i].user.v))) continue;
    batch.push_back(Stored(seed, seed.events[i], ""));
    if (batch.size() == 10000) {
      VANE_RETURN_IF_ERROR(store.AppendEvents(seq, batch));
      seq += batch.size();
      batch.clear();
    }
  }
  return store.AppendEvents(seq, batch);
}

}  // namespace

Service::Service(ServiceOptions opt)
    : opt_(std::move(opt)), experiments_(opt_.variants), registry_(opt_.models_dir, opt_.registry) {
  opt_.engine.interest.history_cap = opt_.history_per_user;
  opt_.engine.covisit.max_edges_per_item = opt_.edges_per_item;
  if (!opt_.clock) opt_.clock = std::make_shared<SystemClock>();
}

Service::~Service() {
  {
    std::lock_guard l(prepare_mu_);
    prepare_stop_ = true;
  }
  prepare_cv_.notify_all();
  if (prepare_thread_.joinable()) prepare_thread_.join();
  if (opt_.shared_log) (void)opt_.shared_log->Leave(opt_.node_id);  // no longer a target of redirects
  applier_stop_ = true;
  if (applier_thread_.joinable()) applier_thread_.join();
  {
    std::lock_guard l(maint_mu_);
    maint_stop_ = true;
  }
  stopping_ = true;  // a rebuild in progress gives up instead of finishing its replay
  maint_cv_.notify_all();
  if (maint_thread_.joinable()) maint_thread_.join();
  scheduler_.reset();
  notify_.Stop();
  if (train_thread_.joinable()) train_thread_.join();
}

Result<std::unique_ptr<Service>> Service::Open(const ServiceOptions& opt, const Dataset* seed,
                                               std::unique_ptr<Store> store) {
  const bool own_store = !store;
  if (!store) {
    VANE_ASSIGN_OR_RETURN(store, OpenRocksDbStore(opt.store_dir, opt.store));
  }
  std::unique_ptr<Service> svc(new Service(opt));
  svc->store_ = std::move(store);
  if (opt.snapshots && (!opt.snapshot_dir.empty() || own_store))
    svc->snapshots_ = SnapshotDir(opt.snapshot_dir.empty() ? opt.store_dir + "/snapshots" : opt.snapshot_dir);
  if (opt.groups > 1 && !opt.shared_log)
    return Status::InvalidArgument("node groups need cluster mode (a shared log)");
  if (opt.shared_log) VANE_RETURN_IF_ERROR(opt.shared_log->SetGroup(opt.group, opt.groups));
  if (opt.shared_log && opt.cluster_snapshots) {
    // A node starts from the newest cluster snapshot when there is one. One that does not load stops the start:
    // its mirror may be half filled, and the log behind the snapshot may be trimmed away.
    if (Status s = svc->RestoreFromCluster(); !s.ok())
      return s.Prefixed("cluster: the newest cluster snapshot could not be loaded (the node does not start): ");
  }
  VANE_RETURN_IF_ERROR(svc->InitStore(seed));
  VANE_RETURN_IF_ERROR(svc->experiments_.Attach(svc->store_.get()));
  {
    auto t0 = std::chrono::steady_clock::now();
    VANE_ASSIGN_OR_RETURN(State st, svc->LoadState(svc->opt_.engine, UINT64_MAX));
    std::unique_lock lock(svc->mu_);
    svc->Install(st);
    svc->stats_.recovery_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  svc->maint_thread_ = std::thread([s = svc.get()] { s->MaintenanceLoop(); });
  if (opt.model_prepare) svc->prepare_thread_ = std::thread([s = svc.get()] { s->PrepareLoop(); });
  svc->ready_ = true;
  if (opt.shared_log) {
    // Batch ids unique across nodes and restarts: the node's id and its start time in milliseconds.
    svc->batch_prefix_ = opt.node_id + "-" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                std::chrono::system_clock::now().time_since_epoch())
                                                                .count()) + "-";
    svc->applier_thread_ = std::thread([s = svc.get()] { s->ApplierLoop(); });
    if (Status a = svc->Announce(opt.advertise_url); !a.ok())
      std::fprintf(stderr, "cluster: announcing this node failed (retried): %s\n", a.ToString().c_str());
  }
  svc->MaybeWantSnapshot();  // a long replay is kept, so that a crash does not cost it again
  VANE_ASSIGN_OR_RETURN(auto trained_at, svc->store_->GetMeta("trained_at"));
  if (trained_at && *trained_at != "none") svc->trained_at_seq_ = std::strtoull(trained_at->c_str(), nullptr, 10);
  VANE_RETURN_IF_ERROR(svc->InitBlend());
  svc->registry_.Scan(opt.model_version);
  if (opt.retrain_every_s > 0 && opt.trainer) {
    Service* self = svc.get();
    svc->scheduler_ = std::make_unique<PeriodicTask>(opt.retrain_every_s, [self] {
      (void)self->Retrain();  // Conflict when one still runs: skipped this time
    });
  }
  return svc;
}

// The action a Gorse type counts as: `name` ("like", "view") when the registry has it, else its strongest (for
// positive types) or weakest (read types) positive non-search action, as registries without them (implicit data,
// ratings) have.
static std::string ModelAction(const ActionRegistry& actions, const char* name, bool strongest) {
  if (auto a = actions.Find(name); a && actions.spec(*a).name == name) return name;
  std::string best;
  float w = strongest ? 0.0f : 1e30f;
  for (size_t i = 0; i < actions.size(); ++i) {
    const ActionSpec& s = actions.spec(static_cast<ActionId>(i));
    if (s.is_search || s.weight <= 0) continue;
    if (strongest ? s.weight > w : s.weight < w) w = s.weight, best = s.name;
  }
  return best.empty() ? name : best;
}

// Gorse's feedback types as actions of their own (ServiceOptions::positive_feedback_types); whether any was added.
static Result<bool> AddFeedbackTypes(ActionRegistry& actions, const std::vector<std::string>& positive,
                                     const std::vector<std::string>& read) {
  bool added = false;
  const std::string like = ModelAction(actions, "like", true), view = ModelAction(actions, "view", false);
  for (const auto* list : {&positive, &read})
    for (const std::string& t : *list) {
      if (list == &read && std::find(positive.begin(), positive.end(), t) != positive.end()) continue;
      auto r = actions.AddNamed(t, list == &positive ? like : view);
      if (!r.ok()) return r.status().Prefixed(list == &positive ? "positive_feedback_types: " : "read_feedback_types: ");
      added |= *r;
    }
  return added;
}

Status Service::RegisterFeedbackTypes(const std::vector<std::string>& types) {
  auto own = [](const ActionRegistry& a, const std::string& t) {
    auto id = a.Find(t);
    return id && a.spec(*id).name == t;
  };
  {  // the common case, on every Gorse feedback batch: every type known already (no copy of the registry)
    std::shared_lock lock(mu_);
    if (std::all_of(types.begin(), types.end(), [&](const std::string& t) { return own(actions_, t); }))
      return Status::Ok();
  }
  std::lock_guard gate(write_gate_);  // no batch is cleaned while the registry grows
  ActionRegistry next = Actions();
  bool added = false;
  for (const std::string& t : types) {
    if (own(next, t)) continue;
    if (Status s = CheckId("FeedbackType", t); !s.ok()) return Status::InvalidArgument("bad_feedback", "FeedbackType: " + s.message()).WithField("FeedbackType");
    auto id = next.Find(t);
    auto r = id ? next.AddNamed(t, next.spec(*id).name) : next.AddNeutral(t);
    if (!r.ok()) return Status::InvalidArgument("bad_feedback", "feedback type '" + t + "': " + r.status().message())
          .WithField("FeedbackType");
    added |= *r;
  }
  if (!added) return Status::Ok();  // a type differing only in case from an action's name: read back as that name
  if (Status w = store_->PutMeta("actions", next.ToJson()); !w.ok()) return StoreFailed(w);
  {
    std::unique_lock lock(mu_);
    actions_ = next;
    ds_->actions = std::move(next);  // ids only grow: every event and state stays valid
  }
  {  // the snapshots hold the old registry and no longer load: a new one is due (as when none covers the log)
    std::lock_guard l(seq_mu_);
    snapshot_seq_ = 0;
  }
  MaybeWantSnapshot();
  return Status::Ok();
}

ActionRegistry Service::Actions() const {
  std::shared_lock lock(mu_);
  return actions_;
}

// The action registry the stored events were accepted under is part of the store: a restart with other seed data
// (or none) replays them under the same one. A store without it (older, or new) takes the seed's. An empty store
// is filled with the seed.
Status Service::InitStore(const Dataset* seed) {
  VANE_ASSIGN_OR_RETURN(auto stored, store_->GetMeta("actions"));
  if (stored) {
    auto r = ActionRegistry::FromJson(*stored);
    if (!r.ok()) return Status::IoError("store: the stored action registry is unreadable: " + r.status().ToString());
    actions_ = std::move(r.value());
  } else {
    actions_ = seed ? seed->actions : ActionRegistry::Preset(opt_.action_preset).value();
    VANE_RETURN_IF_ERROR(store_->PutMeta("actions", actions_.ToJson()));
  }
  VANE_ASSIGN_OR_RETURN(bool added, AddFeedbackTypes(actions_, opt_.positive_feedback_types, opt_.read_feedback_types));
  if (added) VANE_RETURN_IF_ERROR(store_->PutMeta("actions", actions_.ToJson()));
  // Whether event times are real (false for order-only files such as the sequence benchmarks, whose times are
  // synthetic): the sources decay by time only when they are. Kept with the store, like the registry.
  VANE_ASSIGN_OR_RETURN(auto timed, store_->GetMeta("has_timestamps"));
  if (timed) {
    has_timestamps_ = *timed != "0";
  } else {
    has_timestamps_ = seed ? seed->has_timestamps : true;
    VANE_RETURN_IF_ERROR(store_->PutMeta("has_timestamps", has_timestamps_ ? "1" : "0"));
  }
  // The store's identity, written once: snapshots name it, so that a store made anew beside old snapshots (or a
  // snapshot folder moved to another store) is replayed, not loaded over.
  VANE_ASSIGN_OR_RETURN(auto id, store_->GetMeta("store_id"));
  if (!id) {
    std::random_device rd;
    id = fmt::format("{:08x}{:08x}", rd(), rd());
    VANE_RETURN_IF_ERROR(store_->PutMeta("store_id", *id));
  }
  store_id_ = *id;
  // Empty: no item, and no event (the next free position is 0; asked from the end, so nothing is read).
  size_t items = 0;
  VANE_RETURN_IF_ERROR(store_->LoadItems([&](Item&&) { ++items; }));
  VANE_ASSIGN_OR_RETURN(uint64_t next, store_->LoadEvents(UINT64_MAX, [](uint64_t, RawEvent&&) {}));
  if (items == 0 && next == 0 && seed)  // first start
    return AppendSeed(*store_, *seed, opt_.seed_events, [&](const std::string& user) { return OwnsUser(user); });
  return Status::Ok();
}

// The log is replayed in chunks, as the live path ingests batches: each chunk is cleaned, then (after one
// catalogue refresh when its events named new items) applied to the engine; the in-memory window applies as the
// replay goes, so a restart needs no more memory than the running server.
Status Service::CatchUp(State& st, uint64_t from, uint64_t to) const {
  Status bad = Status::Ok();
  auto apply = [&] {
    if (st.ds->num_items() != st.items_known) {
      st.engine->OnCatalogChanged();
      st.items_known = st.ds->num_items();
    }
    for (; st.applied < st.ds->events.size(); ++st.applied) st.engine->Ingest(st.ds->events[st.applied]);
    if (TrimWindow(*st.ds, *st.cleaner, opt_.memory_events)) st.applied = st.ds->events.size();
  };
  auto next = store_->LoadEvents(from, [&](uint64_t seq, RawEvent&& e) {
    if (seq >= to || stopping_.load(std::memory_order_relaxed)) return;
    ++st.replayed;
    Status s = st.cleaner->Add(e, "store", seq);
    if (!s.ok() && bad.ok()) bad = s;
    if (st.ds->events.size() - st.applied >= 10000) apply();
  });
  if (!next.ok()) return next.status();
  if (stopping_) return Status::Unavailable("stopping", "the service is stopping");
  if (!bad.ok()) return Status::IoError("store replay rejected a stored event: " + bad.ToString());
  st.report->issues.clear();
  apply();
  st.next_seq = std::max(st.next_seq, std::min(*next, to));
  return Status::Ok();
}

Result<Service::State> Service::LoadState(const EngineConfig& cfg, uint64_t to) const {
  if (std::optional<State> snap = LoadNewestSnapshot(cfg, to)) {  // then only the log after it
    State st = std::move(*snap);
    VANE_RETURN_IF_ERROR(CatchUp(st, st.next_seq, to));
    return st;
  }
  State st;
  st.ds = std::make_unique<Dataset>();
  st.ds->name = "live";
  st.ds->actions = Actions();
  st.ds->has_timestamps = has_timestamps_;
  st.iopt = std::make_unique<ImportOptions>();
  st.iopt->progress = false;
  st.iopt->dedup = true;
  st.iopt->check_ids = false;  // the store holds what was accepted, possibly before the id rule; Install turns it on
  st.report = std::make_unique<ImportReport>();
  st.cleaner = std::make_unique<EventCleaner>(*st.ds, *st.iopt, *st.report);
  VANE_RETURN_IF_ERROR(store_->LoadItems([&](Item&& it) { st.ds->catalog.Upsert(std::move(it)); }));
  st.engine = std::make_unique<Engine>(*st.ds, cfg, opt_.clock.get());  // items are loaded before events
  st.items_known = st.ds->num_items();
  VANE_RETURN_IF_ERROR(CatchUp(st, 0, to));
  return st;
}

void Service::Install(State& st) {
  // Swapped, not assigned: the old state (hundreds of MB for a large log) is freed by the caller after it has
  // released the exclusive lock, not under it.
  std::swap(ds_, st.ds);
  std::swap(import_opt_, st.iopt);
  import_opt_->check_ids = true;  // live writes follow the id rule
  std::swap(report_, st.report);
  std::swap(cleaner_, st.cleaner);
  std::swap(engine_, st.engine);
  next_seq_ = st.next_seq;
  applied_ = st.applied;
  items_known_ = st.items_known;
  deleted_.clear();
  stats_.recovered_events = ds_->events_base + ds_->events.size();
  stats_.snapshot_loaded_seq = st.snapshot_seq;
  stats_.replayed_events = st.replayed;
  notify_.Reset(ds_->num_users());
  WantPrepare();  // the new engine's model caches are empty
  std::lock_guard l(seq_mu_);
  applied_seq_ = next_seq_;
  snapshot_seq_ = std::max(snapshot_seq_, st.snapshot_seq);
}

void Service::WantPrepare() {
  {
    std::lock_guard l(prepare_mu_);
    ++prepare_gen_;
  }
  prepare_cv_.notify_all();
}

void Service::PrepareLoop() {
  uint64_t done = 0;
  for (;;) {
    uint64_t gen;
    {
      std::unique_lock l(prepare_mu_);
      prepare_cv_.wait(l, [&] { return prepare_stop_ || prepare_gen_ != done; });
      if (prepare_stop_) return;
      gen = prepare_gen_;
    }
    PreparePass(gen);
    done = gen;
  }
}

std::vector<UserIdx> Service::UsersByRecency() const {
  // The events in memory, newest first, then every other user (by index: the oldest first).
  std::vector<UserIdx> out;
  std::vector<uint8_t> seen(ds_->num_users(), 0);
  for (size_t k = ds_->events.size(); k-- > 0;) {
    uint32_t u = ds_->events[k].user.v;
    if (u < seen.size() && !seen[u]) {
      seen[u] = 1;
      out.push_back(UserIdx(u));
    }
  }
  for (uint32_t u = 0; u < seen.size(); ++u)
    if (!seen[u]) out.push_back(UserIdx(u));
  return out;
}

void Service::PreparePass(uint64_t gen) {
  prepared_users_ = 0;
  prepare_done_ = false;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<UserIdx> users;
  {
    std::shared_lock lock(mu_);
    if (!engine_ || !engine_->source_active(kSrcModel)) return;
    users = UsersByRecency();
  }
  auto superseded = [&] {
    std::lock_guard l(prepare_mu_);
    return prepare_stop_ || prepare_gen_ != gen;
  };
  for (UserIdx u : users) {
    if (superseded()) return;
    // One user per read lock: a write waits for at most one user's state.
    std::shared_lock lock(mu_);
    if (!engine_->source_active(kSrcModel) || deleted_.count(u.v)) continue;
    if (!engine_->source(kSrcModel).Prepare(u)) break;  // the caches are full
    prepared_users_.fetch_add(1, std::memory_order_relaxed);
  }
  prepare_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  prepare_done_ = true;
  if (prepared_users_ > 0)
    std::fprintf(stderr, "model: %llu users' states prepared in %.1f s\n",
               static_cast<unsigned long long>(prepared_users_.load()), prepare_seconds_.load());
}

Status Service::StoreFailed(const Status& s) {
  ready_ = false;
  return Status::Unavailable(s.reason() == "disk_full" ? "disk_full" : "store_unavailable", s.ToString());
}

Status Service::CheckBatch(size_t n, const char* what) const {
  if (n <= opt_.max_batch) return Status::Ok();
  return Status::TooLarge("batch_too_large", fmt::format("{} {} in one request; the limit is {}", n, what, opt_.max_batch));
}

void Service::CleanRecord(size_t index, const Result<RawEvent>& record, Timestamp now, std::vector<RawEvent>& to_store,
                          IngestResult& out) {
  Result<RawEvent> admitted = Admitted(record, now, opt_.max_future_s);
  if (!admitted.ok()) {
    out.rejected.push_back({index, admitted.status().field(), admitted.status().message()});
    return;
  }
  const RawEvent& raw = admitted.value();
  const size_t before = ds_->events.size();
  Status s = cleaner_->Add(raw, "request", index);
  if (!s.ok()) {
    out.rejected.push_back({index, s.field().empty() ? "record" : s.field(), s.message()});
  } else if (ds_->events.size() > before) {
    to_store.push_back(Stored(*ds_, ds_->events.back(), raw.context));
  } else {
    ++out.duplicates;
  }
  report_->issues.clear();
}

Result<Service::Ticket> Service::CleanBatch(std::span<const Result<RawEvent>> records, BatchMode mode,
                                            std::vector<RawEvent>& to_store, IngestResult& out) {
  std::lock_guard gate(write_gate_);
  std::unique_lock lock(mu_);
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready (store unavailable)");
  const Timestamp now = Now();
  if (mode == BatchMode::kAllOrNothing)  // every record checked before any is cleaned in
    for (size_t i = 0; i < records.size(); ++i) {
      Result<RawEvent> raw = Admitted(records[i], now, opt_.max_future_s);
      Status s = raw.ok() ? cleaner_->Check(*raw) : raw.status();
      if (!s.ok()) out.rejected.push_back({i, s.field().empty() ? "record" : s.field(), s.message()});
    }
  if (out.rejected.empty())
    for (size_t i = 0; i < records.size(); ++i) CleanRecord(i, records[i], now, to_store, out);
  // Readers may run between this and the batch's application: the sources must know every item the catalogue
  // now holds (events may name new ones).
  if (ds_->num_items() != items_known_) {
    engine_->OnCatalogChanged();
    items_known_ = ds_->num_items();
  }
  Ticket t{next_seq_, next_seq_ + to_store.size()};
  next_seq_ = t.end;
  std::lock_guard l(seq_mu_);
  ++inflight_;
  return t;
}

// After the store write: waits for every earlier batch, applies this one in position order, answers.
Status Service::FinishBatch(const Ticket& t, const Status& written) {
  std::unique_lock l(seq_mu_);
  auto leave = [&](Status s) {
    --inflight_;
    seq_cv_.notify_all();
    return s;
  };
  if (!written.ok()) {
    write_failed_ = true;
    l.unlock();
    Status s = StoreFailed(written);
    {
      std::lock_guard m(maint_mu_);
      recovery_wanted_ = true;
    }
    maint_cv_.notify_all();
    l.lock();
    return leave(s);
  }
  seq_cv_.wait(l, [&] { return write_failed_ || applied_seq_ >= t.first; });
  if (write_failed_)
    return leave(Status::Unavailable("store_unavailable", "an earlier write of this batch's group failed; retry later"));
  if (t.end > t.first) {
    l.unlock();
    {
      std::unique_lock lock(mu_);
      std::vector<uint32_t> touched;
      const size_t n = static_cast<size_t>(t.end - t.first);
      const size_t base = ds_->events.size() - (static_cast<size_t>(next_seq_ - t.first));  // this batch's first
      for (size_t k = base; k < base + n; ++k) {
        engine_->Ingest(ds_->events[k]);
        touched.push_back(ds_->events[k].user.v);
      }
      applied_ = base + n;
      if (!touched.empty()) notify_.Note(touched, ds_->num_users());
      // The window drops the oldest events only, and only while every unapplied one stays in it.
      const size_t size = ds_->events.size();
      if (size - applied_ <= opt_.memory_events && TrimWindow(*ds_, *cleaner_, opt_.memory_events))
        applied_ -= size - ds_->events.size();
    }
    l.lock();
    applied_seq_ = t.end;
  }
  return leave(Status::Ok());
}

Result<RawEvent> Service::Admit(const Result<RawEvent>& record, Timestamp now, int64_t max_future_s) {
  return Admitted(record, now, max_future_s);
}

Result<IngestResult> Service::IngestEvents(std::span<const Result<RawEvent>> records, BatchMode mode) {
  VANE_RETURN_IF_ERROR(CheckBatch(records.size(), "events"));
  return opt_.shared_log ? IngestShared(records, mode) : IngestLocal(records, mode);
}

Result<IngestResult> Service::IngestLocal(std::span<const Result<RawEvent>> records, BatchMode mode) {
  std::vector<RawEvent> to_store;
  IngestResult out;
  VANE_ASSIGN_OR_RETURN(Ticket t, CleanBatch(records, mode, to_store, out));
  // Durable before anything is answered or applied; no lock held, so concurrent batches commit as one group.
  Status w = to_store.empty() ? Status::Ok() : store_->AppendEvents(t.first, to_store);
  VANE_RETURN_IF_ERROR(FinishBatch(t, w));
  MaybeWantSnapshot();
  out.accepted = to_store.size();
  accepted_ += out.accepted;
  rejected_ += out.rejected.size();
  duplicates_ += out.duplicates;
  return out;
}

std::optional<uint32_t> Service::FindCategory(const std::string& name) const {
  return ds_->catalog.category_vocab().Find(name);
}

Result<ServedRecommendation> Service::Recommend(RecommendRequest req) const {
  std::shared_lock lock(mu_);
  if (req.now == 0) req.now = Now();
  VANE_RETURN_IF_ERROR(CheckRequest(*ds_, req));
  ServedRecommendation out;
  // The one place a request's weights are decided: the strategy's blend (in the engine), times the A/B variant's
  // scale, times the online adaptation's.
  out.weights_from = {"blend", "strategy"};
  out.scale.fill(1.0f);
  if (const Variant* v = VariantFor(req.user)) {
    out.scale = v->scale;
    req.diversity = v->diversity;
    out.variant = v->name;
    out.weights_from.push_back("variant:" + v->name);
  }
  if (opt_.adapt.enabled) {
    const BlendWeights online = experiments_.OnlineScale(opt_.adapt);
    for (int s = 0; s < kNumSources; ++s) out.scale[s] *= online[s];
    out.weights_from.push_back("online");
  }
  req.weight_scale = out.scale;
  out.response = engine_->Recommend(req);
  out.user = req.user;
  out.known_user = FindLiveUser(req.user).has_value();
  out.model_version = opt_.model_version;
  return out;
}

Result<UserInterests> Service::Interests(const std::string& user) const {
  std::shared_lock lock(mu_);
  auto u = FindLiveUser(user);
  if (!u) return UnknownUser(user);
  const Timestamp now = Now();
  const InterestStore& st = engine_->interests();
  UserInterests out;
  out.user = user;
  out.summary = Describe(st, UserIdx(*u), now);
  // The graph itself: category and keyword nodes with their short- and long-term weights (decayed to now), and the
  // user's transitions between categories.
  const Catalog& cat = ds_->catalog;
  for (const auto& c : st.Categories(UserIdx(*u), now)) {
    const std::string& name = cat.category_vocab().Name(c.id);
    out.nodes.push_back({"c:" + name, "category", name, c.s, c.l});
  }
  for (const auto& k : st.Keywords(UserIdx(*u), now)) {
    const std::string& name = cat.keyword_vocab().Name(k.id);
    GraphNode node{"k:" + name, "keyword", name, k.s, k.l, {}};
    for (const auto& [c, share] : st.KeywordCategories(k.id))
      node.categories.emplace_back("c:" + cat.category_vocab().Name(c), share);
    out.nodes.push_back(std::move(node));
  }
  if (engine_->source_active(kSrcModel))
    if (auto v = engine_->source(kSrcModel).DescribeUser(UserIdx(*u))) {
      ModelView m{std::move(v->text_en), std::move(v->text_zh), {}, std::move(v->keywords), std::move(v->generated),
                  std::move(v->generated_words)};
      for (const auto& [c, p] : v->interests) m.interests.emplace_back(cat.category_vocab().Name(c), p);
      out.model = std::move(m);
    }
  if (const UserState* us = st.Find(UserIdx(*u)))
    for (int e = 0; e < us->num_edges; ++e) {
      const auto& edge = us->edges[static_cast<size_t>(e)];
      if (edge.from >= us->num_cats || edge.to >= us->num_cats) continue;
      out.edges.push_back({"c:" + cat.category_vocab().Name(us->cats[edge.from].id),
                           "c:" + cat.category_vocab().Name(us->cats[edge.to].id), edge.count});
    }
  return out;
}

Result<std::vector<ScoredItem>> Service::ItemList(ListKind kind, const std::string& category, size_t n,
                                                  size_t offset) const {
  VANE_RETURN_IF_ERROR(CheckCount(n));
  std::shared_lock lock(mu_);
  std::optional<uint32_t> cat;
  if (!category.empty()) {
    cat = FindCategory(category);
    if (!cat) return Status::NotFound("unknown_category", "no item has category '" + category + "'");
  }
  std::vector<ScoredItem> out;
  auto add = [&](ItemIdx i, double score) {
    const Item& it = ds_->catalog.item(i);
    out.push_back({it.id, it.type, it.title, score});
  };
  if (kind == ListKind::kPopular) {
    const PopularitySource& pop = engine_->popularity();
    std::vector<ItemIdx> ranked = cat ? pop.RankedInCategory(*cat) : pop.Ranked();  // a copy: it may be redone
    size_t skipped = 0;
    for (ItemIdx i : ranked) {
      if (out.size() == n) break;
      if (!ds_->catalog.item(i).available || pop.Popularity(i) <= 0) continue;
      if (skipped++ >= offset) add(i, pop.Popularity(i));
    }
    return out;
  }
  std::vector<std::pair<Timestamp, uint32_t>> items;  // newest first by creation time
  for (uint32_t i = 0; i < ds_->num_items(); ++i) {
    if (!ds_->catalog.item(ItemIdx(i)).available) continue;
    auto cats = ds_->catalog.categories(ItemIdx(i));
    if (cat && std::find(cats.begin(), cats.end(), *cat) == cats.end()) continue;
    items.emplace_back(ds_->catalog.item(ItemIdx(i)).created, i);
  }
  size_t k = std::min(items.size(), offset + n);
  std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(k), items.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  for (size_t j = offset; j < k; ++j) add(ItemIdx(items[j].second), static_cast<double>(items[j].first));
  return out;
}

Result<std::vector<UserInfo>> Service::ListUsers(const std::string& q, size_t n) const {
  VANE_RETURN_IF_ERROR(CheckCount(n));
  std::shared_lock lock(mu_);
  std::vector<std::pair<uint32_t, uint32_t>> found;  // (last_ts, user)
  for (uint32_t u = 0; u < ds_->num_users(); ++u) {
    const UserState* st = engine_->interests().Find(UserIdx(u));
    if (!st || st->num_events == 0 || deleted_.count(u)) continue;  // deleted users keep their slot until a rebuild
    if (!q.empty() && ds_->users.Name(u).find(q) == std::string::npos) continue;
    found.emplace_back(st->last_ts, u);
  }
  size_t k = std::min(n, found.size());
  std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(k), found.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  std::vector<UserInfo> users;
  for (size_t i = 0; i < k; ++i) {
    const UserState* st = engine_->interests().Find(UserIdx(found[i].second));
    users.push_back({ds_->users.Name(found[i].second), st->num_events, st->last_ts});
  }
  return users;
}

Result<std::vector<UserEvent>> Service::UserEvents(const std::string& id, size_t n) const {
  VANE_RETURN_IF_ERROR(CheckCount(n));
  auto events = store_->UserEvents(id, n);
  if (!events.ok()) return Status::Unavailable("store_unavailable", events.status().ToString());
  std::shared_lock lock(mu_);
  if (events->empty() && !FindLiveUser(id)) return UnknownUser(id);
  std::vector<UserEvent> out;
  for (auto& [seq, e] : *events) {
    std::string title;
    if (!e.item.empty())
      if (auto i = ds_->catalog.Find(e.item)) title = ds_->catalog.item(*i).title;
    out.push_back({seq, std::move(e), std::move(title)});
  }
  return out;
}

uint64_t Service::UserChangeSeq(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto u = FindLiveUser(id);
  return u ? notify_.UserSeq(*u) : 0;
}

Result<UserSnapshot> Service::Snapshot(const std::string& id, size_t n) const {
  UserSnapshot out;
  out.user = id;
  out.version = UserChangeSeq(id);
  VANE_ASSIGN_OR_RETURN(out.interests, Interests(id));
  RecommendRequest req;
  req.user = id;
  req.n = n;
  VANE_ASSIGN_OR_RETURN(out.recommend, Recommend(req));
  VANE_ASSIGN_OR_RETURN(out.events, UserEvents(id, 20));
  return out;
}

Result<std::vector<ScoredItem>> Service::Similar(const std::string& id, size_t n) const {
  VANE_RETURN_IF_ERROR(CheckCount(n));
  std::shared_lock lock(mu_);
  auto i = ds_->catalog.Find(id);
  if (!i) return UnknownItem(id);
  const Item& it = ds_->catalog.item(*i);
  std::string text = it.title;
  for (const auto& c : it.categories) text += " " + c;
  std::vector<ScoredItem> out;
  for (const auto& [j, score] : engine_->content().Search(text, n + 1)) {
    if (j == *i || !ds_->catalog.item(j).available) continue;
    if (out.size() == n) break;
    const Item& x = ds_->catalog.item(j);
    out.push_back({x.id, x.type, x.title, score});
  }
  return out;
}

Result<size_t> Service::PutItems(std::vector<Item> items, std::string* position) {
  VANE_RETURN_IF_ERROR(CheckBatch(items.size(), "items"));
  for (size_t k = 0; k < items.size(); ++k)
    if (Status s = CheckId("id", items[k].id); !s.ok()) return s.Prefixed(fmt::format("item {}: id: ", k));
  if (opt_.shared_log) return PutItemsShared(items, position);
  return PutItemsLocal(std::move(items));
}

Result<size_t> Service::PutItemsLocal(std::vector<Item> items) {
  std::lock_guard items_lock(items_mu_);
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready (store unavailable)");
  // One atomic durable write with no lock readers need; then memory, under a short exclusive lock.
  if (Status s = store_->PutItems(items); !s.ok()) return StoreFailed(s);
  ++items_gen_;
  std::unique_lock lock(mu_);
  for (Item& it : items) ds_->catalog.Upsert(std::move(it));
  engine_->OnCatalogChanged();
  items_known_ = ds_->num_items();
  notify_.Note({}, ds_->num_users());
  return items.size();
}

Result<Item> Service::GetItem(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto i = ds_->catalog.Find(id);
  if (!i) return UnknownItem(id);
  return ds_->catalog.item(*i);
}

Status Service::DeleteItem(const std::string& id, std::string* position) {
  // Cluster mode: the tombstone goes through the log; the applier takes items_mu_ to apply it, so it is not held.
  std::unique_lock items_lock(items_mu_, std::defer_lock);
  if (!opt_.shared_log) items_lock.lock();
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready (store unavailable)");
  Item it;
  {
    std::shared_lock lock(mu_);
    auto i = ds_->catalog.Find(id);
    if (!i) return UnknownItem(id);
    it = ds_->catalog.item(*i);
  }
  // Past events keep naming the item, so it stays as a tombstone: unavailable, never recommended.
  it.available = false;
  if (opt_.shared_log) return PutItemsShared({it}, position).status();
  if (Status s = store_->PutItem(it); !s.ok()) return StoreFailed(s);
  ++items_gen_;
  std::unique_lock lock(mu_);
  auto i = ds_->catalog.Find(id);  // still there: items are never removed from the catalogue
  ds_->catalog.SetAvailable(*i, false);
  notify_.Note({}, ds_->num_users());
  return Status::Ok();
}

Result<UserInfo> Service::GetUser(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto u = FindLiveUser(id);
  const UserState* st = u ? engine_->interests().Find(UserIdx(*u)) : nullptr;
  if (!st) return UnknownUser(id);
  return UserInfo{id, st->num_events, st->last_ts};
}

Status Service::PutUserRecord(const std::string& id, const std::string& record_json, std::string* position) {
  VANE_RETURN_IF_ERROR(CheckId("user", id));
  if (!opt_.shared_log) return PutUserRecordLocal(id, record_json);
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready");
  VANE_ASSIGN_OR_RETURN(auto applied, AppendRecord("user", id, record_json));
  if (position) *position = applied.first;
  return applied.second.status;
}

Status Service::PutUserRecordLocal(const std::string& id, const std::string& record_json) {
  std::lock_guard records(records_mu_);  // ordered with deletions, which remove records
  if (Status s = store_->PutUser(id, record_json); !s.ok()) return StoreFailed(s);
  return Status::Ok();
}

Result<std::string> Service::GetUserRecord(const std::string& id) const {
  auto rec = store_->GetUser(id);
  if (!rec.ok()) return Status::Unavailable("store_unavailable", rec.status().ToString());
  if (*rec) return std::move(**rec);
  std::shared_lock lock(mu_);
  if (FindLiveUser(id)) return std::string("{}");
  return Status::NotFound("unknown_user", "user '" + id + "' has no record and no events");
}

std::optional<uint32_t> Service::FindLiveUser(const std::string& id) const {
  auto u = ds_->users.Find(id);
  if (u && deleted_.count(*u)) return std::nullopt;
  return u;
}

Status Service::Drain() {
  std::unique_lock l(seq_mu_);
  seq_cv_.wait(l, [&] { return write_failed_ || inflight_ == 0; });
  if (write_failed_) return Status::Unavailable("store_unavailable", "a store write failed; the service is recovering");
  return Status::Ok();
}

Result<uint64_t> Service::DeleteUser(const std::string& id, std::string* position) {
  return opt_.shared_log ? DeleteUserShared(id, position) : DeleteUserLocal(id);
}

Result<uint64_t> Service::DeleteUserLocal(const std::string& id) {
  // No snapshot is written while the user leaves (snap_mu_ comes first in the lock order). No new batch starts and
  // every batch in flight is applied first, so the user's events cannot be written after the store's deletion or
  // applied after the forgetting.
  std::lock_guard snap(snap_mu_);
  std::lock_guard records(records_mu_);
  std::lock_guard gate(write_gate_);
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready (store unavailable)");
  bool live = false;
  {
    std::shared_lock lock(mu_);
    live = FindLiveUser(id).has_value();
  }
  if (!live) {
    auto rec = store_->GetUser(id);
    if (!rec.ok()) return Status::Unavailable("store_unavailable", rec.status().ToString());
    if (!*rec) return UnknownUser(id);
  }
  VANE_RETURN_IF_ERROR(Drain());
  // Every snapshot may hold the user: removed, durably, before the store forgets them, so that no restart (nor the
  // rebuild below) can bring them back; one being taken aside is dropped (the epoch).
  ++snap_epoch_;
  if (Status s = snapshots_.RemoveAll(); !s.ok()) return Status::Unavailable("snapshot_unavailable", s.ToString());
  {
    std::lock_guard l(seq_mu_);
    snapshot_seq_ = 0;
  }
  auto n = store_->DeleteUser(id);  // durable, with no lock readers need
  if (!n.ok()) return StoreFailed(n.status());
  // The serving model may have seen the user: a retraining is allowed again, also after a restart.
  if (Status w = store_->PutMeta("trained_at", "none"); !w.ok()) return StoreFailed(w);
  {
    std::unique_lock lock(mu_);
    trained_at_seq_ = UINT64_MAX;
    if (auto u = ds_->users.Find(id)) {
      engine_->ForgetUser(UserIdx(*u));
      deleted_.insert(*u);
      const uint32_t who[] = {*u};
      notify_.Note(who, ds_->num_users());
    }
  }
  {
    std::lock_guard m(maint_mu_);
    ++deletions_;
    deleted_names_.push_back(id);
    rebuild_wanted_ = true;
  }
  maint_cv_.notify_all();
  return *n;
}

bool Service::WaitForRebuild(std::chrono::milliseconds timeout) const {
  std::unique_lock m(maint_mu_);
  const uint64_t want = deletions_;
  return maint_cv_.wait_for(m, timeout, [&] { return deletions_rebuilt_ >= want || maint_stop_; }) && deletions_rebuilt_ >= want;
}

void Service::MaintenanceLoop() {
  std::unique_lock m(maint_mu_);
  while (true) {
    // Cluster mode: deletions not yet out of the cluster's snapshots are retried every half second, and a newer
    // published model is looked for every two seconds.
    const auto wait = cluster_erasures_pending_.load() > 0 ? std::chrono::milliseconds(500)
                      : opt_.shared_log                    ? std::chrono::milliseconds(2000)
                                                           : std::chrono::milliseconds(3600 * 1000);
    const bool woken = maint_cv_.wait_for(m, wait, [&] {
      return maint_stop_ || rebuild_wanted_ || recovery_wanted_ || snapshot_wanted_;
    });
    if (maint_stop_) return;
    if (!rebuild_wanted_ && !recovery_wanted_) {
      const bool periodic = snapshot_wanted_;
      snapshot_wanted_ = false;
      m.unlock();
      if (periodic) PeriodicSnapshot();
      if (cluster_erasures_pending_.load() > 0) EraseFromCluster();
      if (!woken && opt_.shared_log && opt_.cluster_snapshots) AdoptPublishedModel();
      if (!woken && opt_.shared_log)
        if (Status a = Announce(); !a.ok())
          std::fprintf(stderr, "cluster: announcing this node failed (retried): %s\n", a.ToString().c_str());
      m.lock();
      continue;
    }
    const bool recovery = recovery_wanted_;
    const uint64_t covered = deletions_;
    rebuild_wanted_ = recovery_wanted_ = false;
    m.unlock();
    Status s = RebuildAside(recovery);
    if (!s.ok() && !stopping_) std::fprintf(stderr, "warning: %s the state from the store failed: %s\n",
                              recovery ? "reloading" : "rebuilding", s.ToString().c_str());
    if (s.ok()) EraseFromCluster();
    m.lock();
    if (s.ok()) deletions_rebuilt_ = std::max(deletions_rebuilt_, covered);
    maint_cv_.notify_all();
  }
}

// Loads a new state from the store with no lock held, catches up with the batches written meanwhile, then swaps
// it in. After a failed write (recovery) it first waits for every batch in flight to finish, and the service
// stays not ready (writes are refused until a restart); reads then serve exactly what is durable.
Status Service::RebuildAside(bool recovery) {
  auto t0 = std::chrono::steady_clock::now();
  uint64_t epoch = 0;  // deletions so far (snap_mu_ comes before the gate in the lock order)
  {
    std::lock_guard snap(snap_mu_);
    epoch = snap_epoch_;
  }
  // Recovery holds the gate throughout: no batch starts, and it waits for those in flight to finish.
  std::unique_lock il(items_mu_, std::defer_lock);
  std::unique_lock gate(write_gate_, std::defer_lock);
  if (recovery) {
    il.lock();
    gate.lock();
  }
  EngineConfig cfg;
  uint64_t durable = 0, items_gen = 0;
  size_t deleted_before = 0;
  uint64_t erased_before = 0;
  {
    std::unique_lock l(seq_mu_);
    if (recovery) seq_cv_.wait(l, [&] { return inflight_ == 0; });
    durable = applied_seq_;
  }
  if (recovery) {
    items_gen = items_gen_;
  } else {
    std::lock_guard l(items_mu_);
    items_gen = items_gen_;
  }
  {
    std::lock_guard m(maint_mu_);
    deleted_before = deleted_names_.size();  // deleted from the store before this load starts
  }
  {
    std::shared_lock lock(mu_);
    cfg = opt_.engine;
    erased_before = erase_gen_;  // erased from the store before this load starts
  }
  VANE_ASSIGN_OR_RETURN(State st, LoadState(cfg, recovery ? UINT64_MAX : durable));
  if (!recovery) {
    SnapshotLoaded(st, epoch);  // before it catches up: still private to this thread
    il.lock();
    gate.lock();
    VANE_RETURN_IF_ERROR(Drain());
    if (items_gen != items_gen_) {  // an item write landed during the load: take the catalogue again
      VANE_RETURN_IF_ERROR(store_->LoadItems([&](Item&& it) { st.ds->catalog.Upsert(std::move(it)); }));
      st.engine->OnCatalogChanged();
      st.items_known = st.ds->num_items();
    }
    st.ds->actions = Actions();  // feedback types registered during the load (they only grow)
    VANE_RETURN_IF_ERROR(CatchUp(st, durable, next_seq_));
    st.next_seq = next_seq_;
  }
  // Users deleted while the state loaded may be in it: forgotten again, their statistics left to the next rebuild.
  std::vector<std::string> late;
  {
    std::lock_guard m(maint_mu_);
    late.assign(deleted_names_.begin() + static_cast<std::ptrdiff_t>(deleted_before), deleted_names_.end());
    deleted_names_ = late;
    if (!late.empty()) rebuild_wanted_ = true;
  }
  auto t1 = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);  // released before `st`, now the old state, is freed
  Install(st);
  std::erase_if(erased_, [&](const ErasedEvent& x) { return x.gen <= erased_before; });
  for (const std::string& id : late)
    if (auto u = ds_->users.Find(id)) {
      engine_->ForgetUser(UserIdx(*u));
      deleted_.insert(*u);
    }
  auto t2 = std::chrono::steady_clock::now();
  if (recovery) {
    std::lock_guard l(seq_mu_);
    write_failed_ = false;  // the state now equals the store; writes stay refused (not ready)
  }
  ++stats_.rebuilds;
  stats_.last_rebuild_seconds = std::chrono::duration<double>(t2 - t0).count();
  stats_.last_swap_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
  return Status::Ok();
}

std::unique_ptr<Dataset> Service::DatasetSnapshot() const {
  std::unique_ptr<Dataset> snapshot;
  std::unordered_set<uint32_t> deleted;
  {
    std::shared_lock lock(mu_);
    snapshot = std::make_unique<Dataset>(*ds_);
    deleted = deleted_;
  }
  if (!deleted.empty())
    std::erase_if(snapshot->events, [&](const Event& e) { return deleted.count(e.user.v) > 0; });
  return snapshot;
}

Result<std::string> Service::Retrain() {
  if (!opt_.trainer) return Status::NotImplemented("no_trainer", "this server was started without model training");
  if (training_.exchange(true)) return Status::Conflict("training_in_progress", "a model is being trained already");
  if (opt_.shared_log && opt_.cluster_snapshots) {
    if (Status s = TakeTrainerLease(); !s.ok()) {
      training_ = false;
      return s;
    }
  }
  {
    std::unique_lock lock(mu_);
    if (next_seq_ == trained_at_seq_) {
      training_ = false;
      return Status::Conflict("no_new_events", "no event arrived since the last training");
    }
    // Kept in the store, so a restart does not retrain on the same data either.
    if (Status w = store_->PutMeta("trained_at", std::to_string(next_seq_)); !w.ok()) {
      training_ = false;
      return StoreFailed(w);
    }
    trained_at_seq_ = next_seq_;
  }
  if (train_thread_.joinable()) train_thread_.join();  // the previous one has finished
  std::string version = registry_.Reserve();
  train_thread_ = std::thread([this, version] { TrainInBackground(version); });
  return version;
}

void Service::TrainInBackground(const std::string& version) {
  auto t0 = std::chrono::steady_clock::now();
  std::atomic<bool> renew_done{false};
  std::thread renewer;
  if (opt_.shared_log && opt_.cluster_snapshots) renewer = std::thread([&] { RenewTrainerLease(renew_done); });
  std::unique_ptr<Dataset> snapshot = DatasetSnapshot();  // training reads the copy; serving goes on
  const std::string dir = registry_.VersionDir(version);
  auto trained = opt_.trainer(*snapshot, dir);
  nlohmann::json entry = {{"version", version}, {"dir", dir}};
  if (!trained.ok()) {
    entry["state"] = "failed";
    entry["error"] = trained.status().ToString();
  } else if (ModelRegistry::Decision d = registry_.Decide(trained->info); !d.promote) {
    entry["state"] = "candidate";  // kept on disk; POST /v1/models/{version}/promote makes it serve
    entry["decision"] = d.why;
    entry["info"] = trained->info;
  } else {
    SwapModel(trained->factory, version);
    entry["state"] = "serving";
    entry["decision"] = d.why;
    entry["info"] = trained->info;
  }
  entry["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool serving = entry["state"] == "serving";
  const nlohmann::json entry_info = entry.value("info", nlohmann::json::object());
  if (Status s = registry_.Finish(std::move(entry)); !s.ok()) std::fprintf(stderr, "warning: %s\n", s.ToString().c_str());
  if (serving && opt_.blend_fitter) FitBlend(dir);  // the new model's weight in the blend is fitted with it
  if (opt_.shared_log && opt_.cluster_snapshots) {
    renew_done = true;
    renewer.join();
    uint64_t trained_at = 0;
    {
      std::shared_lock lock(mu_);
      trained_at = trained_at_seq_;
    }
    if (serving) {
      PublishModel(version, dir, entry_info, trained_at);
    } else {
      (void)opt_.shared_log->ReleaseLease("models", opt_.node_id, trainer_lease_);
    }
  }
  training_ = false;
}

void Service::SwapModel(const SourceFactory& factory, const std::string& version) {
  // Build the new source under a shared lock (it reads the dataset), swap it under an exclusive one.
  std::unique_ptr<CandidateSource> src;
  {
    std::shared_lock lock(mu_);
    src = factory(*ds_, engine_->interests());
  }
  std::unique_lock lock(mu_);
  engine_->ReplaceModelSource(std::move(src), factory);
  opt_.engine.model_source = factory;
  opt_.model_version = version;
  opt_.model_path = registry_.VersionDir(version);
  notify_.Note({}, ds_->num_users());  // every user's recommendations may change
  WantPrepare();
}

Status Service::PromoteVersion(const std::string& version) {
  if (!opt_.model_loader) return Status::NotImplemented("no_loader", "this server cannot load kept model versions");
  VANE_RETURN_IF_ERROR(registry_.CanPromote(version));
  auto factory = opt_.model_loader(registry_.VersionDir(version));
  if (!factory.ok()) return factory.status().Prefixed("version " + version + ": ");
  VANE_RETURN_IF_ERROR(registry_.Promote(version));
  SwapModel(*factory, version);
  return Status::Ok();
}

ModelsInfo Service::Models() const {
  ModelsInfo out;
  {
    std::shared_lock lock(mu_);
    out.current = opt_.model_version;
    out.current_path = opt_.model_path;
  }
  out.training = training_.load();
  out.versions = registry_.Versions();
  std::lock_guard l(blend_mu_);
  out.blend = blend_info_;
  return out;
}

Service::Stats Service::GetStats() const {
  std::shared_lock lock(mu_);
  Stats s = stats_;
  s.accepted = accepted_.load();
  s.rejected = rejected_.load();
  s.duplicates = duplicates_.load();
  s.events = ds_->events_base + ds_->events.size();
  s.events_in_memory = ds_->events.size();
  s.hot_state_bytes_per_user = InterestStore::kStateBytes;
  s.model_prepared_users = prepared_users_.load();
  s.model_prepare_done = prepare_done_.load();
  s.model_prepare_seconds = prepare_seconds_.load();
  s.model_version = opt_.model_version;
  s.users = ds_->num_users();
  s.items = ds_->num_items();
  s.store_bytes = store_->ApproximateBytes();
  s.pending_erasures = store_->PendingErasures();
  if (opt_.shared_log) {
    s.cluster = true;
    s.cluster_position = opt_.shared_log->Position();
    const auto now_ms = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
    const auto w = static_cast<double>(opt_.shared_log->WatermarkMs());
    s.cluster_lag_ms = w > 0 ? std::max(0.0, now_ms - w) : 0;
    s.cluster_log_rejected = log_rejected_.load();
    std::lock_guard e(cluster_error_mu_);
    s.cluster_error = cluster_error_;
  }
  s.state_bytes = ds_->num_users() * InterestStore::kStateBytes + engine_->interests().HistoryBytes() +
                  engine_->SourceMemoryBytes();
  return s;
}

Status Service::InitBlend() {
  if (opt_.blend) {
    VANE_RETURN_IF_ERROR(store_->PutMeta("blend", opt_.blend->ToJson().dump()));
    std::unique_lock lock(mu_);
    ApplyBlend(*opt_.blend, "given");
    return Status::Ok();
  }
  if (opt_.shared_log && opt_.cluster_snapshots) return InitClusterBlend();
  VANE_ASSIGN_OR_RETURN(auto stored, store_->GetMeta("blend"));
  if (stored) {
    nlohmann::json j = nlohmann::json::parse(*stored, nullptr, false);
    auto b = BlendConfig::FromJson(j);
    if (!b.ok()) return b.status().Prefixed("store: the stored blend is unreadable: ");
    std::unique_lock lock(mu_);
    ApplyBlend(*b, "stored");
    return Status::Ok();
  }
  // First start: fitted before the service listens (deterministic answers from the first request on; seconds on
  // the demo data, about a minute on ML-1M). A failed fit leaves the built-in weights serving, and says why.
  if (opt_.blend_fitter) FitBlend("");
  return Status::Ok();
}

void Service::ApplyBlend(const BlendConfig& b, const char* state) {
  b.ApplyTo(opt_.engine);
  b.ApplyTo(engine_->config());
  notify_.Note({}, ds_->num_users());  // every user's recommendations may change
  nlohmann::json config = b.ToJson();
  if (b.ranker) config["ranker"] = {{"trees", b.ranker->num_trees()}, {"info", b.ranker->info()}};  // not the trees
  std::lock_guard l(blend_mu_);
  blend_info_ = {{"state", state}, {"config", std::move(config)}};
}

void Service::FitBlend(const std::string& dir) {
  std::unique_ptr<Dataset> snapshot = DatasetSnapshot();
  EngineConfig cfg;
  {
    std::shared_lock lock(mu_);
    cfg = opt_.engine;
  }
  auto fitted = opt_.blend_fitter(*snapshot, cfg);
  Status st = fitted.status();
  if (fitted.ok()) st = store_->PutMeta("blend", fitted->ToJson().dump());
  if (fitted.ok() && st.ok() && !dir.empty()) st = fitted->Save(dir + "/blend.json");
  if (!st.ok()) {
    std::fprintf(stderr, "warning: fitting the blend failed: %s\n", st.ToString().c_str());
    std::lock_guard l(blend_mu_);
    blend_info_["state"] = "failed";
    blend_info_["error"] = st.ToString();
    return;
  }
  std::unique_lock lock(mu_);
  ApplyBlend(*fitted, "fitted");
}

}  // namespace vane
