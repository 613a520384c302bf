// State snapshots: the binary writer and reader, the snapshot file (checksum, atomic replacement), and each
// class's Save/Load round trip: a loaded copy answers as the original and goes on to behave as it does.
#include "vane/core/binary_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "test_util.h"
#include "vane/events/cleaner.h"
#include "vane/gen/generator.h"
#include "vane/recommend/engine.h"

namespace vane {
namespace {

namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() / ("vane_snapshot_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Core: XXH64, writer and reader ---------------------------------------------------------------------------------

TEST(Xxh64, MatchesTheReferenceAndStreamsInAnyPieces) {
  EXPECT_EQ(Xxh64::Of("", 0), 0xef46db3751d8e999ull);
  EXPECT_EQ(Xxh64::Of("a", 1), 0xd24ec4f1a98c6e5bull);
  EXPECT_EQ(Xxh64::Of("abc", 3), 0x44bc2cf5ad770999ull);
  EXPECT_EQ(Xxh64::Of("abc", 3, 7), 0x9e755206156676d7ull);
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(Xxh64::Of(fox.data(), fox.size()), 0x0b242d361fda71bcull);
  std::string bytes;
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  EXPECT_EQ(Xxh64::Of(bytes.data(), bytes.size()), 0x8e03c838c596036full);
  EXPECT_EQ(Xxh64::Of(bytes.data(), bytes.size(), 7), 0xb1e10f6c5294cd6bull);
  for (size_t piece : {1, 3, 7, 31, 32, 33, 100}) {
    Xxh64 h;
    for (size_t at = 0; at < bytes.size(); at += piece) h.Update(bytes.data() + at, std::min(piece, bytes.size() - at));
    EXPECT_EQ(h.Digest(), 0x8e03c838c596036full) << "pieces of " << piece;
  }
}

TEST(BinaryIo, RoundTripsValuesStringsAndVectors) {
  BinaryWriter w;
  w.Tag("t");
  w.U32(7);
  w.I64(-5);
  w.F64(0.25);
  w.Bool(true);
  w.Str("héllo");
  w.PodVec(std::vector<uint32_t>{1, 2, 3});
  w.NestedPodVec(std::vector<std::vector<float>>{{1.5f}, {}, {2, 3}});
  w.StrVec({"a", "", "c"});
  BinaryReader r(w.data());
  r.Expect("t");
  EXPECT_EQ(r.U32(), 7u);
  EXPECT_EQ(r.I64(), -5);
  EXPECT_EQ(r.F64(), 0.25);
  EXPECT_TRUE(r.Bool());
  EXPECT_EQ(r.Str(), "héllo");
  std::vector<uint32_t> v;
  r.PodVec(v);
  EXPECT_EQ(v, (std::vector<uint32_t>{1, 2, 3}));
  std::vector<std::vector<float>> nv;
  r.NestedPodVec(nv);
  EXPECT_EQ(nv, (std::vector<std::vector<float>>{{1.5f}, {}, {2, 3}}));
  std::vector<std::string> sv;
  r.StrVec(sv);
  EXPECT_EQ(sv, (std::vector<std::string>{"a", "", "c"}));
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.AtEnd());
}

TEST(BinaryIo, TheReaderRefusesCountsBeyondItsInputAndReadsPastTheEnd) {
  BinaryWriter w;
  w.U64(uint64_t{1} << 60);  // a vector "of" 2^60 elements
  std::vector<uint64_t> v;
  BinaryReader r(w.data());
  r.PodVec(v);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(r.status().reason(), "snapshot_corrupt");
  BinaryReader short_read(std::string_view("abc"));
  EXPECT_EQ(short_read.U64(), 0u);
  EXPECT_FALSE(short_read.ok());
  EXPECT_NE(short_read.status().message().find("runs past the end"), std::string::npos) << short_read.status().ToString();
  BinaryReader tag(w.data());
  tag.Expect("dataset");
  EXPECT_FALSE(tag.ok());
}

TEST(SnapshotFile, WritesAtomicallyAndRefusesDamage) {
  const std::string path = TempPath("file");
  std::string big(3 << 20, 'x');  // larger than the writer's buffer: passes straight to the file
  auto size = WriteSnapshotFile(path, 5, [&](BinaryWriter& w) {
    w.Str("payload");
    w.Str(big);
  });
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, fs::file_size(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  auto payload = ReadSnapshotFile(path, 5);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  BinaryReader r(*payload);
  EXPECT_EQ(r.Str(), "payload");
  EXPECT_EQ(r.Str(), big);
  EXPECT_EQ(ReadSnapshotFile(path, 6).status().code(), StatusCode::kFailedPrecondition) << "another payload format";
  {  // one flipped bit in the middle
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1 << 20);
    f.put('y');
  }
  auto flipped = ReadSnapshotFile(path, 5);
  EXPECT_EQ(flipped.status().reason(), "snapshot_corrupt");
  EXPECT_NE(flipped.status().message().find("checksum"), std::string::npos) << flipped.status().ToString();
  fs::resize_file(path, fs::file_size(path) - 10);
  EXPECT_EQ(ReadSnapshotFile(path, 5).status().reason(), "snapshot_corrupt");
  fs::remove(path);
  EXPECT_FALSE(ReadSnapshotFile(path, 5).ok());
}

// Dataset and cleaner ----------------------------------------------------------------------------------------------

TEST(DatasetSnapshot, RoundTripsEveryVocabularyItemIndexAndEvent) {
  Dataset ds = testing::TwoTopicDataset();
  Item attr = testing::MakeItem("x1", "article", "alpine guide", {"Hiking", "Guides"});
  attr.attributes = {{"brand", "acme"}};
  attr.created = 1234;
  attr.text = "a long walk";
  ds.catalog.Upsert(attr);
  ds.catalog.Upsert(testing::MakeItem("r1", "product", "trail running shoes model 1 v2", {"Hiking"}));  // replaced
  testing::Ev(ds, "a", "r0", "view", 100);
  testing::Ev(ds, "b", "", "search", 110, "alpine hiking boots");
  ds.events.back().session = ds.sessions.Intern("s1");
  ds.events.back().value = 2.5f;
  ds.events.back().has_value = true;
  ds.events_base = 17;
  ds.has_timestamps = false;
  BinaryWriter w;
  ds.Save(w);
  Dataset back;
  BinaryReader r(w.data());
  ASSERT_TRUE(back.Load(r).ok()) << r.status().ToString();
  EXPECT_TRUE(r.AtEnd());
  EXPECT_EQ(back.name, ds.name);
  EXPECT_EQ(back.actions.ToJson(), ds.actions.ToJson());
  EXPECT_EQ(back.actions.preset(), "ecommerce");
  EXPECT_EQ(back.actions.search_action(), ds.actions.search_action());
  ASSERT_EQ(back.num_items(), ds.num_items());
  for (uint32_t i = 0; i < ds.num_items(); ++i) {
    ItemIdx x(i);
    EXPECT_EQ(back.catalog.item(x), ds.catalog.item(x));
    EXPECT_TRUE(std::ranges::equal(back.catalog.categories(x), ds.catalog.categories(x)));
    EXPECT_TRUE(std::ranges::equal(back.catalog.keywords(x), ds.catalog.keywords(x)));
    EXPECT_EQ(back.catalog.type_id(x), ds.catalog.type_id(x));
    EXPECT_EQ(back.catalog.Find(ds.catalog.item(x).id), x);
  }
  EXPECT_EQ(back.catalog.items_by_category(), ds.catalog.items_by_category());
  EXPECT_EQ(back.catalog.keyword_vocab().size(), ds.catalog.keyword_vocab().size());
  EXPECT_EQ(back.catalog.keyword_vocab().Find("alpine"), ds.catalog.keyword_vocab().Find("alpine"));
  EXPECT_EQ(back.users.Find("b"), ds.users.Find("b"));
  EXPECT_EQ(back.queries.Name(0), ds.queries.Name(0));
  EXPECT_EQ(back.query_keywords, ds.query_keywords);
  ASSERT_EQ(back.events.size(), ds.events.size());
  EXPECT_EQ(std::memcmp(back.events.data(), ds.events.data(), ds.events.size() * sizeof(Event)), 0);
  EXPECT_EQ(back.events_base, 17u);
  EXPECT_FALSE(back.has_timestamps);
  // New names keep counting from where the original was.
  EXPECT_EQ(back.InternUser("c"), ds.InternUser("c"));
  EXPECT_EQ(back.InternQuery("trail"), ds.InternQuery("trail"));
}

TEST(DatasetSnapshot, AnEventWithAnIdOutOfRangeIsRefused) {
  Dataset ds = testing::TwoTopicDataset();
  testing::Ev(ds, "a", "r0", "view", 100);
  ds.events.back().item = ItemIdx(999);
  BinaryWriter w;
  ds.Save(w);
  Dataset back;
  BinaryReader r(w.data());
  Status s = back.Load(r);
  EXPECT_EQ(s.reason(), "snapshot_corrupt");
  EXPECT_NE(s.message().find("out of range"), std::string::npos) << s.ToString();
}

RawEvent Raw(std::string user, std::string item, Timestamp ts, bool has_ts = true) {
  RawEvent e = testing::RawEv(std::move(user), std::move(item), "view", ts);
  e.has_ts = has_ts;
  return e;
}

TEST(CleanerSnapshot, DuplicatesAndFilledTimesAreJudgedAsBeforeTheSnapshot) {
  Dataset ds = testing::TwoTopicDataset();
  ImportOptions opt;
  opt.progress = false;
  ImportReport report;
  EventCleaner cleaner(ds, opt, report);
  ASSERT_TRUE(cleaner.Add(Raw("a", "r0", 100), "t", 1).ok());
  ASSERT_TRUE(cleaner.Add(Raw("a", "r1", 200), "t", 2).ok());
  ASSERT_TRUE(cleaner.Add(Raw("b", "r1", 300), "t", 3).ok());
  ASSERT_TRUE(cleaner.Add(Raw("a", "r0", 100), "t", 4).ok());  // a duplicate
  EXPECT_FALSE(cleaner.Add(Raw("", "r0", 100), "t", 5).ok());  // a rejection
  BinaryWriter w;
  ds.Save(w);
  report.Save(w);
  cleaner.Save(w);

  Dataset ds2;
  ImportReport report2;
  EventCleaner cleaner2(ds2, opt, report2);
  BinaryReader r(w.data());
  ASSERT_TRUE(ds2.Load(r).ok());
  ASSERT_TRUE(report2.Load(r).ok());
  ASSERT_TRUE(cleaner2.Load(r).ok()) << r.status().ToString();
  EXPECT_EQ(report2.duplicates, 1u);
  EXPECT_EQ(report2.rejected, 1u);
  EXPECT_EQ(report2.rejected_by_reason, report.rejected_by_reason);
  // The same further records give the same outcome in both: a repeat of a pre-snapshot event is a duplicate, a
  // missing time follows the user's last one.
  for (const RawEvent& e : {Raw("b", "r1", 300), Raw("a", "h0", 0, false), Raw("c", "h1", 400), Raw("a", "r1", 200)}) {
    ASSERT_TRUE(cleaner.Add(e, "t", 9).ok());
    ASSERT_TRUE(cleaner2.Add(e, "t", 9).ok());
  }
  EXPECT_EQ(report2.duplicates, report.duplicates);
  EXPECT_EQ(report.duplicates, 3u);
  ASSERT_EQ(ds2.events.size(), ds.events.size());
  EXPECT_EQ(std::memcmp(ds2.events.data(), ds.events.data(), ds.events.size() * sizeof(Event)), 0);
  EXPECT_EQ(ds2.events[3].ts, 201) << "filled one second after a's last event, which came before the snapshot";
}

// Interest store ----------------------------------------------------------------------------------------------------

TEST(InterestSnapshot, StatesHistoriesAndGlobalCountsRoundTrip) {
  Dataset ds = testing::TwoTopicDataset();
  InterestConfig cfg;
  cfg.history_cap = 4;
  InterestStore a(ds, cfg);
  Timestamp t = 1000;
  for (int round = 0; round < 3; ++round)
    for (const char* it : {"r0", "r1", "h0", "r2", "h3", "pg0", "r3", "h1"}) {
      a.Apply(testing::Ev(ds, "u" + std::to_string(round), it, round == 1 ? "purchase" : "view", t += 40));
      a.Apply(testing::Ev(ds, "v", it, "view", t += 5));
    }
  a.Apply(testing::Ev(ds, "v", "", "search", t += 5, "alpine boots"));
  BinaryWriter w;
  a.Save(w);
  InterestStore b(ds, cfg);
  BinaryReader r(w.data());
  ASSERT_TRUE(b.Load(r).ok()) << r.status().ToString();
  auto same = [&](const char* when) {
    for (uint32_t u = 0; u < ds.num_users(); ++u) {
      UserIdx x(u);
      SCOPED_TRACE(std::string(when) + " user " + ds.users.Name(u));
      EXPECT_EQ(std::memcmp(a.Find(x), b.Find(x), sizeof(UserState)), 0);
      EXPECT_TRUE(std::ranges::equal(a.Consumed(x), b.Consumed(x)));
      EXPECT_TRUE(std::ranges::equal(a.Interacted(x), b.Interacted(x)));
      EXPECT_EQ(a.PredictNextCategory(x), b.PredictNextCategory(x));
      for (uint32_t c = 0; c < ds.catalog.category_vocab().size(); ++c) {
        EXPECT_EQ(a.LikeProbability(x, c, t + 100), b.LikeProbability(x, c, t + 100));
        EXPECT_EQ(a.GlobalTransition(c, 0), b.GlobalTransition(c, 0));
      }
    }
  };
  same("loaded");
  for (const char* it : {"h2", "r4", "h4"}) {
    Event e = testing::Ev(ds, "v", it, "purchase", t += 30);
    a.Apply(e);
    b.Apply(e);
  }
  same("after more events");
}

// Sources -----------------------------------------------------------------------------------------------------------

TEST(SourceSnapshot, PopularityAndCoVisitationRoundTripAndGoOnAlike) {
  Dataset ds = testing::TwoTopicDataset();
  InterestStore interests(ds);
  PopularitySource::Config pc;
  CovisitSource::Config cc;
  cc.max_edges_per_item = 2;  // pruned tables: the kept slots must come back as they were
  cc.half_life_s = 600;
  PopularitySource pop(ds, pc);
  CovisitSource cov(ds, cc);
  Timestamp t = 1000;
  auto feed = [&](std::vector<CandidateSource*> to, int rounds) {
    for (int round = 0; round < rounds; ++round)
      for (const char* it : {"r0", "r1", "h0", "r2", "h3", "pg0", "r3", "h1", "r4", "h2"}) {
        Event e = testing::Ev(ds, "u" + std::to_string(round % 3), it, round % 2 ? "purchase" : "view", t += 25);
        const UserState before = interests.Find(e.user) ? *interests.Find(e.user) : UserState{};
        for (CandidateSource* s : to) s->Observe(e, before);
        interests.Apply(e);
      }
  };
  feed({&pop, &cov}, 4);
  BinaryWriter w;
  pop.SaveState(w);
  cov.SaveState(w);
  PopularitySource pop2(ds, pc);
  CovisitSource cov2(ds, cc);
  BinaryReader r(w.data());
  ASSERT_TRUE(pop2.LoadState(r).ok()) << r.status().ToString();
  ASSERT_TRUE(cov2.LoadState(r).ok()) << r.status().ToString();
  EXPECT_TRUE(r.AtEnd());
  auto same = [&](const char* when) {
    SCOPED_TRACE(when);
    EXPECT_EQ(pop.Ranked(), pop2.Ranked());
    EXPECT_EQ(cov.num_edges(), cov2.num_edges());
    for (uint32_t a = 0; a < ds.num_items(); ++a) {
      EXPECT_EQ(pop.Popularity(ItemIdx(a)), pop2.Popularity(ItemIdx(a)));
      EXPECT_EQ(pop.Trend(ItemIdx(a)), pop2.Trend(ItemIdx(a)));
      for (uint32_t b = 0; b < ds.num_items(); ++b) EXPECT_EQ(cov.Weight(ItemIdx(a), ItemIdx(b)), cov2.Weight(ItemIdx(a), ItemIdx(b)));
    }
  };
  same("loaded");
  EXPECT_GT(cov.num_edges(), 0u);
  feed({&pop, &cov, &pop2, &cov2}, 3);
  same("after the same further events");
}

// Engine ------------------------------------------------------------------------------------------------------------

// A live-like pipeline: a dataset, its cleaner and an engine fed cleaned events, as the service keeps them.
struct Live {
  explicit Live(const EngineConfig& cfg) : cleaner(ds, opt, report) {
    opt.progress = false;
    ds.name = "live";
    ds.actions = ActionRegistry::Preset("ecommerce").value();
    engine = std::make_unique<Engine>(ds, cfg);
  }
  void Add(const RawEvent& raw) {
    const size_t before = ds.events.size(), items = ds.num_items();
    ASSERT_TRUE(cleaner.Add(raw, "t", 0).ok());
    if (ds.num_items() != items) engine->OnCatalogChanged();
    for (size_t k = before; k < ds.events.size(); ++k) engine->Ingest(ds.events[k]);
  }
  void Save(BinaryWriter& w) const {
    ds.Save(w);
    report.Save(w);
    cleaner.Save(w);
    engine->Save(w);
  }
  // Replaces this pipeline's state with a snapshot's (the engine is constructed on the loaded dataset).
  Status Load(BinaryReader& r, const EngineConfig& cfg) {
    engine.reset();
    VANE_RETURN_IF_ERROR(ds.Load(r));
    VANE_RETURN_IF_ERROR(report.Load(r));
    VANE_RETURN_IF_ERROR(cleaner.Load(r));
    engine = std::make_unique<Engine>(ds, cfg);
    return engine->Load(r);
  }

  Dataset ds;
  ImportOptions opt;
  ImportReport report;
  EventCleaner cleaner;
  std::unique_ptr<Engine> engine;
};

EngineConfig SnapshotConfig() {
  EngineConfig cfg;
  cfg.interest.history_cap = 20;       // histories trimmed, as a server bounds them
  cfg.covisit.max_edges_per_item = 8;  // co-visitation tables pruned
  cfg.covisit.half_life_s = 3 * 86400.0;
  return cfg;
}

void ExpectSameAnswers(const Live& a, const Live& b, Timestamp now, const char* when) {
  SCOPED_TRACE(when);
  ASSERT_EQ(a.ds.num_users(), b.ds.num_users());
  size_t compared = 0;
  for (uint32_t u = 0; u < a.ds.num_users(); u += 7) {
    RecommendRequest req;
    req.user = a.ds.users.Name(u);
    req.n = 20;
    req.now = now;
    RecommendResponse ra = a.engine->Recommend(req), rb = b.engine->Recommend(req);
    EXPECT_EQ(ra.strategy, rb.strategy);
    EXPECT_EQ(ra.strategy_reason, rb.strategy_reason);
    ASSERT_EQ(ra.items.size(), rb.items.size()) << req.user;
    for (size_t k = 0; k < ra.items.size(); ++k) {
      EXPECT_EQ(ra.items[k].id, rb.items[k].id) << req.user << " #" << k;
      EXPECT_EQ(ra.items[k].score, rb.items[k].score) << req.user << " #" << k;
      EXPECT_EQ(ra.items[k].reason_en, rb.items[k].reason_en) << req.user << " #" << k;
    }
    auto ca = a.engine->interests().Categories(UserIdx(u), now), cb = b.engine->interests().Categories(UserIdx(u), now);
    ASSERT_EQ(ca.size(), cb.size());
    for (size_t k = 0; k < ca.size(); ++k) EXPECT_TRUE(ca[k].id == cb[k].id && ca[k].s == cb[k].s && ca[k].l == cb[k].l);
    ++compared;
  }
  EXPECT_GT(compared, 20u);
  EXPECT_EQ(a.engine->popularity().Ranked(), b.engine->popularity().Ranked());
  for (uint32_t c = 0; c < a.ds.catalog.category_vocab().size(); ++c)
    EXPECT_EQ(a.engine->popularity().RankedInCategory(c), b.engine->popularity().RankedInCategory(c));
  const auto& cva = static_cast<const CovisitSource&>(a.engine->source(kSrcCovisit));
  const auto& cvb = static_cast<const CovisitSource&>(b.engine->source(kSrcCovisit));
  EXPECT_EQ(cva.num_edges(), cvb.num_edges());
  EXPECT_EQ(a.engine->content().Search("trail running", 10), b.engine->content().Search("trail running", 10));
}

TEST(EngineSnapshot, ALoadedEngineAnswersAndGoesOnAsTheOriginal) {
  gen::GenOptions go;
  go.users = 200;
  gen::Generated g = gen::Generate(go);
  const size_t cut = g.events.size() * 3 / 4;
  const EngineConfig cfg = SnapshotConfig();
  Live a(cfg);
  for (const Item& it : g.items) a.ds.catalog.Upsert(it);
  a.engine->OnCatalogChanged();
  for (size_t i = 0; i < cut; ++i) a.Add(g.events[i]);
  a.Add(testing::RawEv("newcomer", "brand-new-item", "view", g.events[cut - 1].ts));  // an item named by an event only

  const std::string path = TempPath("engine");
  auto written = WriteSnapshotFile(path, 1, [&](BinaryWriter& w) { a.Save(w); });
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto payload = ReadSnapshotFile(path, 1);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  fs::remove(path);
  Live b(cfg);
  BinaryReader r(*payload);
  ASSERT_TRUE(b.Load(r, cfg).ok()) << r.status().ToString();
  EXPECT_TRUE(r.AtEnd());

  const Timestamp mid = g.events[cut - 1].ts + 60;
  ExpectSameAnswers(a, b, mid, "right after loading");
  for (size_t i = cut; i < g.events.size(); ++i) {
    a.Add(g.events[i]);
    b.Add(g.events[i]);
  }
  EXPECT_EQ(a.report.accepted, b.report.accepted);
  EXPECT_EQ(a.report.duplicates, b.report.duplicates);
  ExpectSameAnswers(a, b, g.events.back().ts + 60, "after the same further events");
}

TEST(EngineSnapshot, AnotherConfigurationIsRefused) {
  Live a(SnapshotConfig());
  a.Add(testing::RawEv("u", "r0", "view", 100));
  BinaryWriter w;
  a.Save(w);
  EngineConfig other = SnapshotConfig();
  other.covisit.max_edges_per_item = 9;
  Live b(other);
  BinaryReader r(w.data());
  Status s = b.Load(r, other);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
}

TEST(EngineSnapshot, DamagedPayloadsFailCleanly) {
  gen::GenOptions go;
  go.users = 20;
  gen::Generated g = gen::Generate(go);
  const EngineConfig cfg = SnapshotConfig();
  Live a(cfg);
  for (const Item& it : g.items) a.ds.catalog.Upsert(it);
  a.engine->OnCatalogChanged();
  for (const RawEvent& e : g.events) a.Add(e);
  BinaryWriter w;
  a.Save(w);
  const std::string good = w.data();
  // Every truncation fails with a Status; random byte changes either fail or load, never crash. (The file's
  // checksum catches damage first; this is the second line.)
  for (size_t cut : {size_t{0}, good.size() / 5, good.size() / 2, good.size() - 1}) {
    Live b(cfg);
    BinaryReader r(std::string_view(good).substr(0, cut));
    EXPECT_FALSE(b.Load(r, cfg).ok()) << "cut at " << cut;
  }
  std::mt19937 rng(7);
  for (int k = 0; k < 200; ++k) {
    std::string bad = good;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    Live b(cfg);
    BinaryReader r(bad);
    (void)b.Load(r, cfg);
  }
}

}  // namespace
}  // namespace vane
