#include "vane/serve/service.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "vane/events/ids.h"
#include "vane/interest/describe.h"

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

// The stored form of an accepted event: the cleaned values (filled timestamp, canonical action), so a replay
// through the same cleaner reproduces the same event.
RawEvent Stored(const Dataset& ds, const Event& e, std::string context) {
  RawEvent r;
  r.user = ds.users.Name(e.user.v);
  if (e.item.valid()) r.item = ds.catalog.item(e.item).id;
  if (e.query != kNoQuery) r.query = ds.queries.Name(e.query);
  r.action = ds.actions.spec(e.action).name;
  r.ts = e.ts;
  r.has_ts = true;
  r.value = e.value;
  r.has_value = e.has_value;
  if (e.session != kNoSession) r.session = ds.sessions.Name(e.session);
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

Status AppendSeed(Store& store, const Dataset& seed, bool events) {
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
  scheduler_.reset();
  notify_.Stop();
  if (train_thread_.joinable()) train_thread_.join();
}

Result<std::unique_ptr<Service>> Service::Open(const ServiceOptions& opt, const Dataset* seed,
                                               std::unique_ptr<Store> store) {
  if (!store) {
    VANE_ASSIGN_OR_RETURN(store, OpenRocksDbStore(opt.store_dir, opt.store));
  }
  std::unique_ptr<Service> svc(new Service(opt));
  svc->store_ = std::move(store);
  VANE_RETURN_IF_ERROR(svc->InitStore(seed));
  VANE_RETURN_IF_ERROR(svc->experiments_.Attach(svc->store_.get()));
  {
    std::unique_lock lock(svc->mu_);
    VANE_RETURN_IF_ERROR(svc->Rebuild());
  }
  svc->ready_ = true;
  VANE_ASSIGN_OR_RETURN(auto trained_at, svc->store_->GetMeta("trained_at"));
  if (trained_at) svc->trained_at_seq_ = std::strtoull(trained_at->c_str(), nullptr, 10);
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
  // Whether event times are real (false for order-only files such as the sequence benchmarks, whose times are
  // synthetic): the sources decay by time only when they are. Kept with the store, like the registry.
  VANE_ASSIGN_OR_RETURN(auto timed, store_->GetMeta("has_timestamps"));
  if (timed) {
    has_timestamps_ = *timed != "0";
  } else {
    has_timestamps_ = seed ? seed->has_timestamps : true;
    VANE_RETURN_IF_ERROR(store_->PutMeta("has_timestamps", has_timestamps_ ? "1" : "0"));
  }
  size_t items = 0, events = 0;
  VANE_RETURN_IF_ERROR(store_->Load([&](Item&&) { ++items; }, [&](uint64_t, RawEvent&&) { ++events; }).status());
  if (items == 0 && events == 0 && seed) return AppendSeed(*store_, *seed, opt_.seed_events);  // first start
  return Status::Ok();
}

Status Service::Rebuild() {
  auto t0 = std::chrono::steady_clock::now();
  engine_.reset();
  cleaner_.reset();
  auto ds = std::make_unique<Dataset>();
  ds->name = "live";
  ds->actions = actions_;
  ds->has_timestamps = has_timestamps_;
  auto iopt = std::make_unique<ImportOptions>();
  iopt->progress = false;
  iopt->dedup = true;
  iopt->check_ids = false;  // the store holds what was accepted, possibly before the id rule; live writes check
  auto report = std::make_unique<ImportReport>();
  auto cleaner = std::make_unique<EventCleaner>(*ds, *iopt, *report);
  // The log is replayed in chunks, as the live path ingests batches: each chunk is cleaned, then (after one
  // catalogue refresh when its events named new items) applied to the engine; the in-memory window applies as
  // the replay goes, so a restart needs no more memory than the running server.
  Status bad = Status::Ok();
  std::unique_ptr<Engine> engine;
  size_t applied = 0, items_known = 0;
  auto apply = [&] {
    if (!engine) {
      engine = std::make_unique<Engine>(*ds, opt_.engine, opt_.clock.get());  // items are loaded before events
      items_known = ds->num_items();
    }
    if (ds->num_items() != items_known) {
      engine->OnCatalogChanged();
      items_known = ds->num_items();
    }
    for (; applied < ds->events.size(); ++applied) engine->Ingest(ds->events[applied]);
    if (TrimWindow(*ds, *cleaner, opt_.memory_events)) applied = ds->events.size();
  };
  auto next = store_->Load([&](Item&& it) { ds->catalog.Upsert(std::move(it)); },
                           [&](uint64_t seq, RawEvent&& e) {
                             Status s = cleaner->Add(e, "store", seq);
                             if (!s.ok() && bad.ok()) bad = s;
                             if (ds->events.size() - applied >= 10000) apply();
                           });
  if (!next.ok()) return next.status();
  if (!bad.ok()) return Status::IoError("store replay rejected a stored event: " + bad.ToString());
  report->issues.clear();
  apply();
  ds_ = std::move(ds);
  import_opt_ = std::move(iopt);
  import_opt_->check_ids = true;
  report_ = std::move(report);
  cleaner_ = std::move(cleaner);
  engine_ = std::move(engine);
  next_seq_ = *next;
  stats_.recovery_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stats_.recovered_events = ds_->events_base + ds_->events.size();
  notify_.Reset(ds_->num_users());
  return Status::Ok();
}

Status Service::StoreFailed(const Status& s) {
  ready_ = false;
  return Status::Unavailable("store_unavailable", s.ToString());
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

void Service::ApplyNewEvents(size_t first_new, size_t items_before) {
  if (ds_->num_items() != items_before) engine_->OnCatalogChanged();
  std::vector<uint32_t> touched;
  for (size_t k = first_new; k < ds_->events.size(); ++k) {
    engine_->Ingest(ds_->events[k]);
    touched.push_back(ds_->events[k].user.v);
  }
  if (!touched.empty()) notify_.Note(touched, ds_->num_users());
  TrimWindow(*ds_, *cleaner_, opt_.memory_events);
}

Result<IngestResult> Service::IngestEvents(std::span<const Result<RawEvent>> records, BatchMode mode) {
  VANE_RETURN_IF_ERROR(CheckBatch(records.size(), "events"));
  std::unique_lock lock(mu_);
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready (store unavailable)");
  const size_t first_new = ds_->events.size(), items_before = ds_->num_items();
  std::vector<RawEvent> to_store;
  IngestResult out;
  const Timestamp now = Now();
  if (mode == BatchMode::kAllOrNothing) {  // every record checked before anything is stored
    for (size_t i = 0; i < records.size(); ++i) {
      Result<RawEvent> raw = Admitted(records[i], now, opt_.max_future_s);
      Status s = raw.ok() ? cleaner_->Check(*raw) : raw.status();
      if (!s.ok()) out.rejected.push_back({i, s.field().empty() ? "record" : s.field(), s.message()});
    }
    stats_.rejected += out.rejected.size();
    if (!out.rejected.empty()) return out;
  }
  for (size_t i = 0; i < records.size(); ++i) CleanRecord(i, records[i], now, to_store, out);
  // Durable before anything is answered or applied: a failed write leaves the service not ready.
  if (Status w = store_->AppendEvents(next_seq_, to_store); !w.ok()) return StoreFailed(w);
  next_seq_ += to_store.size();
  ApplyNewEvents(first_new, items_before);
  out.accepted = to_store.size();
  stats_.accepted += out.accepted;
  stats_.rejected += out.rejected.size();
  stats_.duplicates += out.duplicates;
  return out;
}

std::optional<uint32_t> Service::FindCategory(const std::string& name) const {
  return ds_->catalog.category_vocab().Find(name);
}

Result<ServedRecommendation> Service::Recommend(RecommendRequest req) const {
  VANE_RETURN_IF_ERROR(CheckCount(req.n));
  std::shared_lock lock(mu_);
  if (req.now == 0) req.now = Now();
  for (const auto& c : req.categories)
    if (!FindCategory(c)) return Status::NotFound("unknown_category", "no item has category '" + c + "'");
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
  out.known_user = ds_->users.Find(req.user).has_value();
  out.model_version = opt_.model_version;
  return out;
}

Result<UserInterests> Service::Interests(const std::string& user) const {
  std::shared_lock lock(mu_);
  auto u = ds_->users.Find(user);
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
    out.nodes.push_back({"k:" + name, "keyword", name, k.s, k.l});
  }
  if (engine_->source_active(kSrcModel))
    if (auto v = engine_->source(kSrcModel).DescribeUser(UserIdx(*u))) {
      ModelView m{std::move(v->text_en), std::move(v->text_zh), {}, std::move(v->keywords)};
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
    if (!st || st->num_events == 0) continue;  // deleted users keep their slot, without events
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
  if (events->empty() && !ds_->users.Find(id)) return UnknownUser(id);
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
  auto u = ds_->users.Find(id);
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

Result<size_t> Service::PutItems(std::vector<Item> items) {
  VANE_RETURN_IF_ERROR(CheckBatch(items.size(), "items"));
  for (size_t k = 0; k < items.size(); ++k)
    if (Status s = CheckId("id", items[k].id); !s.ok()) return s.Prefixed(fmt::format("item {}: id: ", k));
  std::unique_lock lock(mu_);
  if (Status s = store_->PutItems(items); !s.ok()) return StoreFailed(s);
  for (Item& it : items) ds_->catalog.Upsert(std::move(it));
  engine_->OnCatalogChanged();
  notify_.Note({}, ds_->num_users());
  return items.size();
}

Result<Item> Service::GetItem(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto i = ds_->catalog.Find(id);
  if (!i) return UnknownItem(id);
  return ds_->catalog.item(*i);
}

Status Service::DeleteItem(const std::string& id) {
  std::unique_lock lock(mu_);
  auto i = ds_->catalog.Find(id);
  if (!i) return UnknownItem(id);
  // Past events keep naming the item, so it stays as a tombstone: unavailable, never recommended.
  Item it = ds_->catalog.item(*i);
  it.available = false;
  if (Status s = store_->PutItem(it); !s.ok()) return StoreFailed(s);
  ds_->catalog.SetAvailable(*i, false);
  notify_.Note({}, ds_->num_users());
  return Status::Ok();
}

Result<UserInfo> Service::GetUser(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto u = ds_->users.Find(id);
  const UserState* st = u ? engine_->interests().Find(UserIdx(*u)) : nullptr;
  if (!st) return UnknownUser(id);
  return UserInfo{id, st->num_events, st->last_ts};
}

Status Service::PutUserRecord(const std::string& id, const std::string& record_json) {
  VANE_RETURN_IF_ERROR(CheckId("user", id));
  std::unique_lock lock(mu_);
  if (Status s = store_->PutUser(id, record_json); !s.ok()) return StoreFailed(s);
  return Status::Ok();
}

Result<std::string> Service::GetUserRecord(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto rec = store_->GetUser(id);
  if (!rec.ok()) return Status::Unavailable("store_unavailable", rec.status().ToString());
  if (*rec) return std::move(**rec);
  if (ds_->users.Find(id)) return std::string("{}");
  return Status::NotFound("unknown_user", "user '" + id + "' has no record and no events");
}

Result<uint64_t> Service::DeleteUser(const std::string& id) {
  std::unique_lock lock(mu_);
  if (!ds_->users.Find(id)) {
    auto rec = store_->GetUser(id);
    if (!rec.ok()) return Status::Unavailable("store_unavailable", rec.status().ToString());
    if (!*rec) return UnknownUser(id);
  }
  auto n = store_->DeleteUser(id);
  if (!n.ok()) return StoreFailed(n.status());
  // Global statistics (co-visitation, popularity) include the user's events too: replay without them.
  if (Status s = Rebuild(); !s.ok()) {
    ready_ = false;
    return Status::Internal("rebuild_failed", s.ToString());
  }
  return *n;
}

Result<std::string> Service::Retrain() {
  if (!opt_.trainer) return Status::NotImplemented("no_trainer", "this server was started without model training");
  if (training_.exchange(true)) return Status::Conflict("training_in_progress", "a model is being trained already");
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
  std::unique_ptr<Dataset> snapshot;
  {
    std::shared_lock lock(mu_);
    snapshot = std::make_unique<Dataset>(*ds_);  // training reads the copy; serving goes on
  }
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
  if (Status s = registry_.Finish(std::move(entry)); !s.ok()) std::fprintf(stderr, "warning: %s\n", s.ToString().c_str());
  if (serving && opt_.blend_fitter) FitBlend(dir);  // the new model's weight in the blend is fitted with it
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
  notify_.Note({}, ds_->num_users());  // every user's recommendations may change
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
  s.events = ds_->events_base + ds_->events.size();
  s.events_in_memory = ds_->events.size();
  s.hot_state_bytes_per_user = InterestStore::kStateBytes;
  s.model_version = opt_.model_version;
  s.users = ds_->num_users();
  s.items = ds_->num_items();
  s.store_bytes = store_->ApproximateBytes();
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
  std::lock_guard l(blend_mu_);
  blend_info_ = {{"state", state}, {"config", b.ToJson()}};
}

void Service::FitBlend(const std::string& dir) {
  std::unique_ptr<Dataset> snapshot;
  EngineConfig cfg;
  {
    std::shared_lock lock(mu_);
    snapshot = std::make_unique<Dataset>(*ds_);
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
