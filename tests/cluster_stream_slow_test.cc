// The event log as Redis Streams (cluster_store/stream_log.h) against a real cluster (tests/redis_cluster_harness.h:
// 3 masters, 3 replicas): partitions by user, idempotent batches, tailers that agree on one order whenever they
// read, malformed entries reported, position tokens, and a master killed during ingestion with and without WAIT.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "redis_cluster_harness.h"
#include "vane/cluster/key_slot.h"
#include "vane/cluster/redis_cluster.h"
#include "vane/cluster_store/cluster_state.h"
#include "vane/cluster_store/stream_log.h"

namespace vane {
namespace {

using cluster::AppendReceipt;
using cluster::LogEntry;
using cluster::RedisCluster;
using cluster::RedisClusterOptions;
using cluster::StreamId;
using cluster::StreamLog;
using cluster::StreamLogOptions;
using cluster::StreamTailer;
using vane::testing::RedisClusterHarness;

using vane::testing::OptionsFor;
using vane::testing::SharedRedisCluster;

#define SHARED_CLUSTER(h)                                 \
  Status started_;                                        \
  RedisClusterHarness& h = SharedRedisCluster(&started_);      \
  ASSERT_TRUE(started_.ok()) << started_.ToString()

RawEvent Ev(const std::string& user, const std::string& item, Timestamp ts) {
  RawEvent e;
  e.user = user;
  e.item = item;
  e.action = "click";
  e.ts = ts;
  e.has_ts = true;
  return e;
}

std::unique_ptr<StreamLog> MustOpenLog(const RedisClusterOptions& c, const StreamLogOptions& o) {
  auto log = StreamLog::Open(c, o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

std::unique_ptr<StreamTailer> MustOpenTailer(const RedisClusterOptions& c, const StreamLogOptions& o,
                                             StreamTailer::Options t = {}) {
  auto tailer = StreamTailer::Open(c, o, t);
  EXPECT_TRUE(tailer.ok()) << tailer.status().ToString();
  return tailer.ok() ? std::move(tailer).value() : nullptr;
}

// Polls until `events` events were released (or 30 s passed), appending what it releases to `out`.
void PollUntil(StreamTailer& t, uint64_t events, std::vector<LogEntry>& out) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (t.stats().events < events && std::chrono::steady_clock::now() < deadline) {
    auto got = t.Poll();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    for (auto& e : *got) out.push_back(std::move(e));
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  ASSERT_EQ(t.stats().events, events);
}

std::vector<std::string> Order(const std::vector<LogEntry>& entries) {
  std::vector<std::string> out;
  for (const LogEntry& e : entries) out.push_back(std::to_string(e.partition) + ":" + e.id.ToString());
  return out;
}

TEST(StreamLog, TailersReadingAtDifferentTimesReleaseOneOrderAndKeepEachUsersOrder) {
  SHARED_CLUSTER(h);
  StreamLogOptions o;
  o.prefix = "order";
  o.partitions = 8;
  constexpr int kWriters = 3, kBatches = 40, kPer = 20;
  constexpr uint64_t kTotal = uint64_t{kWriters} * kBatches * kPer;
  auto early = MustOpenTailer(OptionsFor(h), o);
  ASSERT_NE(early, nullptr);
  std::vector<LogEntry> early_out, middle_out, late_out;
  std::atomic<int> batches_done{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto log = MustOpenLog(OptionsFor(h), o);
      if (!log) return;
      for (int b = 0; b < kBatches; ++b) {
        std::vector<RawEvent> batch;
        // Each writer its own users, so each user's order is this writer's order: item = batch * kPer + k.
        for (int k = 0; k < kPer; ++k)
          batch.push_back(Ev("w" + std::to_string(w) + "u" + std::to_string(k % 9), std::to_string(b * kPer + k), 1));
        auto r = log->Append("w" + std::to_string(w) + "b" + std::to_string(b), batch);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        ++batches_done;
      }
    });
  }
  std::unique_ptr<StreamTailer> middle;
  std::thread early_reader([&] { PollUntil(*early, kTotal, early_out); });
  while (batches_done < kWriters * kBatches / 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  middle = MustOpenTailer(OptionsFor(h), o);
  ASSERT_NE(middle, nullptr);
  std::thread middle_reader([&] { PollUntil(*middle, kTotal, middle_out); });
  for (auto& t : writers) t.join();
  early_reader.join();
  middle_reader.join();
  auto late = MustOpenTailer(OptionsFor(h), o, {.order_margin = std::chrono::milliseconds(20), .read_count = 7});
  ASSERT_NE(late, nullptr);
  PollUntil(*late, kTotal, late_out);

  EXPECT_EQ(Order(early_out), Order(late_out));
  EXPECT_EQ(Order(middle_out), Order(late_out));
  EXPECT_EQ(early->stats().late_entries, 0u);
  EXPECT_EQ(early->positions(), late->positions());
  std::map<std::string, std::vector<int>> per_user;
  std::set<std::string> batches;
  for (const LogEntry& e : late_out) {
    ASSERT_TRUE(e.error.empty()) << e.error;
    batches.insert(e.batch + "/" + std::to_string(e.partition));
    for (const RawEvent& ev : e.events) {
      EXPECT_EQ(e.partition, cluster::KeySlot(ev.user) % o.partitions) << ev.user;
      per_user[ev.user].push_back(std::stoi(ev.item));
    }
  }
  EXPECT_EQ(per_user.size(), size_t{kWriters} * 9);
  for (const auto& [user, items] : per_user) EXPECT_TRUE(std::is_sorted(items.begin(), items.end())) << user;
  std::cerr << late_out.size() << " entries (" << batches.size() << " batch parts) in one order; early tailer "
            << early->stats().polls << " polls\n";
}

TEST(StreamLog, ABatchSentAgainUnderItsIdIsNotWrittenAgain) {
  SHARED_CLUSTER(h);
  StreamLogOptions o;
  o.prefix = "dedup";
  o.partitions = 4;
  auto log = MustOpenLog(OptionsFor(h), o);
  ASSERT_NE(log, nullptr);
  std::vector<RawEvent> batch;
  for (int u = 0; u < 12; ++u) batch.push_back(Ev("u" + std::to_string(u), "i", 5));
  auto first = log->Append("batch-1", batch);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->duplicate());
  ASSERT_GE(first->entries.size(), 2u) << "the batch should span partitions";
  uint64_t total = 0;
  for (const auto& e : first->entries) total += e.events;
  EXPECT_EQ(total, batch.size());
  auto again = log->Append("batch-1", batch);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate());
  EXPECT_EQ(again->Token(), first->Token());
  auto other = log->Append("batch-2", batch);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->duplicate());
  auto lengths = log->Lengths();
  ASSERT_TRUE(lengths.ok());
  uint64_t entries = 0;
  for (uint64_t n : *lengths) entries += n;
  EXPECT_EQ(entries, 2 * first->entries.size());
}

TEST(StreamLog, RefusesBadOptionsIdsAndTokensWithTheReason) {
  SHARED_CLUSTER(h);
  StreamLogOptions o;
  o.prefix = "a{b";
  EXPECT_EQ(StreamLog::Open(OptionsFor(h), o).status().code(), StatusCode::kInvalidArgument);
  o.prefix = "bad";
  o.partitions = 0;
  EXPECT_EQ(StreamLog::Open(OptionsFor(h), o).status().code(), StatusCode::kInvalidArgument);
  o.partitions = 4;
  auto log = MustOpenLog(OptionsFor(h), o);
  ASSERT_NE(log, nullptr);
  std::vector<RawEvent> one = {Ev("u", "i", 1)};
  EXPECT_EQ(log->Append("", one).status().reason(), "bad_batch_id");
  EXPECT_EQ(log->Append(std::string(201, 'x'), one).status().reason(), "bad_batch_id");
  auto empty = log->Append("empty", {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Token(), "");
  EXPECT_TRUE(cluster::ParseToken("", 4).value().empty());
  auto good = cluster::ParseToken("0:1-2,3:4-5", 4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->size(), 2u);
  for (const char* bad : {"x", "4:1-2", "1:1", "1:-2", ":1-2", "0:1-2,", "0:1-2,,1:1-1", "-1:1-2", "1:99999999999999999999-0"}) {
    auto t = cluster::ParseToken(bad, 4);
    EXPECT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().reason(), "bad_token") << bad;
  }
  EXPECT_FALSE(cluster::ParseToken(std::string(70000, '1'), 4).ok());
  EXPECT_EQ(StreamTailer::Open(OptionsFor(h), o, {}, {StreamId{}}).status().code(), StatusCode::kInvalidArgument);
}

TEST(StreamTailer, ReleasesMalformedEntriesAsRejectionsAndGoesOn) {
  SHARED_CLUSTER(h);
  StreamLogOptions o;
  o.prefix = "junk";
  o.partitions = 1;
  auto log = MustOpenLog(OptionsFor(h), o);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append("good-1", std::vector<RawEvent>{Ev("u", "a", 1)}).ok());
  const std::string key = log->StreamKey(0);
  std::vector<std::vector<std::string>> junk = {
      {"XADD", key, "*", "b", "x1", "n", "1"},                                         // no events
      {"XADD", key, "*", "b", "x2", "e", "{not json", "n", "1"},                       // not JSON
      {"XADD", key, "*", "b", "x3", "e", "[{\"user\": [1], \"item\": \"a\"}]", "n", "1"},  // wrong type
      {"XADD", key, "*", "b", "x4", "e", "[{\"user\": \"u\", \"item\": \"a\", \"action\": \"click\"}]", "n", "2"},
      {"XADD", key, "*", "odd"},
  };
  for (const auto& cmd : junk) {
    auto r = log->client().Command(cmd);
    ASSERT_TRUE(r.ok());
    // The last one is refused by Redis itself (an odd field list); the others are stored.
    if (cmd.size() == 4) {
      EXPECT_TRUE(r->is_error());
    }
  }
  ASSERT_TRUE(log->Append("good-2", std::vector<RawEvent>{Ev("u", "b", 2)}).ok());
  auto t = MustOpenTailer(OptionsFor(h), o);
  ASSERT_NE(t, nullptr);
  std::vector<LogEntry> out;
  PollUntil(*t, 2, out);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].events.at(0).item, "a");
  EXPECT_EQ(out[1].error, "field e: missing");
  EXPECT_EQ(out[2].error, "field e: not a JSON array");
  EXPECT_NE(out[3].error.find("field e: event 0: user"), std::string::npos) << out[3].error;
  EXPECT_EQ(out[4].error, "field n: does not match the events");
  EXPECT_EQ(out[5].events.at(0).item, "b");
  EXPECT_EQ(t->stats().rejected, 4u);
}

TEST(StreamTailer, CoversAWriteOnlyOnceItReleasedIt) {
  SHARED_CLUSTER(h);
  StreamLogOptions o;
  o.prefix = "token";
  o.partitions = 4;
  auto log = MustOpenLog(OptionsFor(h), o);
  ASSERT_NE(log, nullptr);
  // A long margin holds the entries back, so the tailer has read them but not released them yet.
  auto t = MustOpenTailer(OptionsFor(h), o, {.order_margin = std::chrono::milliseconds(400), .read_count = 1000});
  ASSERT_NE(t, nullptr);
  std::vector<RawEvent> batch;
  for (int u = 0; u < 8; ++u) batch.push_back(Ev("u" + std::to_string(u), "i", 1));
  auto r = log->Append("t1", batch);
  ASSERT_TRUE(r.ok());
  auto token = cluster::ParseToken(r->Token(), 4);
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(t->Poll().ok());
  EXPECT_FALSE(t->Covers(*token));
  EXPECT_GT(t->stats().buffered, 0u);
  std::vector<LogEntry> out;
  PollUntil(*t, batch.size(), out);
  EXPECT_TRUE(t->Covers(*token));
}

// Kills the master of partition 0 with SIGKILL while a writer appends (retrying each batch under its id until it
// is acknowledged), promotes its replica, and returns the acknowledged batches missing from the log afterwards.
struct FailoverOutcome {
  int acked = 0, missing = 0, duplicated = 0, retries = 0;
};
FailoverOutcome RunFailover(int wait_replicas) {
  FailoverOutcome out;
  RedisClusterHarness h;
  Status started = h.Start();
  EXPECT_TRUE(started.ok()) << started.ToString();
  if (!started.ok()) return out;
  StreamLogOptions o;
  o.prefix = "fo";
  o.partitions = 6;
  o.wait_replicas = wait_replicas;
  auto admin = RedisCluster::Connect(OptionsFor(h));
  EXPECT_TRUE(admin.ok());
  auto log = MustOpenLog(OptionsFor(h, 4), o);
  if (!admin.ok() || !log) return out;
  const std::string victim = (*admin)->MasterForKey(log->StreamKey(0));
  std::string replica;
  for (const cluster::SlotRange& r : (*admin)->topology())
    if (r.master == victim && !r.replicas.empty()) replica = r.replicas[0];
  EXPECT_FALSE(replica.empty());
  EXPECT_EQ((*admin)->CommandOnNode(replica, {"CONFIG", "SET", "cluster-replica-no-failover", "yes"}).value().str, "OK");
  constexpr int kPer = 30, kBatches = 120;
  std::atomic<int> acked{0};
  std::thread writer([&] {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<RawEvent> batch;
      for (int k = 0; k < kPer; ++k) batch.push_back(Ev("u" + std::to_string(k), "b" + std::to_string(b), b));
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      for (;;) {
        auto r = log->Append("batch" + std::to_string(b), batch);
        if (r.ok() || std::chrono::steady_clock::now() > deadline) break;
        if (out.retries++ % 20 == 0) std::cerr << "batch " << b << ": " << r.status().ToString() << "\n";
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      acked = b + 1;
    }
  });
  while (acked < 30) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(h.Kill(victim, SIGKILL).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ((*admin)->CommandOnNode(replica, {"CLUSTER", "FAILOVER", "TAKEOVER"}).value().str, "OK");
  // The promoted master has no replica until the killed node comes back as one (with WAIT 1 its partitions'
  // batches are not acknowledged meanwhile).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(h.Restart(victim).ok());
  writer.join();
  out.acked = acked;
  // Read everything back: each acknowledged batch must be there once per partition it spans.
  auto t = MustOpenTailer(OptionsFor(h, 200), o);
  if (!t) return out;
  std::map<std::string, int> events_per_batch, entries_per_part;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  uint64_t last = UINT64_MAX;
  while (std::chrono::steady_clock::now() < deadline) {
    auto got = t->Poll();
    if (!got.ok()) continue;
    for (const LogEntry& e : *got) {
      events_per_batch[e.batch] += static_cast<int>(e.events.size());
      ++entries_per_part[e.batch + "/" + std::to_string(e.partition)];
    }
    if (t->stats().events == last && t->stats().buffered == 0) break;
    last = t->stats().events;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int b = 0; b < out.acked; ++b)
    if (events_per_batch["batch" + std::to_string(b)] < kPer) ++out.missing;
  for (const auto& [part, n] : entries_per_part) out.duplicated += n > 1 ? 1 : 0;
  return out;
}

std::unique_ptr<cluster::ClusterState> MustOpenState(const RedisClusterOptions& c, const std::string& prefix,
                                                     int partitions, size_t chunk_bytes) {
  auto client = RedisCluster::Connect(c);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  if (!client.ok()) return nullptr;
  return std::make_unique<cluster::ClusterState>(std::move(client).value(), prefix, partitions, chunk_bytes);
}

TEST(ClusterState, LeasesGoToOneHolderAtATimeWithGrowingFencingTokens) {
  SHARED_CLUSTER(h);
  auto st = MustOpenState(OptionsFor(h), "lease-test", 4, 1024);
  ASSERT_NE(st, nullptr);
  const auto ttl = std::chrono::milliseconds(300);
  const uint64_t a = st->TryLease("trainer", "node a", ttl).value();
  EXPECT_GT(a, 0u);
  EXPECT_EQ(st->TryLease("trainer", "node b", ttl).value(), 0u) << "held by a";
  EXPECT_EQ(st->TryLease("trainer", "node a", ttl).value(), a) << "renewed, same token";
  EXPECT_GT(st->TryLease("snap", "node b", ttl).value(), 0u) << "another lease is independent";
  std::this_thread::sleep_for(std::chrono::milliseconds(450));  // a stalls past the expiry
  const uint64_t b = st->TryLease("trainer", "node b", ttl).value();
  EXPECT_GT(b, a) << "a new holder gets a larger token";
  ASSERT_TRUE(st->ReleaseLease("trainer", "node a", a).ok());  // a's stale release leaves b's lease alone
  EXPECT_EQ(st->TryLease("trainer", "node c", ttl).value(), 0u);
  ASSERT_TRUE(st->ReleaseLease("trainer", "node b", b).ok());
  EXPECT_GT(st->TryLease("trainer", "node c", ttl).value(), b);
  EXPECT_FALSE(st->TryLease("bad{name}", "x", ttl).ok());
  EXPECT_FALSE(st->TryLease("trainer", "", ttl).ok());
}

TEST(ClusterState, SnapshotsAreStoredInChunksCheckedFencedAndPruned) {
  SHARED_CLUSTER(h);
  auto st = MustOpenState(OptionsFor(h), "snap-test", 4, 1000);
  ASSERT_NE(st, nullptr);
  std::string image(4500, '\0');
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<char>(i * 131 + 7);
  const uint64_t lease = st->TryLease("snap", "n1", std::chrono::seconds(30)).value();
  ASSERT_GT(lease, 0u);
  SharedSnapshot meta;
  meta.node = "n1";
  for (uint64_t seq : {10, 20, 30}) {
    meta.seq = seq;
    meta.position = "0:" + std::to_string(seq) + "-0";
    auto put = st->PutSnapshot(meta, image + std::to_string(seq), lease, 2);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    EXPECT_EQ(put->bytes, 4502u);
  }
  auto list = st->ListSnapshots().value();
  ASSERT_EQ(list.size(), 2u) << "the oldest was pruned";
  EXPECT_EQ(list[0].seq, 30u);
  EXPECT_EQ(list[1].seq, 20u);
  EXPECT_EQ(st->ReadSnapshot(list[0]).value(), image + "30");
  // A writer that lost the lease cannot commit (fencing).
  ASSERT_TRUE(st->ReleaseLease("snap", "n1", lease).ok());
  ASSERT_GT(st->TryLease("snap", "n2", std::chrono::seconds(30)).value(), lease);
  meta.seq = 40;
  auto stale = st->PutSnapshot(meta, image, lease, 2);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().reason(), "lease_lost") << stale.status().ToString();
  EXPECT_EQ(st->ListSnapshots().value().size(), 2u);
  // A damaged or missing chunk is found, never loaded.
  auto client = RedisCluster::Connect(OptionsFor(h)).value();
  const std::string chunk = "{snap-test:snap}:c:" + list[0].id + ":2";
  ASSERT_TRUE(client->Command({"SETRANGE", chunk, "5", "x"}).ok());
  auto bad = st->ReadSnapshot(list[0]);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().reason(), "snapshot_corrupt");
  ASSERT_TRUE(client->Command({"DEL", chunk}).ok());
  bad = st->ReadSnapshot(list[0]);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("chunk 2 of 5 is missing"), std::string::npos) << bad.status().ToString();
  // A garbage index entry is skipped.
  ASSERT_TRUE(client->Command({"HSET", "{snap-test:snap}:index", "junk", "{not json"}).ok());
  EXPECT_EQ(st->ListSnapshots().value().size(), 2u);
}

TEST(ClusterState, TrimmingBehindTheOldestSnapshotStopsATailerThatHasNotReadThatFar) {
  SHARED_CLUSTER(h);
  StreamLogOptions o;
  o.prefix = "trim-test";
  o.partitions = 2;
  auto log = MustOpenLog(OptionsFor(h), o);
  ASSERT_NE(log, nullptr);
  auto early = MustOpenTailer(OptionsFor(h), o);  // opened now, reads nothing before the trim
  auto reader = MustOpenTailer(OptionsFor(h), o);
  ASSERT_TRUE(early && reader);
  for (int b = 0; b < 20; ++b) {
    std::vector<RawEvent> evs{Ev("u" + std::to_string(b % 5), "i", 1000 + b)};
    ASSERT_TRUE(log->Append("t" + std::to_string(b), evs).ok());
  }
  std::vector<LogEntry> got;
  PollUntil(*reader, 20, got);
  // A snapshot at the reader's position; trimming removes what it covers (every entry up to that position).
  std::string position;
  for (int p = 0; p < 2; ++p) position += (p ? "," : "") + std::to_string(p) + ":" + reader->positions()[p].ToString();
  auto st = MustOpenState(OptionsFor(h), "trim-test", 2, 1 << 20);
  const uint64_t lease = st->TryLease("snap", "n", std::chrono::seconds(10)).value();
  SharedSnapshot meta;
  meta.node = "n";
  meta.seq = 20;
  meta.position = position;
  ASSERT_TRUE(st->PutSnapshot(meta, "state", lease, 2).ok());
  const uint64_t removed = st->TrimBehindSnapshots().value();
  EXPECT_EQ(removed, 20u);
  EXPECT_EQ(log->Lengths().value(), (std::vector<uint64_t>{0, 0}));
  // The reader is past the trim: it goes on and sees new entries.
  ASSERT_TRUE(log->Append("t-after", std::vector<RawEvent>{Ev("u1", "j", 5000)}).ok());
  PollUntil(*reader, 21, got);
  // The tailer that had read nothing is told, not silently moved past the gap.
  auto r = early->Poll();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "log_trimmed") << r.status().ToString();
  // Seeking to the snapshot's position makes it read on from there.
  std::vector<StreamId> from = reader->positions();
  auto again = MustOpenTailer(OptionsFor(h), o);
  std::vector<StreamId> snap_pos;
  const auto parts = cluster::ParseToken(position, 2).value();
  for (const auto& [p, id] : parts) snap_pos.push_back(id);
  ASSERT_TRUE(again->Seek(snap_pos).ok());
  std::vector<LogEntry> rest;
  PollUntil(*again, 1, rest);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].batch, "t-after");
  EXPECT_EQ(again->positions(), from);
  EXPECT_FALSE(again->Seek({}).ok());
}

TEST(StreamLogFailover, WithWaitOneNoAcknowledgedBatchIsLostWhenAMasterDies) {
  FailoverOutcome r = RunFailover(/*wait_replicas=*/1);
  std::cerr << "WAIT 1: " << r.acked << " batches acknowledged, " << r.missing << " missing, " << r.duplicated
            << " written twice, " << r.retries << " retries\n";
  EXPECT_EQ(r.acked, 120);
  EXPECT_EQ(r.missing, 0);
  EXPECT_EQ(r.duplicated, 0);
  EXPECT_GT(r.retries, 0) << "the kill should have failed some appends";
}

TEST(StreamLogFailover, WithoutWaitTheLossWindowIsMeasured) {
  FailoverOutcome r = RunFailover(/*wait_replicas=*/0);
  std::cerr << "no WAIT: " << r.acked << " batches acknowledged, " << r.missing
            << " acknowledged batches missing after the failover, " << r.duplicated << " written twice, " << r.retries
            << " retries\n";
  EXPECT_EQ(r.acked, 120);
  EXPECT_EQ(r.duplicated, 0);
}

}  // namespace
}  // namespace vane
