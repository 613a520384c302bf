// The service over an in-memory store with injected failures and a manual clock: what it answers, what it keeps,
// and what a restart on the same store gives back.
#include "vane/serve/service.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "test_util.h"

namespace vane {
namespace {

// A non-owning view of a store: lets a test restart a service on the same store object.
class StoreRef : public Store {
 public:
  explicit StoreRef(Store& s) : s_(s) {}
  Status AppendEvents(uint64_t f, std::span<const RawEvent> e) override { return s_.AppendEvents(f, e); }
  Result<std::vector<std::pair<uint64_t, RawEvent>>> UserEvents(std::string_view u, size_t n) const override {
    return s_.UserEvents(u, n);
  }
  Result<uint64_t> DeleteUser(std::string_view u) override { return s_.DeleteUser(u); }
  Result<uint64_t> EraseUserEvents(std::string_view u, const EventFilter& d) override { return s_.EraseUserEvents(u, d); }
  Result<uint64_t> LoadEvents(uint64_t f, const std::function<void(uint64_t, RawEvent&&)>& cb) const override {
    return s_.LoadEvents(f, cb);
  }
  Status PutItems(std::span<const Item> i) override { return s_.PutItems(i); }
  Status DeleteItem(std::string_view id) override { return s_.DeleteItem(id); }
  Status LoadItems(const std::function<void(Item&&)>& cb) const override { return s_.LoadItems(cb); }
  Status PutUser(std::string_view id, std::string_view r) override { return s_.PutUser(id, r); }
  Result<std::optional<std::string>> GetUser(std::string_view id) const override { return s_.GetUser(id); }
  Status AddCounters(std::span<const std::pair<std::string, int64_t>> d) override { return s_.AddCounters(d); }
  Result<std::map<std::string, int64_t>> Counters(std::string_view p) const override { return s_.Counters(p); }
  Status PutMeta(std::string_view k, std::string_view v) override { return s_.PutMeta(k, v); }
  Result<std::optional<std::string>> GetMeta(std::string_view k) const override { return s_.GetMeta(k); }
  uint64_t ApproximateBytes() const override { return 0; }

 private:
  Store& s_;
};

// A store whose event appends and user deletions can be held at the door: tests of what waits for the disk.
class HeldStore : public StoreRef {
 public:
  using StoreRef::StoreRef;
  Status AppendEvents(uint64_t f, std::span<const RawEvent> e) override {
    Wait();
    return StoreRef::AppendEvents(f, e);
  }
  Result<uint64_t> DeleteUser(std::string_view u) override {
    Wait();
    return StoreRef::DeleteUser(u);
  }
  void Hold() {
    std::lock_guard l(m_);
    held_ = true;
    entered_ = 0;
  }
  void Release() {
    {
      std::lock_guard l(m_);
      held_ = false;
    }
    cv_.notify_all();
  }
  // Waits until `n` writers are held at the door (false after 10 s).
  bool WaitEntered(int n) {
    std::unique_lock l(m_);
    return cv_.wait_for(l, std::chrono::seconds(10), [&] { return entered_ >= n; });
  }

 private:
  void Wait() {
    std::unique_lock l(m_);
    if (!held_) return;
    ++entered_;
    cv_.notify_all();
    cv_.wait(l, [&] { return !held_; });
  }
  std::mutex m_;
  std::condition_variable cv_;
  bool held_ = false;
  int entered_ = 0;
};

using vane::testing::EmptyFactory;

Result<RawEvent> Raw(std::string user, std::string item, std::string action = "view", Timestamp ts = 0) {
  RawEvent e;
  e.user = std::move(user);
  e.item = std::move(item);
  e.action = std::move(action);
  if (ts) {
    e.ts = ts;
    e.has_ts = true;
  }
  return e;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = testing::TwoTopicDataset();
    testing::Ev(seed_, "seed", "r0", "view", 1000);
    testing::Ev(seed_, "seed", "r1", "view", 1060);
    clock_ = std::make_shared<ManualClock>(100000);
    opt_.clock = clock_;
    opt_.models_dir = (std::filesystem::temp_directory_path() / ("vane_service_test_" + std::to_string(::getpid()))).string();
    Open();
  }
  void TearDown() override {
    svc_.reset();
    std::filesystem::remove_all(opt_.models_dir);
  }
  void Open() {
    svc_.reset();
    faults_ = new FaultStore(std::make_unique<StoreRef>(*store_));
    auto s = Service::Open(opt_, &seed_, std::unique_ptr<Store>(faults_));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    svc_ = std::move(s.value());
  }
  Result<IngestResult> Ingest(std::vector<Result<RawEvent>> records) { return svc_->IngestEvents(records); }

  Dataset seed_;
  std::unique_ptr<Store> store_ = NewMemoryStore();
  std::shared_ptr<ManualClock> clock_;
  ServiceOptions opt_;
  FaultStore* faults_ = nullptr;  // owned by the service
  std::unique_ptr<Service> svc_;
};

TEST_F(ServiceTest, SeedsAnEmptyStoreOnceAndReplaysItOnRestart) {
  EXPECT_EQ(svc_->GetStats().events, 2u);
  ASSERT_TRUE(Ingest({Raw("u1", "h0", "view", 2000)}).ok());
  Open();
  EXPECT_EQ(svc_->GetStats().events, 3u) << "the seed is not added twice; the acknowledged event is back";
  EXPECT_EQ(svc_->GetUser("u1").value().events, 1u);
}

TEST_F(ServiceTest, EventsWithoutATimeTakeTheClocks) {
  clock_->Set(123456);
  auto r = Ingest({Raw("u1", "h0")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 1u);
  auto ev = svc_->UserEvents("u1", 5);
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 1u);
  EXPECT_EQ((*ev)[0].event.ts, 123456);
  EXPECT_EQ((*ev)[0].title, "hiking boots alpine 0");
}

TEST_F(ServiceTest, RejectionsNameTheIndexAndFieldAndTheRestIsKept) {
  std::vector<Result<RawEvent>> batch = {Raw("u1", "h0", "view", 2000),
                                         Status::InvalidArgument("expected a string").WithField("item"),
                                         Raw("u1", "h1", "teleport", 2001), Raw("u1", "h0", "view", 2000)};
  auto r = Ingest(batch);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 1u);
  EXPECT_EQ(r->duplicates, 1u);
  ASSERT_EQ(r->rejected.size(), 2u);
  EXPECT_EQ(r->rejected[0].index, 1u);
  EXPECT_EQ(r->rejected[0].field, "item");
  EXPECT_EQ(r->rejected[1].index, 2u);
  EXPECT_EQ(r->rejected[1].field, "action");
}

TEST_F(ServiceTest, AnAllOrNothingBatchWithARefusedRecordStoresNothing) {
  std::vector<Result<RawEvent>> batch = {Raw("u1", "h0", "view", 2000), Raw("u1", "h1", "teleport", 2001),
                                         Raw("u1", "h2", "view", 2002)};
  auto r = svc_->IngestEvents(batch, Service::BatchMode::kAllOrNothing);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 0u);
  ASSERT_EQ(r->rejected.size(), 1u);
  EXPECT_EQ(r->rejected[0].index, 1u);
  EXPECT_EQ(r->rejected[0].field, "action");
  EXPECT_EQ(svc_->GetUser("u1").status().reason(), "unknown_user") << "the valid records were not stored either";
  Open();
  EXPECT_EQ(svc_->GetUser("u1").status().reason(), "unknown_user") << "nor are they back after a restart";
  batch[1] = Raw("u1", "h1", "view", 2001);
  auto ok = svc_->IngestEvents(batch, Service::BatchMode::kAllOrNothing);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->accepted, 3u);
}

TEST_F(ServiceTest, IdsOutsideTheIdRuleAreRefusedAndStoredOnesStillReplay) {
  auto r = Ingest({Raw("a/b", "h0", "view", 2000), Raw(std::string("victim\0x", 8), "h0", "view", 2000),
                   Raw(std::string(300, 'u'), "h0", "view", 2000), Raw("u1", "h\x7f", "view", 2000)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 0u);
  ASSERT_EQ(r->rejected.size(), 4u);
  for (size_t k = 0; k < 4; ++k) EXPECT_NE(r->rejected[k].reason.find("bad id"), std::string::npos) << r->rejected[k].reason;
  EXPECT_EQ(r->rejected[3].field, "item");
  EXPECT_EQ(svc_->PutUserRecord("a/b", "{}").reason(), "bad_id");
  Item bad = testing::MakeItem("x\ny", "product", "t", {});
  EXPECT_EQ(svc_->PutItems({bad}).status().reason(), "bad_id");
  EXPECT_TRUE(svc_->GetItem("x\ny").status().code() == StatusCode::kNotFound);
  // A store written before the rule existed still opens, its ids replayed as they were.
  RawEvent legacy = Raw("old/user", "h0", "view", 2000).value();
  ASSERT_TRUE(store_->AppendEvents(svc_->GetStats().events, {&legacy, 1}).ok());
  Open();
  EXPECT_EQ(svc_->GetUser("old/user").value().events, 1u);
  EXPECT_EQ(Ingest({Raw("old/user", "h1", "view", 2001)})->rejected.size(), 1u) << "new writes follow the rule";
}

TEST_F(ServiceTest, LimitsAndUnknownsAreStatusesWithReasons) {
  opt_.max_batch = 2;
  Open();
  auto big = Ingest({Raw("u", "h0"), Raw("u", "h1"), Raw("u", "h2")});
  EXPECT_EQ(big.status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(big.status().reason(), "batch_too_large");
  RecommendRequest req;
  req.user = "u";
  req.n = 0;
  EXPECT_EQ(svc_->Recommend(req).status().reason(), "bad_parameter");
  req.n = 5;
  req.categories = {"Knitting"};
  EXPECT_EQ(svc_->Recommend(req).status().reason(), "unknown_category");
  EXPECT_EQ(svc_->Interests("nobody").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(svc_->Interests("nobody").status().reason(), "unknown_user");
  EXPECT_EQ(svc_->GetItem("nothing").status().reason(), "unknown_item");
  EXPECT_EQ(svc_->Retrain().status().code(), StatusCode::kNotImplemented);
  EXPECT_EQ(svc_->Feedback({"u", "r0", "stare", "", ""}).status().reason(), "bad_feedback");
}

TEST_F(ServiceTest, AFailedEventWriteIsNotAcknowledgedAndStopsWrites) {
  ASSERT_TRUE(Ingest({Raw("u1", "h0", "view", 2000)}).ok());
  faults_->FailNext(FaultStore::Op::kAppend);
  auto r = Ingest({Raw("u1", "h1", "view", 2001)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().reason(), "store_unavailable");
  EXPECT_FALSE(svc_->ready());
  auto after = Ingest({Raw("u1", "h2", "view", 2002)});
  EXPECT_EQ(after.status().reason(), "not_ready") << "no write is taken once the store failed";
  EXPECT_TRUE(svc_->GetUser("u1").ok()) << "reads go on";
  Open();
  auto ev = svc_->UserEvents("u1", 10);
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 1u) << "a restart has exactly the acknowledged event";
  EXPECT_EQ((*ev)[0].event.item, "h0");
}

TEST_F(ServiceTest, AFailedItemWriteLeavesTheCatalogueAsItWas) {
  Item it = testing::MakeItem("new1", "product", "a new tent", {"Hiking"});
  faults_->FailNext(FaultStore::Op::kPutItems);
  auto r = svc_->PutItems({it});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(svc_->GetItem("new1").status().reason(), "unknown_item");
  Open();
  EXPECT_EQ(svc_->PutItems({it}).value(), 1u);
  EXPECT_EQ(svc_->GetItem("new1").value().title, "a new tent");
}

TEST_F(ServiceTest, AFailedUserDeletionKeepsTheUser) {
  ASSERT_TRUE(Ingest({Raw("u1", "h0", "view", 2000)}).ok());
  faults_->FailNext(FaultStore::Op::kDeleteUser);
  EXPECT_EQ(svc_->DeleteUser("u1").status().code(), StatusCode::kUnavailable);
  Open();
  EXPECT_TRUE(svc_->GetUser("u1").ok());
  EXPECT_EQ(svc_->DeleteUser("u1").value(), 1u);
  EXPECT_EQ(svc_->GetUser("u1").status().reason(), "unknown_user");
  Open();
  EXPECT_EQ(svc_->GetUser("u1").status().reason(), "unknown_user") << "deleted for good";
}

TEST_F(ServiceTest, AStoreThatCannotBeReadRefusesToOpen) {
  svc_.reset();
  auto* f = new FaultStore(std::make_unique<StoreRef>(*store_));
  f->SetReadsFail(true);
  auto s = Service::Open(opt_, &seed_, std::unique_ptr<Store>(f));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
}

TEST_F(ServiceTest, ReadsSeeTheWriteThatWasAcknowledged) {
  uint64_t seq = svc_->ChangeSeq();
  ASSERT_TRUE(Ingest({Raw("u2", "h0", "view", 99990), Raw("u2", "h1", "like", 99995)}).ok());
  EXPECT_GT(svc_->ChangeSeq(), seq);
  EXPECT_GT(svc_->UserChangeSeq("u2"), seq);
  auto in = svc_->Interests("u2");
  ASSERT_TRUE(in.ok());
  ASSERT_FALSE(in->nodes.empty());
  EXPECT_EQ(in->nodes[0].id, "c:Hiking");
  RecommendRequest req;
  req.user = "u2";
  req.n = 3;
  auto rec = svc_->Recommend(req);
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE(rec->known_user);
  EXPECT_EQ(rec->response.items.size(), 3u);
  auto snap = svc_->Snapshot("u2", 3);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->events.size(), 2u);
}

// Keyword nodes name the categories they came from (the dashboard links them): "boots" is only in Hiking items,
// "1" in items of both topics.
TEST_F(ServiceTest, KeywordNodesNameTheCategoriesTheyCameFrom) {
  ASSERT_TRUE(Ingest({Raw("u3", "h0", "view", 99990), Raw("u3", "h1", "like", 99995)}).ok());
  auto in = svc_->Interests("u3");
  ASSERT_TRUE(in.ok());
  std::map<std::string, std::vector<std::pair<std::string, float>>> by;
  for (const auto& n : in->nodes)
    if (n.kind == "keyword") by[n.name] = n.categories;
    else EXPECT_TRUE(n.categories.empty()) << n.id;
  ASSERT_TRUE(by.count("boots"));
  ASSERT_EQ(by["boots"].size(), 1u);
  EXPECT_EQ(by["boots"][0].first, "c:Hiking");
  EXPECT_FLOAT_EQ(by["boots"][0].second, 1.0f);
  ASSERT_TRUE(by.count("1"));
  ASSERT_EQ(by["1"].size(), 2u);  // r1, pg1 (Trail running) and h1 (Hiking)
  EXPECT_EQ(by["1"][0].first, "c:Trail running");
  EXPECT_NEAR(by["1"][0].second, 2.0f / 3, 1e-6);
  EXPECT_EQ(by["1"][1].first, "c:Hiking");
  // The interest text knows whether the user is in a session (the page draws long-term weights when not).
  EXPECT_TRUE(in->summary.in_session);
  clock_->Set(100000 + 3600);
  EXPECT_FALSE(svc_->Interests("u3")->summary.in_session);
}

// The Models page says where the serving model came from: the --model directory, or a kept version's.
TEST_F(ServiceTest, ModelsSayWhereTheServingModelWasLoadedFrom) {
  EXPECT_EQ(svc_->Models().current_path, "");
  opt_.model_version = "ext-0123456789ab";
  opt_.model_path = "/srv/models/given";
  Open();
  ModelsInfo m = svc_->Models();
  EXPECT_EQ(m.current, "ext-0123456789ab");
  EXPECT_EQ(m.current_path, "/srv/models/given");
  EXPECT_TRUE(m.versions.empty()) << "a model given with --model is not a kept version";
}

TEST_F(ServiceTest, RetrainingRunsOneAtATimeAndRecordsItsOutcome) {
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  opt_.trainer = [&](const Dataset& snap, const std::string&) -> Result<TrainedModel> {
    EXPECT_EQ(snap.events.size(), 2u);
    std::unique_lock l(m);
    cv.wait(l, [&] { return release; });
    return Status::Internal("the test trainer always fails");
  };
  Open();
  auto v = svc_->Retrain();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "v1");
  EXPECT_EQ(svc_->Retrain().status().code(), StatusCode::kConflict);
  EXPECT_TRUE(svc_->Models().training);
  {
    std::lock_guard l(m);
    release = true;
  }
  cv.notify_all();
  for (int i = 0; i < 200 && svc_->Models().training; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ModelsInfo info = svc_->Models();
  EXPECT_FALSE(info.training);
  ASSERT_EQ(info.versions.size(), 1u);
  EXPECT_EQ(info.versions[0]["state"], "failed");
  EXPECT_EQ(info.current, "none") << "a failed version does not serve";
}

TEST_F(ServiceTest, OnlineFeedbackIsCountedPerStrategyAndVariant) {
  opt_.variants = {{"a", 1, {1, 1, 1, 1, 1, 1, 1}, -1}, {"b", 1, {1, 1, 1, 1, 1, 1, 1}, -1}};
  Open();
  auto fb = svc_->Feedback({"u9", "r0", "impression", "", ""});
  ASSERT_TRUE(fb.ok());
  EXPECT_EQ(fb->strategy, "unknown");
  EXPECT_FALSE(fb->variant.empty());
  ASSERT_TRUE(svc_->Feedback({"u9", "r0", "click", "session_intent", ""}).ok());
  OnlineStats s = svc_->Online();
  EXPECT_EQ(s.by_strategy["unknown"].impressions, 1u);
  EXPECT_EQ(s.by_strategy["session_intent"].clicks, 1u);
  EXPECT_EQ(s.by_variant[fb->variant].impressions + s.by_variant[fb->variant].clicks, 2u);
}

TEST_F(ServiceTest, GorseFeedbackTypesAreRegisteredDurablyBeforeTheirEvents) {
  auto before = Ingest({Raw("u9", "h0", "teleport", 2000)});
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->rejected.size(), 1u) << "unknown to the native path";
  ASSERT_TRUE(svc_->RegisterFeedbackTypes({"teleport", "buy", "like"}).ok());
  ASSERT_TRUE(Ingest({Raw("u9", "h0", "teleport", 2000), Raw("u9", "h1", "buy", 2001)}).value().rejected.empty());
  faults_->FailNext(FaultStore::Op::kMeta);
  EXPECT_EQ(svc_->RegisterFeedbackTypes({"warp"}).code(), StatusCode::kUnavailable);
  EXPECT_FALSE(svc_->ready()) << "a failed store write stops writes until a restart, as every other";
  Open();  // a restart replays the events under the registry kept in the store
  EXPECT_EQ(Ingest({Raw("u9", "h2", "warp", 2002)}).value().rejected.size(), 1u) << "not registered: it was not durable";
  auto ev = svc_->UserEvents("u9", 10);
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_EQ((*ev)[0].event.action, "buy");
  EXPECT_EQ((*ev)[1].event.action, "teleport");
  EXPECT_EQ(svc_->GetUser("u9").value().events, 2u);
}

TEST_F(ServiceTest, EventsBeyondTheClockErrorBoundAreRejected) {
  clock_->Set(1'800'000'000);
  opt_.max_future_s = 600;
  Open();
  auto r = Ingest({Raw("u1", "h0", "view", 1'800'000'000 + 599), Raw("u1", "h1", "view", 2'208'988'800)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 1u);
  ASSERT_EQ(r->rejected.size(), 1u);
  EXPECT_EQ(r->rejected[0].index, 1u);
  EXPECT_EQ(r->rejected[0].field, "ts");
  EXPECT_NE(r->rejected[0].reason.find("clock-error bound"), std::string::npos) << r->rejected[0].reason;
  auto pop = svc_->ItemList(Service::ListKind::kPopular, "", 5, 0);
  ASSERT_TRUE(pop.ok());
  EXPECT_GE(pop->size(), 2u) << "the seed's items keep their popularity";
}

TEST_F(ServiceTest, ImportedHistoryIsStoredInTimeOrder) {
  seed_ = testing::TwoTopicDataset();
  testing::Ev(seed_, "s", "r0", "view", 3000);
  testing::Ev(seed_, "s", "h0", "view", 1000);
  testing::Ev(seed_, "s", "r1", "view", 2000);
  store_ = NewMemoryStore();
  Open();
  std::vector<Timestamp> order;
  ASSERT_TRUE(store_->LoadEvents(0, [&](uint64_t, RawEvent&& e) { order.push_back(e.ts); }).ok());
  EXPECT_EQ(order, (std::vector<Timestamp>{1000, 2000, 3000}));
  auto in = svc_->Interests("s");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->nodes[0].id, "c:Trail running") << "the latest event (r0 at 3000) decides what is now";
}

TEST_F(ServiceTest, TheBlendIsFittedOnceStoredAndReloaded) {
  int fits = 0;
  BlendConfig fitted = BlendConfig::From(EngineConfig{});
  fitted.base[kSrcCovisit] = 7.5f;
  fitted.fitted = true;
  opt_.blend_fitter = [&](const Dataset& snap, const EngineConfig&) -> Result<BlendConfig> {
    ++fits;
    EXPECT_EQ(snap.events.size(), 2u);
    return fitted;
  };
  Open();
  EXPECT_EQ(fits, 1);
  ModelsInfo m = svc_->Models();
  EXPECT_EQ(m.blend["state"], "fitted");
  EXPECT_FLOAT_EQ(m.blend["config"]["base"]["covisit"].get<float>(), 7.5f);
  Open();
  EXPECT_EQ(fits, 1) << "a restart loads the stored blend without refitting";
  EXPECT_EQ(svc_->Models().blend["state"], "stored");
  EXPECT_FLOAT_EQ(svc_->Models().blend["config"]["base"]["covisit"].get<float>(), 7.5f);
  BlendConfig given = fitted;
  given.base[kSrcCovisit] = 0.25f;
  opt_.blend = given;
  Open();
  EXPECT_EQ(fits, 1);
  EXPECT_EQ(svc_->Models().blend["state"], "given");
  opt_.blend.reset();
  Open();
  EXPECT_FLOAT_EQ(svc_->Models().blend["config"]["base"]["covisit"].get<float>(), 0.25f) << "the given blend was kept";
}

TEST_F(ServiceTest, AFailedFitLeavesTheBuiltInBlendServing) {
  opt_.blend_fitter = [](const Dataset&, const EngineConfig&) -> Result<BlendConfig> {
    return Status::FailedPrecondition("no user has enough events to evaluate");
  };
  Open();
  ModelsInfo m = svc_->Models();
  EXPECT_EQ(m.blend["state"], "failed");
  EXPECT_NE(m.blend["error"].get<std::string>().find("enough events"), std::string::npos);
  RecommendRequest req;
  req.user = "seed";
  req.n = 2;
  EXPECT_TRUE(svc_->Recommend(req).ok());
}

// Waits for the background training to end.
void WaitTrained(Service& svc) {
  for (int i = 0; i < 500 && svc.Models().training; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_FALSE(svc.Models().training);
}

std::string StateOf(const ModelsInfo& m, const std::string& version) {
  for (const auto& v : m.versions)
    if (v.value("version", "") == version) return v.value("state", "");
  return "absent";
}

TEST_F(ServiceTest, AWorseVersionIsKeptAsACandidateAndCanBePromotedByHand) {
  std::vector<double> figures = {0.20, 0.15, 0.199};
  size_t next = 0;
  opt_.registry.tolerance = 0.01;
  opt_.trainer = [&](const Dataset&, const std::string& dir) -> Result<TrainedModel> {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/model.json") << "{}";  // what the registry looks for; the loader below ignores it
    return TrainedModel{EmptyFactory(), {{"val_ndcg@10", figures[next++]}}};
  };
  int loads = 0;
  opt_.model_loader = [&](const std::string&) -> Result<SourceFactory> {
    ++loads;
    return EmptyFactory();
  };
  Open();
  ASSERT_EQ(svc_->Retrain().value(), "v1");
  WaitTrained(*svc_);
  EXPECT_EQ(svc_->Models().current, "v1") << "nothing served: the first version is promoted";
  EXPECT_EQ(svc_->Models().current_path, opt_.models_dir + "/v1");
  EXPECT_EQ(svc_->Retrain().status().reason(), "no_new_events");
  ASSERT_TRUE(Ingest({Raw("u5", "h0", "view", 5000)}).ok());
  ASSERT_EQ(svc_->Retrain().value(), "v2");
  WaitTrained(*svc_);
  ModelsInfo m = svc_->Models();
  EXPECT_EQ(m.current, "v1") << "0.15 is worse than 0.20";
  EXPECT_EQ(StateOf(m, "v2"), "candidate");
  ASSERT_TRUE(Ingest({Raw("u5", "h1", "view", 5001)}).ok());
  ASSERT_EQ(svc_->Retrain().value(), "v3");
  WaitTrained(*svc_);
  EXPECT_EQ(svc_->Models().current, "v3") << "0.199 is within 1% of 0.20";
  EXPECT_EQ(StateOf(svc_->Models(), "v1"), "retired");
  // Rollback to v1, and the candidate v2 by hand; unknown versions are refused.
  ASSERT_TRUE(svc_->PromoteVersion("v1").ok());
  EXPECT_EQ(svc_->Models().current, "v1");
  EXPECT_EQ(StateOf(svc_->Models(), "v3"), "retired");
  ASSERT_TRUE(svc_->PromoteVersion("v2").ok());
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(svc_->PromoteVersion("v9").reason(), "unknown_version");
  // The promotion survives a restart: `current` names it.
  EXPECT_EQ(ModelRegistry::ReadCurrent(opt_.models_dir).value_or(""), "v2");
}

// A model slot with room for `room` users' states: records which users the background pass prepares, in order.
class PreparingSource final : public CandidateSource {
 public:
  PreparingSource(const Dataset& ds, size_t room, std::shared_ptr<std::vector<std::string>> log)
      : ds_(ds), room_(room), log_(std::move(log)) {}
  std::string_view name() const override { return "model"; }
  void Observe(const Event&, const UserState&) override {}
  void Generate(const RetrievalContext&, ScoreBuffer&) const override {}
  size_t MemoryBytes() const override { return 0; }
  bool Prepare(UserIdx u) const override {
    std::lock_guard l(mu_);
    if (log_->size() >= room_) return false;
    log_->push_back(ds_.users.Name(u.v));
    return true;
  }

 private:
  const Dataset& ds_;
  size_t room_;
  std::shared_ptr<std::vector<std::string>> log_;
  mutable std::mutex mu_;
};

bool WaitPrepared(Service& svc) {
  for (int i = 0; i < 500 && !svc.GetStats().model_prepare_done; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return svc.GetStats().model_prepare_done;
}

TEST_F(ServiceTest, ModelStatesArePreparedMostRecentFirstAfterAStartAndASwap) {
  auto log = std::make_shared<std::vector<std::string>>();
  std::mutex log_mu;
  auto factory = [&](size_t room) -> SourceFactory {
    return [&, room](const Dataset& d, const InterestStore&) -> std::unique_ptr<CandidateSource> {
      std::lock_guard l(log_mu);
      log->clear();  // a new source: a new pass
      return std::make_unique<PreparingSource>(d, room, log);
    };
  };
  opt_.engine.model_source = factory(3);
  opt_.model_loader = [&](const std::string&) -> Result<SourceFactory> { return factory(2); };
  Open();
  ASSERT_TRUE(Ingest({Raw("pa", "r0", "view", 4000), Raw("pb", "r1", "view", 4001), Raw("pc", "h0", "view", 4002),
                      Raw("pa", "r2", "view", 4003)})
                  .ok());
  Open();  // a restart: the pass starts over the replayed events, the newest user first, until the room is used
  ASSERT_TRUE(WaitPrepared(*svc_));
  EXPECT_EQ(*log, (std::vector<std::string>{"pa", "pc", "pb"}));
  EXPECT_EQ(svc_->GetStats().model_prepared_users, 3u);
  // A model swap: a new source, a new pass over the same order.
  opt_.trainer = [&](const Dataset&, const std::string& dir) -> Result<TrainedModel> {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/model.json") << "{}";
    return TrainedModel{factory(2), {{"val_ndcg@10", 0.5}}};
  };
  Open();
  ASSERT_TRUE(WaitPrepared(*svc_));
  ASSERT_EQ(svc_->Retrain().value(), "v1");
  WaitTrained(*svc_);
  ASSERT_EQ(svc_->Models().current, "v1");
  for (int i = 0; i < 500 && svc_->GetStats().model_prepared_users != 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(WaitPrepared(*svc_));
  EXPECT_EQ(*log, (std::vector<std::string>{"pa", "pc"}));
  // Off: nothing is prepared.
  opt_.model_prepare = false;
  Open();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(log->empty());
  EXPECT_FALSE(svc_->GetStats().model_prepare_done);
}

TEST_F(ServiceTest, OnlyTheNewestVersionsAreKeptOnDisk) {
  opt_.registry.keep = 2;
  opt_.trainer = [&](const Dataset&, const std::string& dir) -> Result<TrainedModel> {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/model.json") << "{}";
    return TrainedModel{EmptyFactory(), nlohmann::json{{"val_ndcg@10", 0.1}}};
  };
  Open();
  for (int k = 0; k < 4; ++k) {
    ASSERT_TRUE(Ingest({Raw("u6", k % 2 ? "h0" : "h1", "view", 6000 + k)}).ok());
    ASSERT_TRUE(svc_->Retrain().ok());
    WaitTrained(*svc_);
  }
  ModelsInfo m = svc_->Models();
  EXPECT_EQ(m.current, "v4");
  ASSERT_EQ(m.versions.size(), 2u);
  EXPECT_EQ(m.versions[0]["version"], "v3");
  EXPECT_FALSE(std::filesystem::exists(opt_.models_dir + "/v1"));
  EXPECT_FALSE(std::filesystem::exists(opt_.models_dir + "/v2"));
  EXPECT_TRUE(std::filesystem::exists(opt_.models_dir + "/v4/version.json"));
}

TEST_F(ServiceTest, OnlineCountsAreDurableAndTheDashboardsAreApart) {
  ASSERT_TRUE(svc_->Feedback({"u1", "r0", "impression", "session_intent", "", "covisit", ""}).ok());
  ASSERT_TRUE(svc_->Feedback({"u1", "r0", "click", "session_intent", "", "covisit", ""}).ok());
  ASSERT_TRUE(svc_->Feedback({"u1", "r1", "impression", "stable_taste", "", "popular", "dashboard"}).ok());
  EXPECT_EQ(svc_->Feedback({"u1", "r1", "click", "", "", "", "robot"}).status().reason(), "bad_feedback");
  EXPECT_EQ(svc_->Feedback({"u1", std::string("r\x1f" "1"), "click", "", "", "", ""}).status().reason(), "bad_id")
      << "an item id holding the counters' separator is refused (the id rule), not counted and lost on restart";
  faults_->FailNext(FaultStore::Op::kCounters);
  EXPECT_EQ(svc_->Feedback({"u1", "r0", "conversion", "session_intent", "", "covisit", ""}).status().reason(),
            "store_unavailable");
  Open();  // a restart reads the counts back
  OnlineStats clients = svc_->Online("client"), dash = svc_->Online("dashboard");
  EXPECT_EQ(clients.by_strategy["session_intent"].impressions, 1u);
  EXPECT_EQ(clients.by_strategy["session_intent"].clicks, 1u);
  EXPECT_EQ(clients.by_strategy["session_intent"].conversions, 0u) << "the refused conversion was not counted";
  EXPECT_EQ(clients.by_source["covisit"].clicks, 1u);
  EXPECT_EQ(clients.by_strategy.count("stable_taste"), 0u) << "the dashboard's impression is not a client's";
  EXPECT_EQ(dash.by_strategy["stable_taste"].impressions, 1u);
  EXPECT_EQ(svc_->ItemOnline("r0").clicks, 1u);
  EXPECT_EQ(clients.items, 1u);
}

TEST_F(ServiceTest, OnlineAdaptationScalesSourcesByTheirClickThroughWithinBounds) {
  opt_.adapt.enabled = true;
  opt_.adapt.min_impressions = 100;
  opt_.adapt.prior = 10;
  Open();
  RecommendRequest req;
  req.user = "seed";
  req.n = 2;
  auto before = svc_->Recommend(req);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->scale[kSrcCovisit], 1.0f) << "too little feedback: nothing changes";
  EXPECT_EQ(before->weights_from.back(), "online");
  for (int k = 0; k < 100; ++k) {
    ASSERT_TRUE(svc_->Feedback({"u", "r0", "impression", "", "", "covisit", ""}).ok());
    ASSERT_TRUE(svc_->Feedback({"u", "r1", "impression", "", "", "popular", ""}).ok());
    if (k % 2 == 0) ASSERT_TRUE(svc_->Feedback({"u", "r0", "click", "", "", "covisit", ""}).ok());
    if (k % 50 == 0) ASSERT_TRUE(svc_->Feedback({"u", "r1", "click", "", "", "popular", ""}).ok());
  }
  auto after = svc_->Recommend(req);
  ASSERT_TRUE(after.ok());
  EXPECT_GT(after->scale[kSrcCovisit], 1.0f);
  EXPECT_LE(after->scale[kSrcCovisit], 2.0f);
  EXPECT_LT(after->scale[kSrcPopular], 1.0f);
  EXPECT_GE(after->scale[kSrcPopular], 0.5f) << "the floor: no source starves";
  // Dashboard traffic does not move the weights.
  for (int k = 0; k < 200; ++k) ASSERT_TRUE(svc_->Feedback({"u", "r1", "click", "", "", "popular", "dashboard"}).ok());
  EXPECT_EQ(svc_->Recommend(req)->scale[kSrcPopular], after->scale[kSrcPopular]);
  opt_.adapt.enabled = false;
  Open();
  auto off = svc_->Recommend(req);
  EXPECT_EQ(off->scale[kSrcCovisit], 1.0f) << "switched off: the fitted weights serve as they are";
  EXPECT_EQ(off->weights_from.size(), 2u);
}

}  // namespace
}  // namespace vane

namespace vane {
namespace {

// Runs `f` on another thread; true when it finished within `ms` (the thread is joined either way by the caller's
// release of whatever holds it).
template <typename F>
bool FinishesWithin(F f, int ms, std::future<void>& fut) {
  fut = std::async(std::launch::async, std::move(f));
  return fut.wait_for(std::chrono::milliseconds(ms)) == std::future_status::ready;
}

class ServiceWritePathTest : public ServiceTest {
 protected:
  void OpenHeld() {
    svc_.reset();
    held_ = new HeldStore(*store_);
    auto s = Service::Open(opt_, &seed_, std::unique_ptr<Store>(held_));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    svc_ = std::move(s.value());
  }
  HeldStore* held_ = nullptr;  // owned by the service
};

TEST_F(ServiceWritePathTest, ReadsDoNotWaitForAWriteThatWaitsForTheDisk) {
  OpenHeld();
  ASSERT_TRUE(Ingest({Raw("u1", "h0", "view", 2000)}).ok());
  held_->Hold();
  std::future<Result<IngestResult>> write =
      std::async(std::launch::async, [&] { return Ingest({Raw("u1", "h1", "view", 2001)}); });
  ASSERT_TRUE(held_->WaitEntered(1));
  std::future<void> read;
  const bool answered = FinishesWithin(
      [&] {
        RecommendRequest req;
        req.user = "u1";
        req.n = 3;
        EXPECT_TRUE(svc_->Recommend(req).ok());
        EXPECT_EQ(svc_->GetUser("u1").value().events, 1u) << "the write in flight is not visible before it is durable";
      },
      5000, read);
  held_->Release();
  read.wait();
  EXPECT_TRUE(answered) << "a read waited for the disk";
  auto w = write.get();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(svc_->GetUser("u1").value().events, 2u) << "answered only once applied (read-your-writes)";
}

TEST_F(ServiceWritePathTest, ConcurrentBatchesCommitTogetherAndRestartInTheSameOrder) {
  faults_->SetWriteDelay(std::chrono::milliseconds(2));  // batches overlap at the store
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 8; ++w)
    writers.emplace_back([&, w] {
      for (int b = 0; b < 20; ++b) {
        std::vector<Result<RawEvent>> batch;
        for (int k = 0; k < 5; ++k)
          batch.push_back(Raw("w" + std::to_string(w), (k % 2 ? "h" : "r") + std::to_string((b + k) % 5), "view",
                              2000 + b * 10 + k));
        auto r = Ingest(batch);
        if (!r.ok() || r->accepted != 5) ++failures;
      }
    });
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto before = svc_->GetStats();
  EXPECT_EQ(before.events, 2u + 8 * 20 * 5);
  Open();
  EXPECT_EQ(svc_->GetStats().events, before.events);
  for (int w = 0; w < 8; ++w) {
    auto ev = svc_->UserEvents("w" + std::to_string(w), 1000);
    ASSERT_TRUE(ev.ok());
    ASSERT_EQ(ev->size(), 100u);
    for (size_t i = 1; i < ev->size(); ++i) EXPECT_GT((*ev)[i - 1].seq, (*ev)[i].seq);
  }
}

TEST_F(ServiceWritePathTest, AFailedWriteLeavesMemoryEqualToTheStore) {
  ASSERT_TRUE(Ingest({Raw("u1", "h0", "view", 2000)}).ok());
  faults_->FailNext(FaultStore::Op::kAppend);
  auto r = Ingest({Raw("u1", "h1", "view", 2001), Raw("newcomer", "r2", "view", 2002)});
  ASSERT_FALSE(r.ok());
  for (int i = 0; i < 500 && svc_->GetStats().rebuilds == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(svc_->GetStats().rebuilds, 1u) << "the state was reloaded from the store";
  EXPECT_EQ(svc_->GetStats().events, 3u) << "the seed's 2 and the acknowledged one, nothing of the failed batch";
  EXPECT_EQ(svc_->GetUser("u1").value().events, 1u);
  RecommendRequest req;
  req.user = "newcomer";
  req.n = 3;
  EXPECT_FALSE(svc_->Recommend(req).value().known_user) << "a user of the failed batch only is not known";
  EXPECT_FALSE(svc_->ready()) << "writes stay refused until a restart";
}

TEST_F(ServiceWritePathTest, DeletionForgetsAtOnceAndTakesTheUserOutOfSharedStatistics) {
  // Only u1 views r4: its popularity comes from u1 alone.
  ASSERT_TRUE(Ingest({Raw("u1", "r4", "view", 2000), Raw("u1", "r3", "like", 2001), Raw("u2", "h0", "view", 2002)}).ok());
  auto popular = [&] {
    std::vector<std::string> ids;
    auto list = svc_->ItemList(Service::ListKind::kPopular, "", 20, 0);
    EXPECT_TRUE(list.ok());
    for (const auto& s : *list) ids.push_back(s.id);
    return ids;
  };
  auto has = [](const std::vector<std::string>& v, const char* id) { return std::find(v.begin(), v.end(), id) != v.end(); };
  ASSERT_TRUE(has(popular(), "r4"));
  EXPECT_EQ(svc_->DeleteUser("u1").value(), 2u);
  EXPECT_EQ(svc_->GetUser("u1").status().reason(), "unknown_user") << "forgotten at once";
  EXPECT_EQ(svc_->Interests("u1").status().reason(), "unknown_user");
  auto users = svc_->ListUsers("", 100);
  ASSERT_TRUE(users.ok());
  for (const auto& u : *users) EXPECT_NE(u.id, "u1");
  ASSERT_TRUE(svc_->WaitForRebuild(std::chrono::seconds(20)));
  EXPECT_FALSE(has(popular(), "r4")) << "u1's views are out of the popularity after the rebuild";
  EXPECT_GE(svc_->GetStats().rebuilds, 1u);
  EXPECT_EQ(svc_->GetUser("u2").value().events, 1u);
  ASSERT_TRUE(Ingest({Raw("u2", "h1", "view", 2003)}).ok()) << "writes go on after the swap";
  EXPECT_EQ(svc_->GetUser("u2").value().events, 2u);
  Open();
  EXPECT_EQ(svc_->GetUser("u1").status().reason(), "unknown_user");
  EXPECT_EQ(svc_->GetUser("u2").value().events, 2u);
}

TEST_F(ServiceWritePathTest, ReadsDoNotWaitForADeletionThatWaitsForTheDisk) {
  OpenHeld();
  ASSERT_TRUE(Ingest({Raw("u1", "h0", "view", 2000), Raw("u2", "h1", "view", 2001)}).ok());
  held_->Hold();
  std::future<Result<uint64_t>> del = std::async(std::launch::async, [&] { return svc_->DeleteUser("u1"); });
  ASSERT_TRUE(held_->WaitEntered(1));
  std::future<void> read;
  const bool answered = FinishesWithin([&] { EXPECT_TRUE(svc_->GetUser("u2").ok()); }, 5000, read);
  held_->Release();
  read.wait();
  EXPECT_TRUE(answered) << "a read waited for a deletion's disk write";
  EXPECT_EQ(del.get().value(), 1u);
}

TEST_F(ServiceWritePathTest, RemovingSomeFeedbackKeepsTheRestInPlaceInOneWrite) {
  ASSERT_TRUE(svc_->PutUserRecord("u1", R"({"Labels":["a"]})").ok());
  ASSERT_TRUE(Ingest({Raw("u1", "r4", "view", 2000), Raw("u2", "r4", "view", 2001), Raw("u1", "r3", "like", 2002),
                      Raw("u1", "r4", "like", 2003)})
                  .ok());
  auto before = svc_->UserEvents("u1", 10);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 3u);
  // The kept events must not be written again: an append failing now would lose them (the earlier way deleted the
  // user and wrote the rest back).
  faults_->FailNext(FaultStore::Op::kAppend);
  auto n = svc_->DeleteUserEvents("u1", [](const RawEvent& e) { return e.item == "r4"; });
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2u);
  EXPECT_TRUE(svc_->ready());
  EXPECT_EQ(faults_->injected(), 0u) << "nothing was appended";
  faults_->FailNext(FaultStore::Op::kAppend, -1);  // disarmed
  auto after = svc_->UserEvents("u1", 10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ(after->front().event.item, "r3");
  const auto same = std::find_if(before->begin(), before->end(), [](const UserEvent& e) { return e.event.item == "r3"; });
  EXPECT_EQ(after->front().seq, same->seq) << "the kept event keeps its log position";
  EXPECT_EQ(svc_->GetUserRecord("u1").value(), R"({"Labels":["a"]})");
  auto on_r4 = svc_->ItemEvents("r4", 10);
  ASSERT_TRUE(on_r4.ok());
  ASSERT_EQ(on_r4->size(), 1u) << "hidden at once, before the rebuild";
  EXPECT_EQ(on_r4->front().user, "u2");
  EXPECT_EQ(svc_->DeleteUserEvents("u1", [](const RawEvent& e) { return e.item == "r4"; }).status().reason(),
            "unknown_feedback");
  ASSERT_TRUE(svc_->WaitForRebuild(std::chrono::seconds(20)));
  EXPECT_EQ(svc_->GetUser("u1").value().events, 1u) << "the interest state after the rebuild";
  ASSERT_TRUE(Ingest({Raw("u1", "r2", "view", 2004)}).ok());
  EXPECT_EQ(svc_->GetUser("u1").value().events, 2u);
  Open();
  EXPECT_EQ(svc_->GetUser("u1").value().events, 2u);
  EXPECT_EQ(svc_->ItemEvents("r4", 10).value().size(), 1u);
}

TEST_F(ServiceWritePathTest, FeedbackRemovalNeverTouchesEventsWrittenMeanwhile) {
  ASSERT_TRUE(Ingest({Raw("u1", "r4", "view", 2000), Raw("u1", "r3", "view", 2001)}).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0};
  std::thread writer([&] {
    for (int k = 0; !stop && k < 900; ++k)
      if (Ingest({Raw("u1", "h" + std::to_string(k % 5), "view", 3000 + k)}).ok()) ++acked;
  });
  while (acked == 0) std::this_thread::yield();
  for (int k = 0; k < 20; ++k) {
    ASSERT_TRUE(Ingest({Raw("u1", "r4", "like", 2100 + k)}).ok());
    ASSERT_TRUE(svc_->DeleteUserEvents("u1", [](const RawEvent& e) { return e.item == "r4"; }).ok());
  }
  stop = true;
  writer.join();
  auto events = svc_->UserEvents("u1", 1000);
  ASSERT_TRUE(events.ok());
  size_t written = 0;
  for (const UserEvent& e : *events) {
    EXPECT_NE(e.event.item, "r4");
    written += e.event.item.starts_with("h");
  }
  // Duplicates (same user, item, action and time) are refused by the cleaner; every write here differs in time.
  EXPECT_EQ(written, static_cast<size_t>(acked.load())) << "an acknowledged event of the user was lost";
  ASSERT_TRUE(svc_->WaitForRebuild(std::chrono::seconds(20)));
  EXPECT_EQ(svc_->GetUser("u1").value().events, written + 1);
}

TEST_F(ServiceWritePathTest, UsersDeletedDuringARebuildStayDeleted) {
  ASSERT_TRUE(Ingest({Raw("a", "h0", "view", 2000), Raw("b", "h1", "view", 2001), Raw("c", "h2", "view", 2002)}).ok());
  ASSERT_TRUE(svc_->DeleteUser("a").ok());
  ASSERT_TRUE(svc_->DeleteUser("b").ok());  // may land while the rebuild for "a" loads
  ASSERT_TRUE(svc_->WaitForRebuild(std::chrono::seconds(20)));
  EXPECT_EQ(svc_->GetUser("a").status().reason(), "unknown_user");
  EXPECT_EQ(svc_->GetUser("b").status().reason(), "unknown_user");
  EXPECT_TRUE(svc_->GetUser("c").ok());
}

}  // namespace
}  // namespace vane

namespace vane {
namespace {

// Snapshots ---------------------------------------------------------------------------------------------------------

class ServiceSnapshotTest : public ServiceTest {
 protected:
  void SetUp() override {
    snap_dir_ = (std::filesystem::temp_directory_path() / ("vane_service_snap_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(snap_dir_);
    opt_.snapshot_dir = snap_dir_;
    ServiceTest::SetUp();
  }
  void TearDown() override {
    ServiceTest::TearDown();
    std::filesystem::remove_all(snap_dir_);
  }
  std::vector<SnapshotEntry> Snapshots() const { return SnapshotDir(snap_dir_).List(); }
  // Events of twelve users over both topics, times from `t`.
  void Traffic(Timestamp t, int round) {
    std::vector<Result<RawEvent>> batch;
    for (int u = 0; u < 12; ++u)
      for (int k = 0; k < 4; ++k)
        batch.push_back(Raw("u" + std::to_string(u), ((u + k + round) % 3 ? "r" : "h") + std::to_string((u * 7 + k + round) % 5),
                            k == 3 && u % 4 == 0 ? "purchase" : "view", t + u * 10 + k));
    auto r = Ingest(batch);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->accepted, batch.size());
  }
  // What a client sees: recommendations and interests of every user, the popular list.
  std::string Answers() {
    std::string out;
    for (int u = 0; u < 14; ++u) {
      RecommendRequest req;
      req.user = "u" + std::to_string(u);
      req.n = 8;
      auto r = svc_->Recommend(req);
      if (!r.ok()) {
        out += req.user + ": " + r.status().ToString() + "\n";
        continue;
      }
      out += req.user + " " + StrategyName(r->response.strategy) + ":";
      for (const auto& x : r->response.items) out += fmt::format(" {}={:.6g}", x.id, x.score);
      auto in = svc_->Interests(req.user);
      if (in.ok())
        for (const auto& n : in->nodes) out += fmt::format(" [{} {:.6g} {:.6g}]", n.id, n.s, n.l);
      out += "\n";
    }
    auto pop = svc_->ItemList(Service::ListKind::kPopular, "", 20, 0);
    for (const auto& x : pop.value()) out += fmt::format("{}={:.6g} ", x.id, x.score);
    return out + fmt::format("\nevents {} users {} items {}", svc_->GetStats().events, svc_->GetStats().users,
                             svc_->GetStats().items);
  }

  std::string snap_dir_;
};

TEST_F(ServiceSnapshotTest, ARestartFromASnapshotAndTheTailAnswersAsAFullReplay) {
  Traffic(2000, 0);
  auto written = svc_->SnapshotNow();
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(Snapshots().size(), 1u);
  EXPECT_EQ(Snapshots()[0].seq, 2u + 48);
  // The tail: more events, an item written after the snapshot, another named only by an event, a changed item.
  ASSERT_TRUE(svc_->PutItems({testing::MakeItem("z9", "product", "trail running vest", {"Trail running"})}).ok());
  Item h2 = svc_->GetItem("h2").value();
  h2.available = false;
  ASSERT_TRUE(svc_->DeleteItem("h2").ok());
  Traffic(5000, 1);
  ASSERT_TRUE(Ingest({Raw("u3", "z9", "view", 6000), Raw("u4", "q1", "view", 6001), Raw("u5", "z9", "purchase", 6002)}).ok());
  Open();
  auto st = svc_->GetStats();
  EXPECT_EQ(st.snapshot_loaded_seq, 50u) << "restarted from the snapshot";
  EXPECT_EQ(st.replayed_events, 48u + 3) << "only the tail was replayed";
  const std::string from_snapshot = Answers();
  EXPECT_FALSE(svc_->GetItem("h2").value().available) << "an item write after the snapshot is not lost";
  std::filesystem::remove_all(snap_dir_);
  Open();
  EXPECT_EQ(svc_->GetStats().snapshot_loaded_seq, 0u) << "no snapshot: a full replay";
  EXPECT_EQ(Answers(), from_snapshot);
}

TEST_F(ServiceSnapshotTest, ACorruptSnapshotIsIgnoredWithAWarningAndTheLogReplayed) {
  Traffic(2000, 0);
  ASSERT_TRUE(svc_->SnapshotNow().ok());
  Traffic(5000, 1);
  const std::string path = Snapshots().at(0).path;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(path) / 2));
    f.put('\x5a');
  }
  ::testing::internal::CaptureStderr();
  Open();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("warning: snapshot " + path + " ignored"), std::string::npos) << err;
  EXPECT_NE(err.find("checksum"), std::string::npos) << err;
  EXPECT_EQ(svc_->GetStats().snapshot_loaded_seq, 0u);
  EXPECT_EQ(svc_->GetStats().events, 2u + 96);
  const std::string replayed = Answers();
  std::filesystem::remove_all(snap_dir_);
  Open();
  EXPECT_EQ(Answers(), replayed);
}

TEST_F(ServiceSnapshotTest, ASnapshotTakenUnderAnotherConfigurationIsIgnored) {
  Traffic(2000, 0);
  ASSERT_TRUE(svc_->SnapshotNow().ok());
  opt_.history_per_user = 3;  // shapes the stored histories: the snapshot's state is not this configuration's
  ::testing::internal::CaptureStderr();
  Open();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("ignored: failed_precondition: taken under another configuration"), std::string::npos) << err;
  EXPECT_EQ(svc_->GetStats().snapshot_loaded_seq, 0u);
  EXPECT_EQ(svc_->GetStats().replayed_events, 50u);
}

TEST_F(ServiceSnapshotTest, ASnapshotOfAnotherStoreIsIgnored) {
  Traffic(2000, 0);
  ASSERT_TRUE(svc_->SnapshotNow().ok());
  svc_.reset();
  store_ = NewMemoryStore();  // a store made anew beside the old snapshots, soon as long as the snapshot's log
  Open();
  Traffic(3000, 1);
  ::testing::internal::CaptureStderr();
  Open();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("taken of another store"), std::string::npos) << err;
  EXPECT_EQ(svc_->GetStats().snapshot_loaded_seq, 0u);
  EXPECT_EQ(svc_->GetStats().events, 50u);
}

TEST_F(ServiceSnapshotTest, ADeletedUserIsNotBackAfterARestartFromAnEarlierSnapshot) {
  Traffic(2000, 0);
  ASSERT_TRUE(svc_->SnapshotNow().ok());
  ASSERT_EQ(Snapshots().size(), 1u);
  ASSERT_TRUE(svc_->DeleteUser("u3").ok());
  EXPECT_TRUE(Snapshots().empty()) << "every snapshot holding the user is gone before the deletion is answered";
  Open();  // a restart right after the deletion: nothing to load but the log
  EXPECT_EQ(svc_->GetUser("u3").status().reason(), "unknown_user");
  EXPECT_EQ(svc_->Interests("u3").status().reason(), "unknown_user");
  ASSERT_TRUE(svc_->SnapshotNow().ok());  // a snapshot taken after the deletion does not hold the user either
  Open();
  EXPECT_EQ(svc_->GetStats().snapshot_loaded_seq, 50u);
  EXPECT_EQ(svc_->GetUser("u3").status().reason(), "unknown_user");
  auto users = svc_->ListUsers("u3", 10);
  ASSERT_TRUE(users.ok());
  EXPECT_TRUE(users->empty());
  EXPECT_TRUE(svc_->GetUser("u4").ok());
}

TEST_F(ServiceSnapshotTest, RemovedFeedbackIsNotBackAfterARestartFromASnapshot) {
  Traffic(2000, 0);
  ASSERT_TRUE(Ingest({Raw("fb", "h1", "like", 5000), Raw("fb", "h2", "like", 5001)}).ok());
  faults_->SetReadDelay(std::chrono::milliseconds(500));  // the rebuild reads the log slowly: it stays pending
  ASSERT_TRUE(svc_->DeleteUserEvents("fb", [](const RawEvent& e) { return e.item == "h1"; }).ok());
  auto snap = svc_->SnapshotNow();
  ASSERT_FALSE(snap.ok()) << "a snapshot of the state that still holds the removed event";
  EXPECT_EQ(snap.status().reason(), "rebuild_pending");
  Open();  // at once (the stop's own snapshot is refused for the same reason): the log is replayed
  auto events = svc_->ItemEvents("h1", 1000);
  ASSERT_TRUE(events.ok());
  for (const RawEvent& e : *events) EXPECT_NE(e.user, "fb") << "the removed event came back";
  EXPECT_EQ(svc_->ItemEvents("h2", 1000).value().front().user, "fb");
}

TEST_F(ServiceSnapshotTest, SnapshotsAreWrittenEveryNEventsAndTheNewestTwoKept) {
  opt_.snapshot_every_events = 40;
  Open();
  for (int round = 0; round < 4; ++round) {
    Traffic(2000 + round * 1000, round);
    // Written in the background, the oldest removed after the newest is in place: wait for both.
    for (int i = 0; i < 500 && (Snapshots().empty() || Snapshots()[0].seq < svc_->GetStats().events || Snapshots().size() > 2);
         ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_FALSE(Snapshots().empty());
    EXPECT_EQ(Snapshots()[0].seq, svc_->GetStats().events) << "round " << round;
  }
  EXPECT_EQ(Snapshots().size(), 2u);
  const std::string live = Answers();
  Open();
  EXPECT_EQ(svc_->GetStats().snapshot_loaded_seq, 2u + 4 * 48);
  EXPECT_EQ(svc_->GetStats().replayed_events, 0u);
  EXPECT_EQ(Answers(), live);
}

TEST_F(ServiceSnapshotTest, NoSnapshotsWithoutAFolder) {
  opt_.snapshot_dir.clear();
  Open();
  Traffic(2000, 0);
  EXPECT_EQ(svc_->SnapshotNow().status().code(), StatusCode::kNotImplemented);
  EXPECT_TRUE(Snapshots().empty());
}

TEST_F(ServiceTest, ADeletionAllowsARetrainingWithoutTheUserAlsoAfterARestart) {
  size_t trained_events = 0;
  opt_.trainer = [&](const Dataset& snap, const std::string& dir) -> Result<TrainedModel> {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/model.json") << "{}";
    trained_events = snap.events.size();
    return TrainedModel{EmptyFactory(), {{"val_ndcg@10", 0.2}}};
  };
  Open();
  ASSERT_TRUE(Ingest({Raw("gone", "h0", "view", 5000), Raw("stays", "h1", "view", 5001)}).ok());
  ASSERT_TRUE(svc_->Retrain().ok());
  WaitTrained(*svc_);
  EXPECT_EQ(trained_events, 4u);
  ASSERT_EQ(svc_->Retrain().status().reason(), "no_new_events");
  ASSERT_TRUE(svc_->DeleteUser("gone").ok());
  Open();  // the permission survives a restart
  ASSERT_TRUE(svc_->Retrain().ok()) << "the deletion allows a retraining without the user";
  WaitTrained(*svc_);
  EXPECT_EQ(trained_events, 3u) << "the deleted user's event is not trained on";
}

}  // namespace
}  // namespace vane

namespace vane {
namespace {

// A version published by another cluster node keeps its name where this registry has not passed it.
TEST(ModelRegistryNames, APublishedNameIsKeptWhenNotBehind) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("vane_registry_names_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  ModelRegistry reg(dir, {});
  EXPECT_EQ(reg.Reserve(), "v1");
  EXPECT_EQ(reg.Reserve("v5"), "v5");
  EXPECT_EQ(reg.Reserve(), "v6");
  EXPECT_EQ(reg.Reserve("v3"), "v7") << "behind this registry: the next name";
  EXPECT_EQ(reg.Reserve("x9"), "v8");
  EXPECT_EQ(reg.Reserve("v99999999999"), "v9") << "too long: refused";
  EXPECT_EQ(reg.Reserve("v0"), "v10");
  EXPECT_EQ(reg.Reserve(""), "v11");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vane
