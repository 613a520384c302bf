// The Store on Redis Cluster (cluster_store/redis_store.h) against a real cluster (tests/redis_cluster_harness.h:
// 3 masters, 3 replicas): the store conformance suite (tests/store_conformance.h, the memory store as the oracle),
// everything read back through a new client, and a master killed while a writer appends.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <set>
#include <thread>

#include "redis_cluster_harness.h"
#include "store_conformance.h"
#include "vane/cluster/redis_cluster.h"
#include "vane/cluster_store/redis_store.h"

namespace vane {
namespace {

using cluster::OpenRedisClusterStore;
using cluster::RedisCluster;
using cluster::RedisClusterOptions;
using vane::testing::RedisClusterHarness;

using vane::testing::OptionsFor;
using vane::testing::SharedRedisCluster;

std::unique_ptr<Store> MustOpen(const RedisClusterOptions& opt, const std::string& prefix) {
  auto s = OpenRedisClusterStore(opt, prefix);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Each test its own prefix on the shared cluster: a fresh, empty store.
std::unique_ptr<Store> OpenStoreForTest(const std::string& impl, const std::string& test) {
  EXPECT_EQ(impl, "redis");
  Status started;
  RedisClusterHarness& h = SharedRedisCluster(&started);
  EXPECT_TRUE(started.ok()) << started.ToString();
  if (!started.ok()) return nullptr;
  return MustOpen(OptionsFor(h), "conformance:" + test);
}
void CloseStoreForTest(const std::string&, const std::string&) {}

INSTANTIATE_TEST_SUITE_P(Implementations, StoreTest, ::testing::Values("redis"),
                         [](const auto& info) { return info.param; });

TEST(RedisClusterStore, EverythingIsReadBackThroughANewClient) {
  Status started;
  RedisClusterHarness& h = SharedRedisCluster(&started);
  ASSERT_TRUE(started.ok()) << started.ToString();
  using D = std::vector<std::pair<std::string, int64_t>>;
  std::vector<RawEvent> a = {Ev("u1", "i1", 10), Ev("u2", "i1", 11), Ev("u1", "i2", 12)};
  Loaded before;
  {
    auto s = MustOpen(OptionsFor(h), "reconnect");
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->AppendEvents(0, a).ok());
    ASSERT_TRUE(s->PutItems(std::vector<Item>{It("i1", "one"), It("i2", "two")}).ok());
    ASSERT_TRUE(s->PutUser("u1", R"({"Comment":"x"})").ok());
    ASSERT_TRUE(s->AddCounters(D{{"online/clicks", 4}}).ok());
    ASSERT_TRUE(s->PutMeta("actions", "[1]").ok());
    before = LoadAll(*s);
  }
  auto s = MustOpen(OptionsFor(h), "reconnect");
  ASSERT_NE(s, nullptr);
  Loaded after = LoadAll(*s);
  EXPECT_EQ(after, before);
  EXPECT_EQ(after.events.size(), 3u);
  EXPECT_EQ(after.items.size(), 2u);
  EXPECT_EQ(after.next, 3u);
  EXPECT_EQ(s->UserEvents("u1", 10).value().size(), 2u);
  EXPECT_EQ(s->GetUser("u1").value().value(), R"({"Comment":"x"})");
  EXPECT_EQ(s->Counters("online/").value(), (std::map<std::string, int64_t>{{"online/clicks", 4}}));
  EXPECT_EQ(s->GetMeta("actions").value().value(), "[1]");
  auto records = s->UserRecordsAfter("", 10);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_EQ(records->size(), 1u);
  // Another prefix is another store.
  auto other = MustOpen(OptionsFor(h), "reconnect-other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(LoadAll(*other), Loaded{});
}

TEST(RedisClusterStore, UserRecordsPageInByteOrder) {
  Status started;
  RedisClusterHarness& h = SharedRedisCluster(&started);
  ASSERT_TRUE(started.ok()) << started.ToString();
  auto s = MustOpen(OptionsFor(h), "records");
  ASSERT_NE(s, nullptr);
  for (const std::string& id : std::vector<std::string>{"b", "a", "c", "ab", std::string("a\0z", 3)}) ASSERT_TRUE(s->PutUser(id, "r" + id).ok());
  auto first = s->UserRecordsAfter("", 2);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].first, "a");
  EXPECT_EQ((*first)[1].first, std::string("a\0z", 3));
  auto rest = s->UserRecordsAfter((*first)[1].first, 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ((*rest)[0], (std::pair<std::string, std::string>{"ab", "rab"}));
  EXPECT_EQ((*rest)[2].first, "c");
  ASSERT_EQ(s->DeleteUser("ab").value(), 0u);
  EXPECT_EQ(s->UserRecordsAfter("a", 10).value().front().first, std::string("a\0z", 3));
  EXPECT_EQ(s->UserRecordsAfter(std::string("a\0z", 3), 10).value().size(), 2u) << "the deleted record is gone from the listing";
}

TEST(RedisClusterStore, APrefixWithABraceIsRefused) {
  Status started;
  RedisClusterHarness& h = SharedRedisCluster(&started);
  ASSERT_TRUE(started.ok()) << started.ToString();
  auto s = OpenRedisClusterStore(OptionsFor(h), "a{b}");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
}

std::vector<RawEvent> Batch(int b, int n) {
  std::vector<RawEvent> out;
  for (int k = 0; k < n; ++k) out.push_back(Ev("u" + std::to_string(k % 7), "i" + std::to_string(b), 1000 + b));
  return out;
}

TEST(RedisClusterStoreFailover, AKilledMasterFailsTheWriteWithUnavailableAndLeavesNoPartialBatch) {
  RedisClusterHarness h;
  Status started = h.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  auto admin = RedisCluster::Connect(OptionsFor(h));
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  const std::string victim = (*admin)->MasterForKey("{failover:log}:ev");
  std::string replica;
  for (const cluster::SlotRange& r : (*admin)->topology()) {
    if (r.master == victim && !r.replicas.empty()) replica = r.replicas[0];
  }
  ASSERT_FALSE(replica.empty());
  // The replica takes over only when told, after the write failed: no automatic failover races the test.
  ASSERT_EQ((*admin)->CommandOnNode(replica, {"CONFIG", "SET", "cluster-replica-no-failover", "yes"}).value().str, "OK");

  constexpr int kPer = 50;
  auto writer_store = MustOpen(OptionsFor(h, /*max_attempts=*/3), "failover");
  ASSERT_NE(writer_store, nullptr);
  std::atomic<int> acked{0};
  Status failure;
  std::thread writer([&] {
    for (int b = 0;; ++b) {
      Status s = writer_store->AppendEvents(static_cast<uint64_t>(b) * kPer, Batch(b, kPer));
      if (!s.ok()) {
        failure = s;
        return;
      }
      acked = b + 1;
    }
  });
  while (acked < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(h.Kill(victim, SIGKILL).ok());
  writer.join();
  EXPECT_EQ(failure.code(), StatusCode::kUnavailable) << failure.ToString();
  EXPECT_NE(failure.message().find(victim), std::string::npos) << failure.message();
  std::cerr << "after " << acked << " acknowledged batches: " << failure.ToString() << "\n";

  ASSERT_EQ((*admin)->CommandOnNode(replica, {"CLUSTER", "FAILOVER", "TAKEOVER"}).value().str, "OK");
  auto reader = MustOpen(OptionsFor(h, /*max_attempts=*/200), "failover");
  ASSERT_NE(reader, nullptr);
  Loaded l = LoadAll(*reader);
  // Every batch is whole or absent, and the batches present are a prefix of those written.
  std::map<uint64_t, int> per_batch;
  for (const auto& [seq, json] : l.events) ++per_batch[seq / kPer];
  for (const auto& [b, n] : per_batch) EXPECT_EQ(n, kPer) << "batch " << b << " is partial";
  ASSERT_FALSE(per_batch.empty());
  EXPECT_EQ(per_batch.rbegin()->first + 1, per_batch.size()) << "a batch is missing before the last one";
  std::cerr << per_batch.size() << " whole batches on the promoted replica (" << acked
            << " acknowledged; no WAIT: the last acknowledged ones may not have reached it)\n";
  // The store that failed writes again once the replica serves the slot.
  const uint64_t next = l.next;
  Status again = Status::Unavailable("not run");
  for (int i = 0; i < 100 && !again.ok(); ++i) {
    again = writer_store->AppendEvents(next, Batch(1000, kPer));
    if (!again.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(reader->LoadEvents(next, [](uint64_t, RawEvent&&) {}).value(), next + kPer);
}

}  // namespace
}  // namespace vane
