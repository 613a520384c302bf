// The Redis Cluster client against a real cluster (tests/redis_cluster_harness.h: 3 masters, 3 replicas, each a
// redis-server process on loopback): slots against the server's CLUSTER KEYSLOT, routing over every master,
// pipelines in order, a slot resharded during use (ASK, then MOVED), a master killed and its replica promoted,
// and error replies.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "redis_cluster_harness.h"
#include "vane/cluster/key_slot.h"
#include "vane/cluster/redis_cluster.h"

namespace vane::cluster {
namespace {

using Args = std::vector<std::string>;
using vane::testing::RedisClusterHarness;

std::unique_ptr<RedisCluster> ConnectTo(const RedisClusterHarness& h, int max_attempts = 16) {
  RedisClusterOptions opt;
  opt.seeds = h.addresses();
  opt.max_attempts = max_attempts;
  auto client = RedisCluster::Connect(opt);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(client).value() : nullptr;
}

// Runs a routed command that must answer without a transport failure.
Reply Must(RedisCluster& c, const Args& argv) {
  auto r = c.Command(argv);
  EXPECT_TRUE(r.ok()) << argv[0] << ": " << r.status().ToString();
  return r.ok() ? std::move(r).value() : Reply{};
}

Reply MustOnNode(RedisCluster& c, const std::string& address, const Args& argv) {
  auto r = c.CommandOnNode(address, argv);
  EXPECT_TRUE(r.ok()) << address << " " << argv[0] << ": " << r.status().ToString();
  return r.ok() ? std::move(r).value() : Reply{};
}

// A value that exercises binary safety: NUL, CR LF and high bytes.
std::string ValueFor(int i) { return "v" + std::to_string(i) + std::string("\0\r\n\xff", 4); }

// One cluster shared by the tests that do not change its shape.
class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    harness_ = new RedisClusterHarness();
    start_ = harness_->Start();
  }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(start_.ok()) << start_.ToString();
    client_ = ConnectTo(*harness_);
    ASSERT_NE(client_, nullptr);
  }
  static RedisClusterHarness* harness_;
  static Status start_;
  std::unique_ptr<RedisCluster> client_;
};
RedisClusterHarness* ClusterTest::harness_ = nullptr;
Status ClusterTest::start_;

TEST_F(ClusterTest, LearnsThreeMastersEachWithAReplica) {
  std::vector<SlotRange> ranges = client_->topology();
  std::set<std::string> masters;
  int covered = 0;
  for (const SlotRange& r : ranges) {
    masters.insert(r.master);
    EXPECT_EQ(r.replicas.size(), 1u) << r.master;
    covered += r.last - r.first + 1;
  }
  EXPECT_EQ(masters.size(), 3u);
  EXPECT_EQ(covered, kSlotCount);
}

TEST_F(ClusterTest, SlotsMatchTheServersKeyslot) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> len(0, 24), byte(0, 255), pick(0, 9);
  const std::string address = harness_->addresses()[0];
  for (int i = 0; i < 2000; ++i) {
    std::string key;
    for (int n = len(rng); n > 0; --n) {
      int p = pick(rng);  // braces often, so that tags of every shape occur
      key += p == 0 ? '{' : p == 1 ? '}' : static_cast<char>(byte(rng));
    }
    Reply r = MustOnNode(*client_, address, {"CLUSTER", "KEYSLOT", key});
    ASSERT_EQ(r.type, Reply::Type::kInteger) << r.DebugString();
    ASSERT_EQ(r.integer, KeySlot(key)) << "key of " << key.size() << " bytes";
  }
  EXPECT_EQ(MustOnNode(*client_, address, {"CLUSTER", "KEYSLOT", "123456789"}).integer, 0x31C3);
}

TEST_F(ClusterTest, KeysOverEveryMasterAreWrittenAndReadBack) {
  constexpr int kKeys = 300;
  std::map<std::string, int> per_master;
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "spread:" + std::to_string(i);
    EXPECT_EQ(Must(*client_, {"SET", key, ValueFor(i)}).str, "OK");
    ++per_master[client_->MasterForKey(key)];
  }
  ASSERT_EQ(per_master.size(), 3u);
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "spread:" + std::to_string(i);
    EXPECT_EQ(Must(*client_, {"GET", key}).str, ValueFor(i));
    // The key lives where the client routed it: its master answers without a redirection.
    Reply direct = MustOnNode(*client_, client_->MasterForKey(key), {"GET", key});
    EXPECT_EQ(direct.str, ValueFor(i)) << direct.DebugString();
  }
  for (const auto& [master, count] : per_master) {
    EXPECT_GT(count, 0);
    Reply n = MustOnNode(*client_, master, {"DBSIZE"});
    EXPECT_GE(n.integer, count) << master;
  }
  EXPECT_EQ(client_->stats().moved, 0u);
  EXPECT_EQ(client_->stats().ask, 0u);
}

TEST_F(ClusterTest, PipelineRepliesComeInTheCallersOrder) {
  std::vector<Args> batch;
  for (int i = 0; i < 100; ++i) {
    std::string k = "pipe:" + std::to_string(i);
    batch.push_back({"SET", k, ValueFor(i)});
    batch.push_back({"GET", k});
    batch.push_back({"INCRBY", "pipe:counter:" + std::to_string(i % 7), std::to_string(i)});
    batch.push_back({"GET", "pipe:missing:" + std::to_string(i)});
    batch.push_back({"LPUSH", k, "x"});  // WRONGTYPE: an error reply in the middle of the batch
  }
  auto replies = client_->Pipeline(batch);
  ASSERT_TRUE(replies.ok()) << replies.status().ToString();
  ASSERT_EQ(replies->size(), batch.size());
  std::map<int, int64_t> counters;
  for (int i = 0; i < 100; ++i) {
    const Reply* r = &(*replies)[5 * i];
    EXPECT_EQ(r[0].type, Reply::Type::kStatus);
    EXPECT_EQ(r[1].str, ValueFor(i)) << r[1].DebugString();
    counters[i % 7] += i;
    EXPECT_EQ(r[2].integer, counters[i % 7]) << i;
    EXPECT_TRUE(r[3].is_nil()) << r[3].DebugString();
    EXPECT_TRUE(r[4].is_error());
    EXPECT_EQ(r[4].str.rfind("WRONGTYPE", 0), 0u) << r[4].str;
  }
  std::set<std::string> nodes;
  for (const Args& c : batch) nodes.insert(client_->MasterForKey(c[1]));
  EXPECT_EQ(nodes.size(), 3u);  // the batch really spanned every master
}

TEST_F(ClusterTest, ErrorRepliesAreValuesAndTheClientGoesOn) {
  EXPECT_EQ(Must(*client_, {"SET", "err:s", "text"}).str, "OK");
  Reply wrong = Must(*client_, {"LPUSH", "err:s", "x"});
  ASSERT_TRUE(wrong.is_error()) << wrong.DebugString();
  Status s = wrong.ToStatus();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.reason(), "redis_error");
  EXPECT_NE(s.message().find("WRONGTYPE"), std::string::npos) << s.message();
  Reply unknown = Must(*client_, {"NOSUCHCOMMAND", "err:s"});
  EXPECT_TRUE(unknown.is_error());
  EXPECT_NE(unknown.str.find("unknown command"), std::string::npos) << unknown.str;
  EXPECT_EQ(Must(*client_, {"GET", "err:s"}).str, "text");
  EXPECT_TRUE(Must(*client_, {"PING"}).str == "PONG");
  EXPECT_EQ(client_->Command({}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ClusterTest, ThreadsSharingOneClientGetTheSequentialAnswers) {
  // Four threads through one client, each with its own keys over every master; the oracle is what each thread wrote.
  constexpr int kThreads = 4, kKeys = 150;
  std::vector<int> wrong(kThreads, 0), failed(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        std::string key = "mt:" + std::to_string(t) + ":" + std::to_string(i);
        auto set = client_->Command({"SET", key, ValueFor(t * kKeys + i)});
        auto batch = client_->Pipeline({{"GET", key}, {"INCR", "mt:count:" + std::to_string(t)}});
        if (!set.ok() || !batch.ok()) {
          ++failed[t];
          continue;
        }
        if ((*batch)[0].str != ValueFor(t * kKeys + i) || (*batch)[1].integer != i + 1) ++wrong[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failed[t], 0) << "thread " << t;
    EXPECT_EQ(wrong[t], 0) << "thread " << t;
  }
  EXPECT_EQ(client_->stats().commands, static_cast<uint64_t>(kThreads * kKeys * 3));
}

// The node id of the node at `address`.
std::string NodeId(RedisCluster& c, const std::string& address) {
  return MustOnNode(c, address, {"CLUSTER", "MYID"}).str;
}

TEST(ClusterResharding, FollowsAskDuringAMigrationAndMovedAfterIt) {
  RedisClusterHarness h;
  Status started = h.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  auto client = ConnectTo(h);
  ASSERT_NE(client, nullptr);
  auto admin = ConnectTo(h);  // administration on its own connections
  // Twenty keys in one slot (one hash tag), owned by `source`; `dest` is another master.
  const int slot = KeySlot("tag");
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) keys.push_back("{tag}:" + std::to_string(i));
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(Must(*client, {"SET", keys[i], ValueFor(i)}).str, "OK");
  const std::string source = client->MasterForKey(keys[0]);
  std::string dest;
  for (const SlotRange& r : client->topology()) {
    if (r.master != source) dest = r.master;
  }
  ASSERT_FALSE(dest.empty());
  const std::string source_id = NodeId(*admin, source), dest_id = NodeId(*admin, dest);
  const std::string dest_port = dest.substr(dest.rfind(':') + 1);

  EXPECT_EQ(MustOnNode(*admin, dest, {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", source_id}).str, "OK");
  EXPECT_EQ(MustOnNode(*admin, source, {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", dest_id}).str, "OK");
  Args migrate = {"MIGRATE", "127.0.0.1", dest_port, "", "0", "5000", "KEYS"};
  migrate.insert(migrate.end(), keys.begin(), keys.begin() + 10);  // half the keys move now
  EXPECT_EQ(MustOnNode(*admin, source, migrate).str, "OK");

  // Mid-migration: moved keys answer through ASK, the others from the source, a new key lands on dest.
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(Must(*client, {"GET", keys[i]}).str, ValueFor(i)) << keys[i];
  EXPECT_GE(client->stats().ask, 10u);
  EXPECT_EQ(Must(*client, {"SET", "{tag}:new", "fresh"}).str, "OK");
  std::vector<Args> batch;
  for (const std::string& k : keys) batch.push_back({"GET", k});
  batch.push_back({"GET", "{tag}:new"});
  batch.push_back({"GET", "spread:elsewhere"});
  auto replies = client->Pipeline(batch);
  ASSERT_TRUE(replies.ok()) << replies.status().ToString();
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ((*replies)[i].str, ValueFor(i));
  EXPECT_EQ((*replies)[keys.size()].str, "fresh");
  EXPECT_TRUE((*replies)[keys.size() + 1].is_nil());
  EXPECT_EQ(client->MasterForKey(keys[0]), source);  // ASK never changes the map
  EXPECT_EQ(client->stats().moved, 0u);

  // Finish: the rest of the keys move, and every master learns that dest owns the slot.
  Args rest = {"MIGRATE", "127.0.0.1", dest_port, "", "0", "5000", "KEYS"};
  rest.insert(rest.end(), keys.begin() + 10, keys.end());
  EXPECT_EQ(MustOnNode(*admin, source, rest).str, "OK");
  for (const std::string& node : {dest, source}) {
    EXPECT_EQ(MustOnNode(*admin, node, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", dest_id}).str, "OK");
  }
  for (const SlotRange& r : admin->topology()) {
    if (r.master != dest && r.master != source) {
      EXPECT_EQ(MustOnNode(*admin, r.master, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", dest_id}).str, "OK");
    }
  }
  const uint64_t ask_before = client->stats().ask;
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(Must(*client, {"GET", keys[i]}).str, ValueFor(i)) << keys[i];
  EXPECT_EQ(Must(*client, {"GET", "{tag}:new"}).str, "fresh");
  EXPECT_GE(client->stats().moved, 1u);
  EXPECT_EQ(client->stats().ask, ask_before);
  EXPECT_EQ(client->MasterForKey(keys[0]), dest);
}

TEST(ClusterFailover, ReplicaTakesOverAfterTheMasterIsKilled) {
  RedisClusterHarness h;
  Status started = h.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  auto client = ConnectTo(h, /*max_attempts=*/200);
  ASSERT_NE(client, nullptr);
  constexpr int kKeys = 200;
  for (int i = 0; i < kKeys; ++i) Must(*client, {"SET", "fo:" + std::to_string(i), ValueFor(i)});
  const std::string victim = client->MasterForKey("fo:0");
  std::string replica;
  for (const SlotRange& r : client->topology()) {
    if (r.master == victim && !r.replicas.empty()) replica = r.replicas[0];
  }
  ASSERT_FALSE(replica.empty());
  // Every write reached the replica before the master dies.
  EXPECT_GE(MustOnNode(*client, victim, {"WAIT", "1", "5000"}).integer, 1);
  // A client that holds a connection to the victim when it dies, and a key the victim serves.
  RedisClusterOptions two;
  two.seeds = h.addresses();
  two.max_attempts = 2;
  auto stale = RedisCluster::Connect(two);
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_EQ(Must(**stale, {"GET", "fo:0"}).str, ValueFor(0));
  std::string big_key;
  for (int i = 0; big_key.empty(); ++i) {
    if (client->MasterForKey("big:" + std::to_string(i)) == victim) big_key = "big:" + std::to_string(i);
  }
  // The replica waits to be told (CLUSTER FAILOVER TAKEOVER below): no automatic failover races the test.
  EXPECT_EQ(MustOnNode(*client, replica, {"CONFIG", "SET", "cluster-replica-no-failover", "yes"}).str, "OK");
  ASSERT_TRUE(h.Kill(victim, SIGKILL).ok());

  // A large write into the dead connection fails as a value (the peer's reset must not raise SIGPIPE).
  auto big = (*stale)->Command({"SET", big_key, std::string(8 << 20, 'x')});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kUnavailable) << big.status().ToString();

  // While nothing serves the slot, a client with few attempts gives up with a message naming the node.
  RedisClusterOptions brief;
  brief.seeds = h.addresses();
  brief.max_attempts = 3;
  auto impatient = RedisCluster::Connect(brief);
  ASSERT_TRUE(impatient.ok()) << impatient.status().ToString();
  auto failed = (*impatient)->Command({"GET", "fo:0"});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(failed.status().message().find(victim), std::string::npos) << failed.status().message();
  EXPECT_NE(failed.status().message().find("Connection refused"), std::string::npos) << failed.status().message();
  EXPECT_NE(failed.status().message().find("3 attempts"), std::string::npos) << failed.status().message();
  std::cerr << "kUnavailable after 3 attempts: " << failed.status().ToString() << "\n";

  // Once the other nodes mark the victim failed, the cluster is down: every node answers CLUSTERDOWN, on every slot.
  // The client retries that too, then says so.
  bool down = false;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       !down && std::chrono::steady_clock::now() < deadline;) {
    down = true;
    for (const RedisClusterHarness::Node& n : h.nodes()) {
      std::string info;
      if (n.pid > 0) h.Cli(n, {"cluster", "info"}, &info);
      if (n.pid > 0 && info.find("cluster_state:fail") == std::string::npos) down = false;
    }
    if (!down) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(down) << "the nodes never marked the killed master failed";
  std::string elsewhere;
  for (int i = 0; elsewhere.empty(); ++i) {
    if (client->MasterForKey("alive:" + std::to_string(i)) != victim) elsewhere = "alive:" + std::to_string(i);
  }
  auto clusterdown = (*impatient)->Command({"GET", elsewhere});
  ASSERT_FALSE(clusterdown.ok());
  EXPECT_EQ(clusterdown.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(clusterdown.status().message().find("CLUSTERDOWN"), std::string::npos) << clusterdown.status().message();
  std::cerr << "kUnavailable while the cluster is down: " << clusterdown.status().ToString() << "\n";

  // A patient client's command spans the failover: it retries until the replica has taken over.
  Result<Reply> during = Status::Internal("not run");
  std::thread reader([&] { during = client->Command({"GET", "fo:0"}); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (client->stats().retries == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(client->stats().retries, 1u);  // the command is retrying against the dead master
  EXPECT_EQ(MustOnNode(**impatient, replica, {"CLUSTER", "FAILOVER", "TAKEOVER"}).str, "OK");
  reader.join();
  ASSERT_TRUE(during.ok()) << during.status().ToString();
  EXPECT_EQ(during->str, ValueFor(0));

  int on_victim_range = 0;
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "fo:" + std::to_string(i);
    EXPECT_EQ(Must(*client, {"GET", key}).str, ValueFor(i)) << key;
    if (client->MasterForKey(key) == replica) ++on_victim_range;
  }
  EXPECT_GT(on_victim_range, 0);
  EXPECT_EQ(client->MasterForKey("fo:0"), replica);
  EXPECT_EQ(Must(*client, {"SET", "fo:0", "after"}).str, "OK");
  EXPECT_EQ(Must(*client, {"GET", "fo:0"}).str, "after");
}

}  // namespace
}  // namespace vane::cluster
