// Services in cluster mode (service.h, ServiceOptions::shared_log) on a real Redis Cluster (3 masters, 3 replicas):
// a write on one node is read on another with its position token, two nodes written concurrently end with the same
// state and the same answers, duplicates are decided the same everywhere, and bad tokens and unreachable positions
// get their reasons.
#include <gtest/gtest.h>

#include <httplib.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <future>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "redis_cluster_harness.h"
#include "test_util.h"
#include "vane/cluster_store/stream_log.h"
#include "vane/serve/http.h"
#include "vane/serve/service.h"

namespace vane {
namespace {

using vane::testing::RedisClusterHarness;

using vane::testing::OptionsFor;
using vane::testing::SharedRedisCluster;

Result<RawEvent> Raw(std::string user, std::string item, Timestamp ts) {
  RawEvent e;
  e.user = std::move(user);
  e.item = std::move(item);
  e.action = "view";
  e.ts = ts;
  e.has_ts = true;
  return e;
}

// The users u0..u<users-1> have the same histories (position by position) and recommendations on both nodes.
void ExpectSameAnswers(Service& a, Service& b, int users) {
  for (int u = 0; u < users; ++u) {
    const std::string id = "u" + std::to_string(u);
    auto ea = a.UserEvents(id, 100), eb = b.UserEvents(id, 100);
    ASSERT_TRUE(ea.ok() && eb.ok());
    ASSERT_EQ(ea->size(), eb->size()) << id;
    for (size_t i = 0; i < ea->size(); ++i) {
      EXPECT_EQ((*ea)[i].seq, (*eb)[i].seq) << id;
      EXPECT_EQ((*ea)[i].event.item, (*eb)[i].event.item) << id;
    }
    RecommendRequest req;
    req.user = id;
    req.n = 3;
    auto ra = a.Recommend(req), rb = b.Recommend(req);
    ASSERT_TRUE(ra.ok() && rb.ok());
    ASSERT_EQ(ra->response.items.size(), rb->response.items.size()) << id;
    for (size_t i = 0; i < ra->response.items.size(); ++i)
      EXPECT_EQ(ra->response.items[i].id, rb->response.items[i].id) << id;
  }
}

class ClusterNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started;
    h_ = &SharedRedisCluster(&started);
    ASSERT_TRUE(started.ok()) << started.ToString();
    seed_ = testing::TwoTopicDataset();
    prefix_ = std::string("node-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (const char* id : {"a", "b"}) nodes_.push_back(OpenNode(id));
  }
  void TearDown() override {
    nodes_.clear();
    for (const auto& d : dirs_) std::filesystem::remove_all(d);
  }
  std::unique_ptr<Service> OpenNode(const std::string& id, bool cluster_snapshots = true) {
    cluster::StreamLogOptions lo;
    lo.prefix = prefix_;
    lo.partitions = 8;
    auto log = cluster::NewStreamSharedLog(OptionsFor(*h_), lo);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return nullptr;
    ServiceOptions opt;
    opt.shared_log = *log;
    opt.node_id = id;
    opt.snapshots = false;
    opt.cluster_snapshots = cluster_snapshots;
    opt.snapshot_every_events = 0;  // written by the tests' SnapshotNow only
    opt.seed_events = false;
    opt.apply_wait = std::chrono::seconds(2);
    opt.clock = std::make_shared<ManualClock>(100000);
    if (configure_) configure_(opt);
    opt.models_dir = (std::filesystem::temp_directory_path() /
                      ("vane_cluster_node_" + std::to_string(::getpid()) + "_" + prefix_ + "_" + id)).string();
    dirs_.push_back(opt.models_dir);
    auto s = Service::Open(opt, &seed_, NewMemoryStore());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  Service& A() { return *nodes_[0]; }
  Service& B() { return *nodes_[1]; }

  RedisClusterHarness* h_ = nullptr;
  std::function<void(ServiceOptions&)> configure_;  // more options for the nodes opened after it is set
  Dataset seed_;
  std::string prefix_;
  std::vector<std::unique_ptr<Service>> nodes_;
  std::vector<std::string> dirs_;
};

TEST_F(ClusterNodes, AWriteOnOneNodeIsReadOnAnotherWithItsToken) {
  ASSERT_EQ(nodes_.size(), 2u);
  std::vector<Result<RawEvent>> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(Raw("alice", "r" + std::to_string(i), 1000 + i));
  auto w = A().IngestEvents(batch);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->accepted, 5u);
  ASSERT_FALSE(w->position.empty());
  // The node that took the write has it at once.
  EXPECT_EQ(A().GetUser("alice").value().events, 5u);
  ASSERT_TRUE(B().WaitForPosition(w->position, std::chrono::seconds(5)).ok());
  auto u = B().GetUser("alice");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->events, 5u);
  EXPECT_EQ(B().UserEvents("alice", 10).value().size(), 5u);
  // The same events again through the other node: duplicates there, and so everywhere.
  auto again = B().IngestEvents(batch);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->accepted, 0u);
  EXPECT_EQ(again->duplicates, 5u);
  ASSERT_TRUE(A().WaitForPosition(again->position, std::chrono::seconds(5)).ok());
  EXPECT_EQ(A().GetUser("alice").value().events, 5u);
}

TEST_F(ClusterNodes, NodesWrittenConcurrentlyEndWithTheSameStateAndAnswers) {
  ASSERT_EQ(nodes_.size(), 2u);
  std::string last[2];
  std::vector<std::thread> writers;
  for (int n = 0; n < 2; ++n) {
    writers.emplace_back([&, n] {
      for (int b = 0; b < 30; ++b) {
        std::vector<Result<RawEvent>> batch;
        for (int k = 0; k < 10; ++k)
          batch.push_back(Raw("u" + std::to_string((b * 10 + k) % 13), "r" + std::to_string((b + k) % 5),
                              2000 + b * 10 + k));
        auto w = nodes_[n]->IngestEvents(batch);
        ASSERT_TRUE(w.ok()) << w.status().ToString();
        last[n] = w->position;
      }
    });
  }
  for (auto& t : writers) t.join();
  for (int n = 0; n < 2; ++n)
    for (const std::string& tok : last) ASSERT_TRUE(nodes_[n]->WaitForPosition(tok, std::chrono::seconds(10)).ok());
  // Both may still release entries written last that no token names; wait until both stop changing.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto sa = A().GetStats(), sb = B().GetStats();
  EXPECT_TRUE(sa.cluster);
  EXPECT_EQ(sa.cluster_position, sb.cluster_position);
  EXPECT_GT(sa.cluster_lag_ms, 0.0);
  EXPECT_LT(sa.cluster_lag_ms, 5000.0);
  std::cerr << "lag after catching up: A " << sa.cluster_lag_ms << " ms, B " << sb.cluster_lag_ms << " ms\n";
  EXPECT_EQ(sa.events, sb.events);
  EXPECT_EQ(sa.accepted + sa.duplicates, sb.accepted + sb.duplicates);
  EXPECT_EQ(sa.duplicates, sb.duplicates);
  EXPECT_GT(sa.duplicates, 0u) << "the two writers send overlapping events";
  ExpectSameAnswers(A(), B(), 13);
}

// Writes 10 events per batch for users u0..u12 through `node`; returns the last batch's token.
std::string WriteBatches(Service& node, int from, int to) {
  std::string last;
  for (int b = from; b < to; ++b) {
    std::vector<Result<RawEvent>> batch;
    for (int k = 0; k < 10; ++k)
      batch.push_back(Raw("u" + std::to_string((b * 10 + k) % 13), "r" + std::to_string((b + k) % 5), 2000 + b * 10 + k));
    auto w = node.IngestEvents(batch);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    if (w.ok()) last = w->position;
  }
  return last;
}

TEST_F(ClusterNodes, ANodeJoinsFromASnapshotAndTheLogIsTrimmedBehindIt) {
  ASSERT_EQ(nodes_.size(), 2u);
  Item shoe;
  shoe.id = "new-shoe";
  shoe.title = "alpine trail shoe";
  ASSERT_EQ(B().PutItems({shoe}).value(), 1u);
  std::string last = WriteBatches(A(), 0, 20);
  ASSERT_TRUE(B().WaitForPosition(last, std::chrono::seconds(5)).ok());
  auto written = A().SnapshotNow();
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_GT(*written, 0u);
  const auto sa = A().GetStats();
  EXPECT_EQ(sa.cluster_snapshots_written, 1u);
  EXPECT_GT(sa.cluster_trimmed_entries, 0u) << "the entries the snapshot covers leave the log";
  // B is at the same place: the cluster's snapshot covers it, so B writes none.
  EXPECT_EQ(B().SnapshotNow().value(), 0u);
  EXPECT_EQ(B().GetStats().cluster_snapshots_written, 0u);
  last = WriteBatches(B(), 20, 30);
  // A node started now loads the snapshot and reads the rest from the log.
  auto c = OpenNode("c");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->WaitForPosition(last, std::chrono::seconds(5)).ok());
  ASSERT_TRUE(A().WaitForPosition(last, std::chrono::seconds(5)).ok());
  const auto sc = c->GetStats();
  EXPECT_EQ(sc.snapshot_loaded_seq, sa.last_snapshot_seq);
  EXPECT_GT(sc.cluster_restore_seconds, 0.0);
  EXPECT_EQ(sc.events, A().GetStats().events);
  EXPECT_EQ(sc.cluster_position, A().GetStats().cluster_position);
  EXPECT_EQ(c->GetItem("new-shoe").value().title, "alpine trail shoe");
  ExpectSameAnswers(A(), *c, 13);
  // The same events again through the new node: duplicates there too (the cleaner's memory came with the snapshot).
  std::vector<Result<RawEvent>> again{Raw("u0", "r0", 2000)};
  auto w = c->IngestEvents(again);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->duplicates, 1u);
  // A node that does not load snapshots cannot read the trimmed log from its start, and says so.
  auto d = OpenNode("d", /*cluster_snapshots=*/false);
  ASSERT_NE(d, nullptr);
  std::string error;
  for (int i = 0; i < 100 && error.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    error = d->GetStats().cluster_error;
  }
  EXPECT_NE(error.find("trimmed"), std::string::npos) << error;
}

// Every value under `prefix` in the cluster that contains `needle` (strings, hashes, sorted sets, streams), as
// "key: where"; scanned on every master.
std::vector<std::string> KeysHolding(RedisClusterHarness& h, const std::string& prefix, const std::string& needle) {
  std::vector<std::string> found;
  auto client = cluster::RedisCluster::Connect(OptionsFor(h)).value();
  std::set<std::string> masters;
  for (const auto& r : client->topology()) masters.insert(r.master);
  auto scan_reply = [&](const std::string& key, const cluster::Reply& r, auto&& self) -> void {
    if (r.str.find(needle) != std::string::npos) found.push_back(key + ": " + r.str.substr(0, 80));
    for (const auto& e : r.elements) self(key, e, self);
  };
  for (const std::string& m : masters) {
    std::string cursor = "0";
    do {
      auto r = client->CommandOnNode(m, {"SCAN", cursor, "MATCH", "*" + prefix + "*", "COUNT", "1000"});
      EXPECT_TRUE(r.ok());
      if (!r.ok()) return found;
      cursor = r->elements[0].str;
      for (const auto& k : r->elements[1].elements) {
        if (k.str.find(needle) != std::string::npos) found.push_back("key name " + k.str);
        const std::string type = client->CommandOnNode(m, {"TYPE", k.str}).value().str;
        std::vector<std::string> read;
        if (type == "string") read = {"GET", k.str};
        if (type == "hash") read = {"HGETALL", k.str};
        if (type == "zset") read = {"ZRANGE", k.str, "0", "-1"};
        if (type == "stream") read = {"XRANGE", k.str, "-", "+"};
        if (type == "list") read = {"LRANGE", k.str, "0", "-1"};
        if (type == "set") read = {"SMEMBERS", k.str};
        if (read.empty()) continue;
        auto v = client->CommandOnNode(m, read);
        if (v.ok()) scan_reply(k.str, *v, scan_reply);
      }
    } while (cursor != "0");
  }
  return found;
}

TEST_F(ClusterNodes, ADeletionReachesEveryNodeAndLeavesNoTraceInRedis) {
  ASSERT_EQ(nodes_.size(), 2u);
  const std::string zed = "zed-private-7";
  std::vector<Result<RawEvent>> batch;
  for (int i = 0; i < 6; ++i) batch.push_back(Raw(zed, "r" + std::to_string(i % 5), 3000 + i));
  batch.push_back(Raw("u1", "r1", 3100));  // a batch shared with another user
  ASSERT_TRUE(A().IngestEvents(batch).ok());
  std::string last = WriteBatches(A(), 0, 5);
  ASSERT_TRUE(B().WaitForPosition(last, std::chrono::seconds(5)).ok());
  ASSERT_TRUE(A().SnapshotNow().ok());  // a snapshot that holds the user
  ASSERT_FALSE(KeysHolding(*h_, prefix_, zed).empty()) << "the scan finds the user before the deletion";
  auto n = B().DeleteUser(zed);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 6u);
  // Every node forgets the user.
  ASSERT_TRUE(A().WaitForRebuild(std::chrono::seconds(10)));
  ASSERT_TRUE(B().WaitForRebuild(std::chrono::seconds(10)));
  EXPECT_EQ(A().GetUser(zed).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(B().GetUser(zed).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(A().UserEvents("u1", 100).value().size(), B().UserEvents("u1", 100).value().size());
  // Deleting them again: unknown, on any node.
  EXPECT_EQ(A().DeleteUser(zed).status().code(), StatusCode::kNotFound);
  // The cluster forgets them: a snapshot without them replaced the older ones, and the log was trimmed behind it.
  for (int i = 0; i < 200 && !(A().ClusterErasuresDone() && B().ClusterErasuresDone()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(A().ClusterErasuresDone() && B().ClusterErasuresDone());
  const auto left = KeysHolding(*h_, prefix_, zed);
  EXPECT_TRUE(left.empty()) << left.size() << " values still hold the user, e.g. " << left.front();
  // A node started now does not know them, and has everyone else.
  auto c = OpenNode("c");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->WaitForPosition(last, std::chrono::seconds(5)).ok());
  EXPECT_EQ(c->GetUser(zed).status().code(), StatusCode::kNotFound);
  ExpectSameAnswers(A(), *c, 13);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The files under `dir` (recursively) whose bytes contain `needle`.
std::vector<std::string> FilesHolding(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) out.push_back(it->path().string());
  }
  return out;
}

// Every server's INFO persistence says no AOF rewrite and no RDB save runs or waits.
bool RewritesDone(RedisClusterHarness& h, cluster::RedisCluster& client) {
  for (const auto& n : h.nodes()) {
    auto r = client.CommandOnNode(n.address(), {"INFO", "persistence"});
    if (!r.ok()) return false;
    if (r->str.find("aof_rewrite_in_progress:0") == std::string::npos ||
        r->str.find("aof_rewrite_scheduled:0") == std::string::npos ||
        r->str.find("rdb_bgsave_in_progress:0") == std::string::npos)
      return false;
  }
  return true;
}

// The servers' files on disk: append-only files and RDB saves (both turned on, uncompressed, for the test to read).
TEST_F(ClusterNodes, ADeletionLeavesTheServersFilesToo) {
  ASSERT_EQ(nodes_.size(), 2u);
  auto client = cluster::RedisCluster::Connect(OptionsFor(*h_)).value();
  // Every server keeps an append-only file as plain commands (no RDB preamble) and saves RDB files (uncompressed),
  // so the test can read them.
  for (const auto& n : h_->nodes()) {
    for (std::vector<std::string> set : {std::vector<std::string>{"CONFIG", "SET", "aof-use-rdb-preamble", "no"},
                                         {"CONFIG", "SET", "rdbcompression", "no"},
                                         {"CONFIG", "SET", "save", "3600 1"},
                                         {"CONFIG", "SET", "appendonly", "yes"}})
      ASSERT_TRUE(client->CommandOnNode(n.address(), set).value().ToStatus().ok());
  }
  for (int i = 0; i < 200 && !RewritesDone(*h_, *client); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string zed = "zed-on-disk-9";
  std::vector<Result<RawEvent>> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(Raw(zed, "r" + std::to_string(i), 4000 + i));
  auto w = A().IngestEvents(batch);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(B().WaitForPosition(w->position, std::chrono::seconds(5)).ok());
  ASSERT_TRUE(A().SnapshotNow().ok());
  for (const auto& n : h_->nodes()) ASSERT_TRUE(client->CommandOnNode(n.address(), {"BGSAVE", "SCHEDULE"}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < 200 && !RewritesDone(*h_, *client); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<std::string> before;
  size_t rdb_before = 0;
  for (const auto& n : h_->nodes())
    for (const auto& f : FilesHolding(n.dir, zed)) {
      before.push_back(f);
      rdb_before += f.ends_with(".rdb");
    }
  ASSERT_FALSE(before.empty()) << "the files hold the user before the deletion";
  ASSERT_GT(rdb_before, 0u) << "an RDB file holds the user before the deletion";
  ASSERT_TRUE(B().DeleteUser(zed).ok());
  for (int i = 0; i < 200 && !(A().ClusterErasuresDone() && B().ClusterErasuresDone()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(A().ClusterErasuresDone() && B().ClusterErasuresDone());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the rewrites were asked for; let them start
  for (int i = 0; i < 200 && !RewritesDone(*h_, *client); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<std::string> after;
  for (const auto& n : h_->nodes())
    for (const auto& f : FilesHolding(n.dir, zed)) after.push_back(f);
  EXPECT_TRUE(after.empty()) << after.size() << " files still hold the user, e.g. " << after.front();
  for (const auto& n : h_->nodes()) {
    (void)client->CommandOnNode(n.address(), {"CONFIG", "SET", "appendonly", "no"});
    (void)client->CommandOnNode(n.address(), {"CONFIG", "SET", "save", ""});
  }
}

TEST_F(ClusterNodes, OneNodeTrainsAndEveryNodeServesTheVersionItPublished) {
  std::atomic<bool> go{false};
  std::mutex mu;
  std::vector<std::string> loaded;  // the weights file each node's loader found
  configure_ = [&](ServiceOptions& opt) {
    const std::string node = opt.node_id;
    opt.trainer = [&go, node](const Dataset& snap, const std::string& dir) -> Result<TrainedModel> {
      while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::filesystem::create_directories(dir + "/sub");
      std::ofstream(dir + "/model.json") << "{}";
      std::ofstream(dir + "/sub/weights.bin", std::ios::binary)
          << "weights of " << snap.events.size() << " events by " << node << std::string(3, '\0') << "end";
      return TrainedModel{testing::EmptyFactory(), {{"val_ndcg@10", 0.2}}};
    };
    opt.model_loader = [&mu, &loaded](const std::string& dir) -> Result<SourceFactory> {
      std::lock_guard l(mu);
      loaded.push_back(ReadFile(dir + "/sub/weights.bin"));
      return testing::EmptyFactory();
    };
  };
  nodes_.clear();
  for (const char* id : {"a", "b"}) nodes_.push_back(OpenNode(id));
  ASSERT_EQ(nodes_.size(), 2u);
  const std::string last = WriteBatches(A(), 0, 3);
  ASSERT_TRUE(B().WaitForPosition(last, std::chrono::seconds(5)).ok());
  ASSERT_EQ(A().Retrain().value(), "v1");
  // One trainer at a time in the cluster.
  auto other = B().Retrain();
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().reason(), "training_elsewhere") << other.status().ToString();
  go = true;
  for (int i = 0; i < 500 && A().Models().training; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(A().Models().current, "v1");
  // B loads the published version (its files, byte for byte) and serves it.
  auto serves = [](Service& s) { return s.Models().current != "none" && !s.Models().current.empty(); };
  EXPECT_FALSE(serves(B()));
  for (int i = 0; i < 100 && !serves(B()); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(serves(B()));
  {
    std::lock_guard l(mu);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0], std::string("weights of 30 events by a") + std::string(3, '\0') + "end");
  }
  // Nothing new since that training, anywhere in the cluster.
  EXPECT_EQ(B().Retrain().status().reason(), "no_new_events");
  // A node that starts later serves the current version too.
  auto c = OpenNode("c");
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 100 && !serves(*c); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(serves(*c));
  // New events: B may train now, and A follows B's version.
  ASSERT_TRUE(B().WaitForPosition(WriteBatches(A(), 3, 4), std::chrono::seconds(5)).ok());
  ASSERT_TRUE(B().Retrain().ok());
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard l(mu);
      if (loaded.size() >= 4) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::lock_guard l(mu);
  ASSERT_GE(loaded.size(), 4u) << "c loaded v1; a and c load b's version";
  EXPECT_EQ(loaded.back(), std::string("weights of 40 events by b") + std::string(3, '\0') + "end");
}

TEST_F(ClusterNodes, CatalogueWritesReachEveryNodeInTheLogsOrder) {
  ASSERT_EQ(nodes_.size(), 2u);
  Item shoe;
  shoe.id = "new-shoe";
  shoe.type = "product";
  shoe.title = "alpine trail shoe";
  shoe.categories = {"shoes"};
  ASSERT_EQ(A().PutItems({shoe}).value(), 1u);
  EXPECT_EQ(A().GetItem("new-shoe").value().title, "alpine trail shoe");
  // An event through B naming it, then B's token read on A: the item and the event are on both.
  auto w = B().IngestEvents(std::vector<Result<RawEvent>>{Raw("erin", "new-shoe", 1000)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(A().WaitForPosition(w->position, std::chrono::seconds(5)).ok());
  EXPECT_EQ(B().GetItem("new-shoe").value().title, "alpine trail shoe");
  EXPECT_EQ(A().GetUser("erin").value().events, 1u);
  ASSERT_TRUE(B().DeleteItem("new-shoe").ok());
  auto v = B().IngestEvents(std::vector<Result<RawEvent>>{Raw("erin", "r1", 1001)});
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(A().WaitForPosition(v->position, std::chrono::seconds(5)).ok());
  EXPECT_FALSE(A().GetItem("new-shoe").value().available);
  EXPECT_EQ(A().GetStats().items, B().GetStats().items);
}

// User records, online feedback and the removal of feedback travel in the log like events: written on one node,
// read on the other with the write's token, and carried by a snapshot to a node that joins later.
TEST_F(ClusterNodes, UserRecordsFeedbackAndFeedbackRemovalReachEveryNode) {
  ASSERT_EQ(nodes_.size(), 2u);
  const std::string record = R"({"UserId":"fay","Labels":["hiker"],"Comment":"雪山"})";
  std::string p1, p2, p3, p4;
  ASSERT_TRUE(A().PutUserRecord("fay", record, &p1).ok());
  ASSERT_FALSE(p1.empty());
  ASSERT_TRUE(B().WaitForPosition(p1, std::chrono::seconds(5)).ok());
  EXPECT_EQ(B().GetUserRecord("fay").value(), record);
  auto fb = A().Feedback({"fay", "r1", "click", "focused", "", "covisit", ""}, &p2);
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  ASSERT_FALSE(p2.empty());
  EXPECT_EQ(A().Online().by_strategy["focused"].clicks, 1u) << "the writing node has counted it on return";
  ASSERT_TRUE(B().WaitForPosition(p2, std::chrono::seconds(5)).ok());
  EXPECT_EQ(B().Online().by_strategy["focused"].clicks, 1u);
  EXPECT_EQ(B().ItemOnline("r1").clicks, 1u);
  EXPECT_EQ(B().Feedback({"fay", "r1", "stare", "", "", "", ""}, &p3).status().reason(), "bad_feedback");
  EXPECT_TRUE(p3.empty()) << "a refused write names no position";
  auto w = A().IngestEvents(std::vector<Result<RawEvent>>{Raw("fay", "r1", 1000), Raw("fay", "r2", 1001)});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(B().WaitForPosition(w->position, std::chrono::seconds(5)).ok());
  auto removed = B().DeleteFeedback("fay", "r1", "", &p4);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1u);
  ASSERT_TRUE(A().WaitForPosition(p4, std::chrono::seconds(5)).ok());
  for (Service* n : {&A(), &B()}) {
    auto evs = n->UserEvents("fay", 10).value();
    ASSERT_EQ(evs.size(), 1u);
    EXPECT_EQ(evs[0].event.item, "r2");
  }
  EXPECT_EQ(A().DeleteFeedback("fay", "r1", "").status().code(), StatusCode::kNotFound);
  // One token for two writes on different partitions covers both.
  const std::string both = MergePositions(p1, w->position);
  EXPECT_TRUE(B().WaitForPosition(both, std::chrono::milliseconds(100)).ok()) << both;
  EXPECT_EQ(MergePositions("1:5-0,3:2-1", "1:4-9,2:1-0"), "1:5-0,2:1-0,3:2-1");
  EXPECT_EQ(MergePositions("", "0:1-1"), "0:1-1");
  // A node that joins from a snapshot has the records and the counts.
  for (int i = 0; i < 200 && !(A().ClusterErasuresDone() && B().ClusterErasuresDone()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(A().SnapshotNow().ok());
  auto c = OpenNode("c");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->WaitForPosition(p4, std::chrono::seconds(5)).ok());
  // The snapshot is A's or the one the removal's erasure had B or A write (A's then adds none): either covers the
  // removal, and the log before it was trimmed, so the record and the count reach C through the snapshot alone.
  EXPECT_GT(c->GetStats().snapshot_loaded_seq, 0u);
  EXPECT_GT(A().GetStats().cluster_trimmed_entries + B().GetStats().cluster_trimmed_entries, 0u);
  EXPECT_EQ(c->GetUserRecord("fay").value(), record);
  EXPECT_EQ(c->Online().by_strategy["focused"].clicks, 1u);
  EXPECT_EQ(c->UserEvents("fay", 10).value().size(), 1u);
}

// Node groups: two groups split the users by partition; each node holds its group's users only, a node of the same
// group answers like it, a request for another group's user is redirected there over HTTP (or 503 when none of
// that group is live); each group writes its own snapshots and the log is trimmed only behind both groups'.
TEST_F(ClusterNodes, NodeGroupsSplitTheUsersAndRedirectToTheirGroup) {
  ASSERT_EQ(nodes_.size(), 2u);  // a and b: one group (every user), the reference
  int group = 0;
  configure_ = [&](ServiceOptions& o) {
    o.groups = 2;
    o.group = group;
  };
  auto g0 = OpenNode("g0");
  group = 1;
  auto g1 = OpenNode("g1");
  ASSERT_TRUE(g0 && g1);
  std::vector<Result<RawEvent>> batch;
  for (int u = 0; u < 40; ++u)
    for (int k = 0; k < 3; ++k) batch.push_back(Raw("u" + std::to_string(u), "r" + std::to_string((u + k) % 5), 3000 + u * 3 + k));
  auto w = g0->IngestEvents(batch);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->accepted, 120u) << "the group's own events and the others'";
  EXPECT_GT(w->other_groups, 0u);
  EXPECT_LT(w->other_groups, 120u);
  for (Service* n : {g1.get(), &A()}) ASSERT_TRUE(n->WaitForPosition(w->position, std::chrono::seconds(5)).ok());
  int in0 = 0, in1 = 0;
  for (int u = 0; u < 40; ++u) {
    const std::string id = "u" + std::to_string(u);
    const int g = g0->GroupOf(id);
    EXPECT_EQ(g, g1->GroupOf(id));
    Service& mine = g == 0 ? *g0 : *g1;
    Service& other = g == 0 ? *g1 : *g0;
    EXPECT_EQ(mine.GetUser(id).value().events, 3u) << id;
    EXPECT_EQ(other.GetUser(id).status().code(), StatusCode::kNotFound) << id << " is not held outside its group";
    EXPECT_EQ(mine.UserEvents(id, 10).value().size(), 3u);
    (g == 0 ? in0 : in1) += 1;
  }
  EXPECT_GT(in0, 5);
  EXPECT_GT(in1, 5);
  std::cerr << "users per group: " << in0 << " / " << in1 << "; events stored: g0 " << g0->GetStats().events << ", g1 "
            << g1->GetStats().events << ", one group " << A().GetStats().events << "\n";
  EXPECT_EQ(g0->GetStats().events + g1->GetStats().events, A().GetStats().events);
  // A second node of group 1, joining from group 1's snapshot, answers like g1; the log is trimmed only once both
  // groups have a snapshot.
  auto s0 = g0->SnapshotNow();
  ASSERT_TRUE(s0.ok()) << s0.status().ToString();
  EXPECT_EQ(g0->GetStats().cluster_trimmed_entries, 0u) << "group 1 has no snapshot yet: nothing may go";
  ASSERT_TRUE(g1->SnapshotNow().ok());
  EXPECT_GT(g1->GetStats().cluster_trimmed_entries, 0u);
  auto g1b = OpenNode("g1b");
  ASSERT_NE(g1b, nullptr);
  ASSERT_TRUE(g1b->WaitForPosition(w->position, std::chrono::seconds(5)).ok());
  EXPECT_EQ(g1b->GetStats().snapshot_loaded_seq, g1->GetStats().last_snapshot_seq);
  for (int u = 0; u < 40; ++u) {
    const std::string id = "u" + std::to_string(u);
    if (g1->GroupOf(id) != 1) continue;
    RecommendRequest req;
    req.user = id;
    req.n = 3;
    auto ra = g1->Recommend(req), rb = g1b->Recommend(req);
    ASSERT_TRUE(ra.ok() && rb.ok());
    ASSERT_EQ(ra->response.items.size(), rb->response.items.size()) << id;
    for (size_t i = 0; i < ra->response.items.size(); ++i) EXPECT_EQ(ra->response.items[i].id, rb->response.items[i].id);
  }
  g1b.reset();
  // Seed events (`vane serve --input` without --catalogue-only): a node keeps its own group's seed users only.
  configure_ = [&](ServiceOptions& o) {
    o.groups = 2;
    o.group = 0;
    o.seed_events = true;
  };
  const Dataset catalogue_only = seed_;
  for (int u = 0; u < 20; ++u) testing::Ev(seed_, "seed-user-" + std::to_string(u), "r" + std::to_string(u % 5), "view", 500 + u);
  auto seeded = OpenNode("g0-seeded", /*cluster_snapshots=*/false);  // from its seed, not the snapshot
  seed_ = catalogue_only;
  ASSERT_NE(seeded, nullptr);
  int seed_own = 0, seed_other = 0;
  for (int u = 0; u < 20; ++u) {
    const std::string id = "seed-user-" + std::to_string(u);
    const bool own = seeded->GroupOf(id) == 0;
    (own ? seed_own : seed_other) += 1;
    EXPECT_EQ(seeded->GetUser(id).ok(), own) << id;
  }
  EXPECT_GT(seed_own, 0);
  EXPECT_GT(seed_other, 0);
  seeded.reset();
  // Over HTTP: each node announces the URL it listens on; a request for a user of the other group is redirected.
  std::array<std::atomic<bool>, 2> stop{};
  std::vector<std::thread> servers;
  std::vector<int> ports;
  for (int n = 0; n < 2; ++n) {
    Service* node = n == 0 ? g0.get() : g1.get();
    HttpOptions ho;
    ho.port = 0;
    ho.log_requests = false;
    std::promise<int> bound;
    auto port = bound.get_future();
    servers.emplace_back([&, n, node, ho, p = std::move(bound)]() mutable {
      EXPECT_TRUE(RunHttpServer(*node, ho, stop[n], [&](int pt) { p.set_value(pt); }).ok());
    });
    ports.push_back(port.get());
  }
  std::string of1;
  for (int u = 0; u < 40 && of1.empty(); ++u)
    if (g0->GroupOf("u" + std::to_string(u)) == 1) of1 = "u" + std::to_string(u);
  httplib::Client c0("127.0.0.1", ports[0]);
  auto r = c0.Get("/v1/recommend/" + of1 + "?n=3");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 307) << r->body;
  EXPECT_EQ(r->get_header_value("Location"), "http://127.0.0.1:" + std::to_string(ports[1]) + "/v1/recommend/" + of1 + "?n=3");
  c0.set_follow_location(true);
  auto followed = c0.Get("/v1/recommend/" + of1 + "?n=3");
  ASSERT_TRUE(followed);
  EXPECT_EQ(followed->status, 200) << followed->body;
  EXPECT_EQ(nlohmann::json::parse(followed->body).at("user"), of1);
  // A write with a body is redirected the same way (307 keeps the method and body); sent again to the Location,
  // it lands on group 1's node.
  c0.set_follow_location(false);
  const std::string patch = R"({"Labels":["redirected"]})";
  auto moved = c0.Patch("/api/user/" + of1, patch, "application/json");
  ASSERT_TRUE(moved);
  ASSERT_EQ(moved->status, 307) << moved->body;
  EXPECT_EQ(moved->get_header_value("Location"), "http://127.0.0.1:" + std::to_string(ports[1]) + "/api/user/" + of1);
  httplib::Client c1("127.0.0.1", ports[1]);
  auto landed = c1.Patch("/api/user/" + of1, patch, "application/json");
  ASSERT_TRUE(landed);
  EXPECT_EQ(landed->status, 200) << landed->body;
  auto record = c1.Get("/api/user/" + of1, {{"X-Vane-Position", landed->get_header_value("X-Vane-Position")}});
  ASSERT_TRUE(record);
  EXPECT_NE(record->body.find("redirected"), std::string::npos) << record->body;
  // No live node of group 1: 503 with the reason, once group 0's node has read the membership again (after its
  // next announcement, every 2 s).
  stop[1] = true;
  servers[1].join();
  g1.reset();
  auto none = c0.Get("/v1/recommend/" + of1);
  for (int i = 0; i < 60 && none && none->status == 307; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    none = c0.Get("/v1/recommend/" + of1);
  }
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 503) << none->body;
  EXPECT_NE(none->body.find("group_unavailable"), std::string::npos) << none->body;
  EXPECT_NE(g0->NodeOfGroup(0), "") << "g0 itself";
  stop[0] = true;
  servers[0].join();
}

TEST_F(ClusterNodes, BadTokensAndUnreachedPositionsGetTheirReasons) {
  ASSERT_EQ(nodes_.size(), 2u);
  EXPECT_EQ(A().WaitForPosition("garbage", std::chrono::milliseconds(10)).reason(), "bad_token");
  EXPECT_EQ(A().WaitForPosition("99:1-1", std::chrono::milliseconds(10)).reason(), "bad_token");
  Status far = A().WaitForPosition("0:99999999999999-0", std::chrono::milliseconds(100));
  EXPECT_EQ(far.reason(), "position_not_reached") << far.ToString();
  EXPECT_TRUE(A().WaitForPosition("", std::chrono::milliseconds(10)).ok());
  // All or nothing: one bad record, nothing reaches the log.
  std::vector<Result<RawEvent>> batch = {Raw("carol", "r1", 1000), Status::InvalidArgument("bad record")};
  auto w = A().IngestEvents(batch, Service::BatchMode::kAllOrNothing);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->accepted, 0u);
  EXPECT_EQ(w->rejected.size(), 1u);
  EXPECT_TRUE(w->position.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(B().GetUser("carol").ok());
}

// Over HTTP: node A's answer carries the token (body and X-Vane-Position); node B answers a read that carries it
// (header or ?position=) with the write in it; a bad token is 400, a position never reached 503.
TEST_F(ClusterNodes, TheTokenTravelsOverHttp) {
  ASSERT_EQ(nodes_.size(), 2u);
  std::atomic<bool> stop{false};
  std::vector<std::thread> servers;
  std::vector<int> ports;
  for (auto& node : nodes_) {
    HttpOptions ho;
    ho.port = 0;
    ho.threads = 4;  // its connection limit follows (each client below keeps one connection open)
    ho.log_requests = false;
    std::promise<int> bound;
    auto port = bound.get_future();
    servers.emplace_back([&, ho, p = std::move(bound)]() mutable {
      Status s = RunHttpServer(*node, ho, stop, [&](int pt) { p.set_value(pt); });
      EXPECT_TRUE(s.ok()) << s.ToString();
    });
    ports.push_back(port.get());
  }
  httplib::Client a("127.0.0.1", ports[0]), b("127.0.0.1", ports[1]);
  auto w = a.Post("/v1/events", R"([{"user":"dora","item":"r1","action":"view","ts":1000},
                                   {"user":"dora","item":"r2","action":"view","ts":1001}])",
                  "application/json");
  ASSERT_TRUE(w);
  ASSERT_EQ(w->status, 200) << w->body;
  const std::string token = w->get_header_value("X-Vane-Position");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(nlohmann::json::parse(w->body).at("position"), token);
  auto r = b.Get("/v1/users/dora", httplib::Headers{{"X-Vane-Position", token}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(nlohmann::json::parse(r->body).at("events"), 2);
  auto q = b.Get("/v1/users/dora/events?position=" + httplib::detail::encode_query_param(token));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->status, 200) << q->body;
  auto bad = b.Get("/v1/users/dora", httplib::Headers{{"X-Vane-Position", "junk"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("bad_token"), std::string::npos) << bad->body;
  auto never = b.Get("/v1/users/dora", httplib::Headers{{"X-Vane-Position", "0:99999999999999-0"}});
  ASSERT_TRUE(never);
  EXPECT_EQ(never->status, 503);
  EXPECT_NE(never->body.find("position_not_reached"), std::string::npos) << never->body;
  // Every write answers with its token: an item (native), users and feedback removal (Gorse), a deletion.
  auto it = a.Post("/v1/items", R"({"id":"tent-9","title":"dome tent"})", "application/json");
  ASSERT_TRUE(it);
  ASSERT_EQ(it->status, 200) << it->body;
  auto item = b.Get("/api/item/tent-9", httplib::Headers{{"X-Vane-Position", it->get_header_value("X-Vane-Position")}});
  ASSERT_TRUE(item);
  EXPECT_EQ(item->status, 200) << item->body;
  auto users = a.Post("/api/users", R"([{"UserId":"gil","Labels":["a"]},{"UserId":"hal","Labels":["b"]}])",
                      "application/json");
  ASSERT_TRUE(users);
  ASSERT_EQ(users->status, 200) << users->body;
  const std::string both = users->get_header_value("X-Vane-Position");
  ASSERT_FALSE(both.empty());
  for (const char* u : {"gil", "hal"}) {
    auto got = b.Get(std::string("/api/user/") + u, httplib::Headers{{"X-Vane-Position", both}});
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 200) << u << ": " << got->body;
  }
  auto unfb = b.Delete("/api/feedback/dora/r1");
  ASSERT_TRUE(unfb);
  ASSERT_EQ(unfb->status, 200) << unfb->body;
  auto evs = a.Get("/v1/users/dora/events", httplib::Headers{{"X-Vane-Position", unfb->get_header_value("X-Vane-Position")}});
  ASSERT_TRUE(evs);
  EXPECT_EQ(nlohmann::json::parse(evs->body).at("events").size(), 1u) << evs->body;
  auto del = b.Delete("/v1/users/dora");
  ASSERT_TRUE(del);
  ASSERT_EQ(del->status, 200) << del->body;
  auto gone = a.Get("/v1/users/dora", httplib::Headers{{"X-Vane-Position", del->get_header_value("X-Vane-Position")}});
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404) << gone->body;
  stop = true;
  for (auto& t : servers) t.join();
}

}  // namespace
}  // namespace vane
