#include "vane/serve/service.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <fmt/format.h>

#include "vane/interest/describe.h"

namespace vane {
namespace {

using json = nlohmann::json;

// The answer to a list size outside 1..1000 (n of recommendations, users, items, events); nullopt when fine.
std::optional<ApiResult<json>> BadCount(size_t n) {
  if (n >= 1 && n <= 1000) return std::nullopt;
  return ApiResult<json>::Fail(400, "bad_parameter", fmt::format("n must be 1..1000, got {}", n));
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

}  // namespace

json RecsJson(const RecommendResponse& r) {
  auto one = [](const Recommendation& x) {
    return json{{"id", x.id},         {"type", x.type},        {"title", x.title},       {"score", x.score},
                {"source", x.source}, {"reason", x.reason_en}, {"reason_zh", x.reason_zh}};
  };
  json j;
  j["strategy"] = StrategyName(r.strategy);
  j["strategy_reason"] = r.strategy_reason;
  j["items"] = json::array();
  for (const auto& x : r.items) j["items"].push_back(one(x));
  for (const auto& [t, v] : r.slates) {
    j["slates"][t] = json::array();
    for (const auto& x : v) j["slates"][t].push_back(one(x));
  }
  return j;
}

json InterestsJson(const InterestSummary& s) {
  auto line = [](const InterestLine& l) {
    return json{{"category", l.name},
                {"category_zh", l.name_zh},
                {"now_share", l.now_share},
                {"usual_share", l.usual_share},
                {"like_probability", l.like_probability},
                {"trend", TrendName(l.trend)},
                {"evidence", l.evidence_en},
                {"evidence_zh", l.evidence_zh}};
  };
  json j;
  for (auto [name, v] : {std::pair{"now", &s.now}, {"usually", &s.usually}, {"rising", &s.rising}, {"fading", &s.fading}}) {
    j[name] = json::array();
    for (const auto& l : *v) j[name].push_back(line(l));
  }
  j["likely_next"] = json::array();
  for (const auto& [l, p] : s.likely_next) j["likely_next"].push_back({{"category", l.name}, {"probability", p}});
  j["keywords_now"] = s.keywords_now;
  j["text"] = s.text_en;
  j["text_zh"] = s.text_zh;
  return j;
}

Service::Service(ServiceOptions opt) : opt_(std::move(opt)) {}

Service::~Service() {
  stopping_ = true;
  {
    std::lock_guard l(change_mu_);
  }
  change_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  if (train_thread_.joinable()) train_thread_.join();
}

ApiResult<json> Service::Retrain() {
  using R = ApiResult<json>;
  if (!opt_.trainer) return R::Fail(501, "no_trainer", "this server was started without model training");
  if (training_.exchange(true)) return R::Fail(409, "training_in_progress", "a model is being trained already");
  if (train_thread_.joinable()) train_thread_.join();  // the previous one has finished
  std::string version;
  {
    std::lock_guard lock(models_mu_);
    version = "v" + std::to_string(next_version_++);
    versions_.push_back({{"version", version}, {"state", "training"}});
  }
  train_thread_ = std::thread([this, version] {
    auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<Dataset> snapshot;
    {
      std::shared_lock lock(mu_);
      snapshot = std::make_unique<Dataset>(*ds_);  // training reads the copy; serving goes on
    }
    std::string dir = opt_.models_dir + "/" + version;
    auto trained = opt_.trainer(*snapshot, dir);
    json entry = {{"version", version}, {"dir", dir}};
    if (trained.ok()) {
      // Build the new source under a shared lock (it reads the dataset), swap it under an exclusive one.
      std::unique_ptr<CandidateSource> src;
      {
        std::shared_lock lock(mu_);
        src = trained->factory(*ds_, engine_->interests());
      }
      {
        std::unique_lock lock(mu_);
        engine_->ReplaceModelSource(std::move(src), trained->factory);
        opt_.engine.model_source = trained->factory;
        opt_.model_version = version;
        NoteChange({});  // every user's recommendations may change
      }
      // The serving version survives a restart (vane serve loads <models_dir>/current when given no --model).
      std::ofstream(opt_.models_dir + "/current") << version << "\n";
      entry["state"] = "serving";
      entry["info"] = trained->info;
    } else {
      entry["state"] = "failed";
      entry["error"] = trained.status().ToString();
    }
    entry["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The record stays beside the weights, so the version list survives a restart.
    std::error_code mk;
    std::filesystem::create_directories(dir, mk);
    std::ofstream(dir + "/version.json") << entry.dump(2) << "\n";
    {
      std::lock_guard lock(models_mu_);
      for (auto& v : versions_) {
        if (v["version"] == version) v = entry;
        else if (entry["state"] == "serving" && v.value("state", "") == "serving") v["state"] = "retired";
      }
    }
    training_ = false;
  });
  return R::Ok(json{{"training", version}});
}

json Service::Models() const {
  std::string current;
  {
    std::shared_lock lock(mu_);
    current = opt_.model_version;
  }
  std::lock_guard lock(models_mu_);
  return json{{"current", current}, {"training", training_.load()}, {"versions", versions_}};
}

Timestamp Service::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Result<std::unique_ptr<Service>> Service::Open(const ServiceOptions& opt, const Dataset* seed) {
  auto store = Store::Open(opt.store_dir, opt.store_memtable_mb, opt.store_block_cache_mb);
  if (!store.ok()) return store.status();
  std::unique_ptr<Service> svc(new Service(opt));
  svc->store_ = std::move(store.value());
  // The action registry the stored events were accepted under is part of the store: a restart with other seed
  // data (or none) replays them under the same one. A store without it (older, or new) takes the seed's.
  if (auto stored = svc->store_->GetMeta("actions")) {
    auto r = ActionRegistry::FromJson(*stored);
    if (!r.ok()) return Status::IoError("store: the stored action registry is unreadable: " + r.status().ToString());
    svc->actions_ = std::move(r.value());
  } else {
    svc->actions_ = seed ? seed->actions : ActionRegistry::Preset(opt.action_preset).value();
    VANE_RETURN_IF_ERROR(svc->store_->PutMeta("actions", svc->actions_.ToJson()));
  }
  size_t items = 0, events = 0;
  auto n = svc->store_->Load([&](Item&&) { ++items; }, [&](uint64_t, RawEvent&&) { ++events; });
  if (!n.ok()) return n.status();
  if (items == 0 && events == 0 && seed) {
    // First start: the seed data becomes the store's content.
    for (uint32_t i = 0; i < seed->num_items(); ++i)
      VANE_RETURN_IF_ERROR(svc->store_->PutItem(seed->catalog.item(ItemIdx(i))));
    std::vector<RawEvent> batch;
    uint64_t seq = 0;
    for (const Event& e : seed->events) {
      batch.push_back(Stored(*seed, e, ""));
      if (batch.size() == 10000) {
        VANE_RETURN_IF_ERROR(svc->store_->AppendEvents(seq, batch));
        seq += batch.size();
        batch.clear();
      }
    }
    VANE_RETURN_IF_ERROR(svc->store_->AppendEvents(seq, batch));
  }
  {
    std::unique_lock lock(svc->mu_);
    VANE_RETURN_IF_ERROR(svc->Rebuild());
  }
  svc->ready_ = true;
  // Versions continue after the highest one already on disk; each one's record (figures, state) is listed again.
  std::error_code ec;
  std::vector<std::pair<int, json>> found;
  for (const auto& d : std::filesystem::directory_iterator(opt.models_dir, ec)) {
    std::string n = d.path().filename().string();
    if (n.size() < 2 || n[0] != 'v' || !std::all_of(n.begin() + 1, n.end(), ::isdigit)) continue;
    int num = std::stoi(n.substr(1));
    svc->next_version_ = std::max(svc->next_version_, num + 1);
    std::ifstream in(d.path() / "version.json");
    json entry = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (entry.is_discarded() || !entry.is_object()) entry = {{"version", n}, {"dir", d.path().string()}, {"state", "unknown"}};
    if (entry.value("state", "") == "serving" || entry.value("state", "") == "training")
      entry["state"] = n == opt.model_version ? "serving" : "retired";  // training: interrupted by the stop
    else if (n == opt.model_version)
      entry["state"] = "serving";
    found.emplace_back(num, std::move(entry));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [num, entry] : found) svc->versions_.push_back(std::move(entry));
  if (opt.retrain_every_s > 0 && opt.trainer) {
    Service* self = svc.get();
    svc->scheduler_ = std::thread([self] {
      auto last = std::chrono::steady_clock::now();
      while (!self->stopping_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - last).count() >= self->opt_.retrain_every_s) {
          self->Retrain();  // 409 when one still runs: skipped this time
          last = std::chrono::steady_clock::now();
        }
      }
    });
  }
  return svc;
}

Status Service::Rebuild() {
  auto t0 = std::chrono::steady_clock::now();
  engine_.reset();
  cleaner_.reset();
  auto ds = std::make_unique<Dataset>();
  ds->name = "live";
  ds->actions = actions_;
  auto iopt = std::make_unique<ImportOptions>();
  iopt->progress = false;
  iopt->dedup = true;
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
      engine = std::make_unique<Engine>(*ds, opt_.engine);  // every stored item is loaded before the events
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
  report_ = std::move(report);
  cleaner_ = std::move(cleaner);
  engine_ = std::move(engine);
  next_seq_ = *next;
  stats_.recovery_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stats_.recovered_events = ds_->events_base + ds_->events.size();
  user_change_.clear();
  NoteChange({});
  return Status::Ok();
}

ApiResult<json> Service::IngestEvents(const json& events) {
  using R = ApiResult<json>;
  if (!events.is_array()) return R::Fail(400, "bad_request", "expected a JSON array of events");
  if (events.size() > opt_.max_batch)
    return R::Fail(413, "batch_too_large",
                   fmt::format("{} events in one request; the limit is {}", events.size(), opt_.max_batch));
  std::unique_lock lock(mu_);
  if (!ready_) return R::Fail(503, "not_ready", "the service is not ready (store unavailable)");
  const size_t first_new = ds_->events.size(), items_before = ds_->num_items();
  std::vector<RawEvent> to_store;
  json rejected = json::array();
  uint64_t duplicates = 0;
  const Timestamp now = Now();
  RawEvent raw;
  std::string field, err;
  for (size_t i = 0; i < events.size(); ++i) {
    const json& j = events[i];
    if (!j.is_object()) {
      rejected.push_back({{"index", i}, {"field", "record"}, {"reason", "wrong type: expected a JSON object"}});
      continue;
    }
    if (!RawEventFromJson(j, raw, field, err)) {
      rejected.push_back({{"index", i}, {"field", field}, {"reason", err}});
      continue;
    }
    if (!raw.has_ts) {  // the server's clock is the event time when the client sends none
      raw.ts = now;
      raw.has_ts = true;
    }
    const size_t before = ds_->events.size();
    Status s = cleaner_->Add(raw, "request", i);
    if (!s.ok()) {
      if (!report_->issues.empty())
        rejected.push_back({{"index", i}, {"field", report_->issues.back().field}, {"reason", report_->issues.back().reason}});
      else
        rejected.push_back({{"index", i}, {"field", "record"}, {"reason", s.message()}});
    } else if (ds_->events.size() > before) {
      to_store.push_back(Stored(*ds_, ds_->events.back(), raw.context));
    } else {
      ++duplicates;
    }
    report_->issues.clear();
  }
  // Durable before anything is answered or applied: a failed write leaves the service not ready.
  if (Status w = store_->AppendEvents(next_seq_, to_store); !w.ok()) {
    ready_ = false;
    return R::Fail(503, "store_unavailable", w.ToString());
  }
  next_seq_ += to_store.size();
  if (ds_->num_items() != items_before) engine_->OnCatalogChanged();
  std::vector<uint32_t> touched;
  for (size_t k = first_new; k < ds_->events.size(); ++k) {
    engine_->Ingest(ds_->events[k]);
    touched.push_back(ds_->events[k].user.v);
  }
  if (!touched.empty()) NoteChange(touched);
  TrimWindow(*ds_, *cleaner_, opt_.memory_events);
  stats_.accepted += to_store.size();
  stats_.rejected += rejected.size();
  stats_.duplicates += duplicates;
  return R::Ok(json{{"accepted", to_store.size()}, {"duplicates", duplicates}, {"rejected", rejected}});
}

ApiResult<json> Service::Recommend(RecommendRequest req) const {
  using R = ApiResult<json>;
  if (auto bad = BadCount(req.n)) return *bad;
  std::shared_lock lock(mu_);
  if (req.now == 0) req.now = Now();
  for (const auto& c : req.categories)
    if (!ds_->catalog.category_vocab().Find(c))
      return R::Fail(404, "unknown_category", "no item has category '" + c + "'");
  const Variant* v = VariantFor(req.user);
  if (v) {
    req.weight_scale = v->scale;
    req.diversity = v->diversity;
  }
  RecommendResponse r = engine_->Recommend(req);
  json j = RecsJson(r);
  if (v) j["variant"] = v->name;
  j["user"] = req.user;
  j["known_user"] = ds_->users.Find(req.user).has_value();
  j["model_version"] = opt_.model_version;
  return R::Ok(std::move(j));
}

ApiResult<json> Service::Interests(const std::string& user) const {
  using R = ApiResult<json>;
  std::shared_lock lock(mu_);
  auto u = ds_->users.Find(user);
  if (!u) return R::Fail(404, "unknown_user", "user '" + user + "' has no events");
  const Timestamp now = Now();
  const InterestStore& st = engine_->interests();
  json j = InterestsJson(Describe(st, UserIdx(*u), now));
  j["user"] = user;
  // The graph itself: category and keyword nodes with their short- and long-term weights (decayed to now), and the
  // user's transitions between categories.
  const Catalog& cat = ds_->catalog;
  json nodes = json::array(), edges = json::array();
  for (const auto& c : st.Categories(UserIdx(*u), now))
    nodes.push_back({{"id", "c:" + cat.category_vocab().Name(c.id)}, {"kind", "category"},
                     {"name", cat.category_vocab().Name(c.id)}, {"s", c.s}, {"l", c.l}});
  for (const auto& k : st.Keywords(UserIdx(*u), now))
    nodes.push_back({{"id", "k:" + cat.keyword_vocab().Name(k.id)}, {"kind", "keyword"},
                     {"name", cat.keyword_vocab().Name(k.id)}, {"s", k.s}, {"l", k.l}});
  if (const UserState* us = st.Find(UserIdx(*u)))
    for (int e = 0; e < us->num_edges; ++e) {
      const auto& edge = us->edges[static_cast<size_t>(e)];
      if (edge.from >= us->num_cats || edge.to >= us->num_cats) continue;
      edges.push_back({{"from", "c:" + cat.category_vocab().Name(us->cats[edge.from].id)},
                       {"to", "c:" + cat.category_vocab().Name(us->cats[edge.to].id)},
                       {"count", edge.count}});
    }
  j["graph"] = {{"nodes", std::move(nodes)}, {"edges", std::move(edges)}};
  return R::Ok(std::move(j));
}

ApiResult<json> Service::ItemList(ListKind kind, const std::string& category, size_t n, size_t offset) const {
  using R = ApiResult<json>;
  if (auto bad = BadCount(n)) return *bad;
  std::shared_lock lock(mu_);
  std::optional<uint32_t> cat;
  if (!category.empty()) {
    cat = ds_->catalog.category_vocab().Find(category);
    if (!cat) return R::Fail(404, "unknown_category", "no item has category '" + category + "'");
  }
  json out = json::array();
  auto add = [&](ItemIdx i, double score) {
    const Item& it = ds_->catalog.item(i);
    out.push_back({{"id", it.id}, {"title", it.title}, {"score", score}});
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
    return R::Ok(json{{"items", std::move(out)}});
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
  return R::Ok(json{{"items", std::move(out)}});
}

ApiResult<json> Service::ListUsers(const std::string& q, size_t n) const {
  using R = ApiResult<json>;
  if (auto bad = BadCount(n)) return *bad;
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
  json users = json::array();
  for (size_t i = 0; i < k; ++i) {
    const UserState* st = engine_->interests().Find(UserIdx(found[i].second));
    users.push_back({{"id", ds_->users.Name(found[i].second)}, {"events", st->num_events}, {"last_ts", st->last_ts}});
  }
  return R::Ok(json{{"users", std::move(users)}});
}

ApiResult<json> Service::UserEvents(const std::string& id, size_t n) const {
  using R = ApiResult<json>;
  if (auto bad = BadCount(n)) return *bad;
  auto events = store_->UserEvents(id, n);
  if (!events.ok()) return R::Fail(503, "store_unavailable", events.status().ToString());
  std::shared_lock lock(mu_);
  if (events->empty() && !ds_->users.Find(id)) return R::Fail(404, "unknown_user", "user '" + id + "' has no events");
  json out = json::array();
  for (const auto& [seq, e] : *events) {
    std::string title;
    if (!e.item.empty())
      if (auto i = ds_->catalog.Find(e.item)) title = ds_->catalog.item(*i).title;
    out.push_back({{"seq", seq}, {"item", e.item}, {"title", title}, {"action", e.action}, {"query", e.query},
                   {"ts", e.ts}, {"value", e.value}});
  }
  return R::Ok(json{{"user", id}, {"events", std::move(out)}});
}

void Service::NoteChange(std::span<const uint32_t> users) {
  uint64_t seq = ++change_seq_;
  if (user_change_.size() < ds_->num_users()) user_change_.resize(ds_->num_users(), seq);
  if (users.empty()) std::fill(user_change_.begin(), user_change_.end(), seq);
  for (uint32_t u : users) user_change_[u] = seq;
  { std::lock_guard l(change_mu_); }  // a waiter between its check and its wait cannot miss the notification
  change_cv_.notify_all();
}

uint64_t Service::UserChangeSeq(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto u = ds_->users.Find(id);
  return u && *u < user_change_.size() ? user_change_[*u] : 0;
}

uint64_t Service::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock l(change_mu_);
  change_cv_.wait_for(l, timeout, [&] { return change_seq_.load() != seen || stopping_.load(); });
  return change_seq_.load();
}

ApiResult<json> Service::UserSnapshot(const std::string& id, size_t n) const {
  using R = ApiResult<json>;
  uint64_t version = UserChangeSeq(id);
  auto interests = Interests(id);
  if (!interests.ok()) return interests;
  RecommendRequest req;
  req.user = id;
  req.n = n;
  auto recs = Recommend(req);
  if (!recs.ok()) return recs;
  auto events = UserEvents(id, 20);
  if (!events.ok()) return events;
  return R::Ok(json{{"user", id}, {"version", version}, {"interests", std::move(*interests.value)},
                    {"recommend", std::move(*recs.value)}, {"events", std::move((*events.value)["events"])}});
}

ApiResult<json> Service::Similar(const std::string& id, size_t n) const {
  using R = ApiResult<json>;
  if (auto bad = BadCount(n)) return *bad;
  std::shared_lock lock(mu_);
  auto i = ds_->catalog.Find(id);
  if (!i) return R::Fail(404, "unknown_item", "item '" + id + "' is not in the catalogue");
  const Item& it = ds_->catalog.item(*i);
  std::string text = it.title;
  for (const auto& c : it.categories) text += " " + c;
  json out = json::array();
  for (const auto& [j, score] : engine_->content().Search(text, n + 1)) {
    if (j == *i || !ds_->catalog.item(j).available) continue;
    if (out.size() == n) break;
    const Item& x = ds_->catalog.item(j);
    out.push_back({{"id", x.id}, {"type", x.type}, {"title", x.title}, {"score", score}});
  }
  return R::Ok(json{{"item", id}, {"similar", out}});
}

ApiResult<json> Service::PutItems(const json& body) {
  using R = ApiResult<json>;
  std::vector<Item> items;
  std::string field, err;
  auto parse = [&](const json& j, size_t index) -> std::optional<ApiError> {
    Item it;
    if (!j.is_object()) return ApiError{400, "bad_item", fmt::format("item {}: expected a JSON object", index)};
    if (!ItemFromJson(j, it, field, err)) return ApiError{400, "bad_item", fmt::format("item {}: {}: {}", index, field, err)};
    items.push_back(std::move(it));
    return std::nullopt;
  };
  if (body.is_array()) {
    if (body.size() > opt_.max_batch)
      return R::Fail(413, "batch_too_large", fmt::format("{} items in one request; the limit is {}", body.size(), opt_.max_batch));
    for (size_t k = 0; k < body.size(); ++k)
      if (auto e = parse(body[k], k)) return R::Fail(e->status, e->code, e->message);
  } else if (auto e = parse(body, 0)) {
    return R::Fail(e->status, e->code, e->message);
  }
  std::unique_lock lock(mu_);
  for (const Item& it : items)
    if (Status s = store_->PutItem(it); !s.ok()) {
      ready_ = false;
      return R::Fail(503, "store_unavailable", s.ToString());
    }
  for (Item& it : items) ds_->catalog.Upsert(std::move(it));
  engine_->OnCatalogChanged();
  NoteChange({});
  return R::Ok(json{{"stored", items.size()}});
}

ApiResult<json> Service::GetItem(const std::string& id) const {
  using R = ApiResult<json>;
  std::shared_lock lock(mu_);
  auto i = ds_->catalog.Find(id);
  if (!i) return R::Fail(404, "unknown_item", "item '" + id + "' is not in the catalogue");
  return R::Ok(json::parse(Store::ItemToJson(ds_->catalog.item(*i))));
}

ApiResult<json> Service::DeleteItem(const std::string& id) {
  using R = ApiResult<json>;
  std::unique_lock lock(mu_);
  auto i = ds_->catalog.Find(id);
  if (!i) return R::Fail(404, "unknown_item", "item '" + id + "' is not in the catalogue");
  // Past events keep naming the item, so it stays as a tombstone: unavailable, never recommended.
  Item it = ds_->catalog.item(*i);
  it.available = false;
  if (Status s = store_->PutItem(it); !s.ok()) {
    ready_ = false;
    return R::Fail(503, "store_unavailable", s.ToString());
  }
  ds_->catalog.SetAvailable(*i, false);
  NoteChange({});
  return R::Ok(json{{"deleted", id}});
}

ApiResult<json> Service::GetUser(const std::string& id) const {
  using R = ApiResult<json>;
  std::shared_lock lock(mu_);
  auto u = ds_->users.Find(id);
  const UserState* st = u ? engine_->interests().Find(UserIdx(*u)) : nullptr;
  if (!st) return R::Fail(404, "unknown_user", "user '" + id + "' has no events");
  return R::Ok(json{{"id", id}, {"events", st->num_events}, {"last_ts", st->last_ts}});
}

ApiResult<json> Service::PutUserRecord(const std::string& id, const json& record) {
  using R = ApiResult<json>;
  if (id.empty()) return R::Fail(400, "bad_user", "user id missing");
  if (!record.is_object()) return R::Fail(400, "bad_user", "a user record must be a JSON object");
  std::unique_lock lock(mu_);
  if (Status s = store_->PutUser(id, record.dump(-1, ' ', false, json::error_handler_t::replace)); !s.ok()) {
    ready_ = false;
    return R::Fail(503, "store_unavailable", s.ToString());
  }
  return R::Ok(json{{"stored", id}});
}

ApiResult<json> Service::GetUserRecord(const std::string& id) const {
  using R = ApiResult<json>;
  std::shared_lock lock(mu_);
  if (auto rec = store_->GetUser(id)) {
    json j = json::parse(*rec, nullptr, false);
    if (!j.is_discarded()) return R::Ok(std::move(j));
  }
  if (ds_->users.Find(id)) return R::Ok(json::object());
  return R::Fail(404, "unknown_user", "user '" + id + "' has no record and no events");
}

ApiResult<json> Service::DeleteUser(const std::string& id) {
  using R = ApiResult<json>;
  std::unique_lock lock(mu_);
  if (!ds_->users.Find(id) && !store_->GetUser(id))
    return R::Fail(404, "unknown_user", "user '" + id + "' has no events");
  auto n = store_->DeleteUser(id);
  if (!n.ok()) {
    ready_ = false;
    return R::Fail(503, "store_unavailable", n.status().ToString());
  }
  // Global statistics (co-visitation, popularity) include the user's events too: replay without them.
  if (Status s = Rebuild(); !s.ok()) {
    ready_ = false;
    return R::Fail(500, "rebuild_failed", s.ToString());
  }
  return R::Ok(json{{"deleted", id}, {"events", *n}});
}

ApiResult<json> Service::Feedback(const json& fb) {
  using R = ApiResult<json>;
  if (!fb.is_object()) return R::Fail(400, "bad_request", "expected a JSON object");
  auto str = [&](const char* k) -> std::string {
    auto it = fb.find(k);
    return it != fb.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string type = str("type"), strategy = str("strategy");
  if (type != "impression" && type != "click" && type != "conversion")
    return R::Fail(400, "bad_feedback", "type must be impression, click or conversion");
  if (strategy.empty()) strategy = "unknown";
  std::string variant = str("variant");
  if (variant.empty())
    if (const Variant* v = VariantFor(str("user"))) variant = v->name;
  std::lock_guard lock(online_mu_);
  auto bump = [&](Online& o) { (type == "impression" ? o.impressions : type == "click" ? o.clicks : o.conversions)++; };
  bump(online_[strategy]);
  if (!variant.empty()) bump(online_variant_[variant]);
  json out = {{"recorded", type}, {"strategy", strategy}};
  if (!variant.empty()) out["variant"] = variant;
  return R::Ok(std::move(out));
}

const Variant* Service::VariantFor(const std::string& user) const {
  if (opt_.variants.empty()) return nullptr;
  double total = 0;
  for (const auto& v : opt_.variants) total += std::max(0.0, v.share);
  if (total <= 0) return nullptr;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across runs and builds
  for (unsigned char c : user) h = (h ^ c) * 1099511628211ULL;
  double x = static_cast<double>(h % 1000000) / 1000000.0 * total;
  for (const auto& v : opt_.variants) {
    x -= std::max(0.0, v.share);
    if (x < 0) return &v;
  }
  return &opt_.variants.back();
}

json Service::OnlineStats() const {
  std::lock_guard lock(online_mu_);
  auto render = [](const std::map<std::string, Online>& m) {
    json j = json::object();
    for (const auto& [s, o] : m) {
      double imp = static_cast<double>(o.impressions);
      j[s] = {{"impressions", o.impressions}, {"clicks", o.clicks}, {"conversions", o.conversions},
              {"ctr", imp > 0 ? o.clicks / imp : 0.0}, {"conversion_rate", imp > 0 ? o.conversions / imp : 0.0}};
    }
    return j;
  };
  return json{{"by_strategy", render(online_)}, {"by_variant", render(online_variant_)}};
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

}  // namespace vane
