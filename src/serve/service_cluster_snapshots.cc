// Cluster snapshots (docs/cluster.md, "Snapshots in the cluster"): a node's whole state, with the log position it
// covers, kept in the cluster so that a new or restarted node loads it and reads the log on from there instead of
// replaying the whole log; one node at a time writes one (the lease "snap"; with node groups, one per group: SharedLog::SnapshotKind), and the log is trimmed behind the
// oldest kept.
//
// The image: the tag "vane-node-snapshot", its format, the log position (SharedLog::Position()), the mirror's next
// position; the mirror store's events (event blocks of contiguous positions, so the positions are kept) and its
// items, its metadata, user records and counters; then the state payload a local snapshot holds (service_snapshots.cc), which StateFromPayload reads.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "vane/core/binary_io.h"
#include "vane/serve/service.h"
#include "vane/store/event_block.h"

namespace vane {
namespace {

constexpr uint32_t kNodeImageFormat = 2;  // 2: user records and counters after the metadata  // bump on any change of the layout above or of the state payload
constexpr std::chrono::milliseconds kSnapLease{5 * 60 * 1000};
const std::string kMirrorMeta[] = {"actions", "has_timestamps", "blend"};

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The mirror's events as blocks of contiguous positions, and its items.
Status WriteMirror(BinaryWriter& w, const Store& store) {
  std::vector<std::pair<uint64_t, std::string>> blocks;
  std::vector<RawEvent> run;
  uint64_t run_first = 0;
  auto flush = [&] {
    if (!run.empty()) blocks.emplace_back(run_first, EncodeEventBlock(run));
    run.clear();
  };
  VANE_ASSIGN_OR_RETURN(uint64_t next, store.LoadEvents(0, [&](uint64_t seq, RawEvent&& e) {
                          if (run.empty() || seq != run_first + run.size() || run.size() >= kMaxBlockEvents) {
                            flush();
                            run_first = seq;
                          }
                          run.push_back(std::move(e));
                        }));
  flush();
  w.U64(next);
  w.U64(blocks.size());
  for (const auto& [first, block] : blocks) {
    w.U64(first);
    w.Str(block);
  }
  std::vector<std::pair<std::string, std::string>> items;
  VANE_RETURN_IF_ERROR(store.LoadItems([&](Item&& it) { items.emplace_back(it.id, ItemToJson(it)); }));
  w.U64(items.size());
  for (const auto& [id, json] : items) {
    w.Str(id);
    w.Str(json);
  }
  // The metadata the state depends on: the action registry (feedback types added at run time), whether events
  // carry times, the fitted blend (a node that joins serves it at once instead of fitting its own).
  std::vector<std::pair<std::string, std::string>> meta;
  for (const std::string& key : kMirrorMeta) {
    VANE_ASSIGN_OR_RETURN(auto v, store.GetMeta(key));
    if (v) meta.emplace_back(key, *v);
  }
  w.U64(meta.size());
  for (const auto& [k, v] : meta) {
    w.Str(k);
    w.Str(v);
  }
  return Status::Ok();
}

// The mirror's user records (client records such as Gorse's) and its counters (the online feedback counts).
Status WriteRecords(BinaryWriter& w, const Store& store) {
  std::vector<std::pair<std::string, std::string>> users;
  for (std::string after;;) {
    VANE_ASSIGN_OR_RETURN(auto page, store.UserRecordsAfter(after, 4096));
    if (page.empty()) break;
    after = page.back().first;
    for (auto& u : page) users.push_back(std::move(u));
  }
  w.U64(users.size());
  for (const auto& [id, rec] : users) {
    w.Str(id);
    w.Str(rec);
  }
  VANE_ASSIGN_OR_RETURN(auto counters, store.Counters(""));
  w.U64(counters.size());
  for (const auto& [name, n] : counters) {
    w.Str(name);
    w.U64(static_cast<uint64_t>(n));
  }
  return Status::Ok();
}

Status ReadRecords(BinaryReader& r, Store& store) {
  const uint64_t nusers = r.U64();
  for (uint64_t i = 0; i < nusers && r.ok(); ++i) {
    const std::string id = r.Str(), rec = r.Str();
    if (!r.ok()) break;
    VANE_RETURN_IF_ERROR(store.PutUser(id, rec));
  }
  const uint64_t ncounters = r.U64();
  std::vector<std::pair<std::string, int64_t>> counters;
  for (uint64_t i = 0; i < ncounters && r.ok(); ++i) {
    std::string name = r.Str();
    const auto n = static_cast<int64_t>(r.U64());
    if (r.ok()) counters.emplace_back(std::move(name), n);
  }
  if (!r.ok()) return r.status();
  if (!counters.empty()) VANE_RETURN_IF_ERROR(store.AddCounters(counters));
  return Status::Ok();
}

// Puts the image's events and items into the (empty) mirror store.
Status ReadMirror(BinaryReader& r, Store& store) {
  const uint64_t next = r.U64(), nblocks = r.U64();
  (void)next;
  for (uint64_t b = 0; b < nblocks && r.ok(); ++b) {
    const uint64_t first = r.U64();
    const std::string block = r.Str();
    if (!r.ok()) break;
    std::vector<RawEvent> events;
    VANE_RETURN_IF_ERROR(ForEachStoredEvent(first, block, [&](uint64_t, RawEvent&& e) { events.push_back(std::move(e)); }));
    VANE_RETURN_IF_ERROR(store.AppendEvents(first, events));
  }
  const uint64_t nitems = r.U64();
  std::vector<Item> items;
  for (uint64_t i = 0; i < nitems && r.ok(); ++i) {
    const std::string id = r.Str(), json = r.Str();
    if (!r.ok()) break;
    VANE_ASSIGN_OR_RETURN(Item it, StoredItemFromJson(id, json));
    items.push_back(std::move(it));
  }
  if (!r.ok()) return r.status();
  if (!items.empty()) VANE_RETURN_IF_ERROR(store.PutItems(items));
  const uint64_t nmeta = r.U64();
  for (uint64_t i = 0; i < nmeta && r.ok(); ++i) {
    const std::string k = r.Str(), v = r.Str();
    if (!r.ok()) break;
    if (std::find(std::begin(kMirrorMeta), std::end(kMirrorMeta), k) == std::end(kMirrorMeta))
      return Status(StatusCode::kIoError, "snapshot_corrupt", "unknown metadata key in a cluster snapshot: " + k.substr(0, 50));
    VANE_RETURN_IF_ERROR(store.PutMeta(k, v));
  }
  return r.status();
}

}  // namespace

Status Service::RestoreFromCluster() {
  SharedLog& log = *opt_.shared_log;
  VANE_ASSIGN_OR_RETURN(std::optional<SharedSnapshot> latest, log.LatestSnapshot());
  if (!latest) return Status::Ok();  // none yet: the node reads the log from its start
  auto t0 = std::chrono::steady_clock::now();
  VANE_ASSIGN_OR_RETURN(std::string image, log.ReadSnapshot(*latest));
  BinaryReader r(image);
  r.Expect("vane-node-snapshot");
  const uint32_t format = r.U32();
  const std::string position = r.Str();
  const uint64_t seq = r.U64();
  if (!r.ok()) return r.status();
  if (format != kNodeImageFormat)
    return Status::FailedPrecondition(fmt::format("cluster snapshot {} has image format {}; this build reads {}",
                                                  latest->id, format, kNodeImageFormat));
  VANE_RETURN_IF_ERROR(ReadMirror(r, *store_));
  VANE_RETURN_IF_ERROR(ReadRecords(r, *store_));
  std::string payload = r.Str();
  if (!r.ok()) return r.status();
  if (!r.AtEnd()) return Status(StatusCode::kIoError, "snapshot_corrupt", "bytes left after the state");
  {  // the payload names the store it was taken of: the mirror takes that identity
    BinaryReader head(payload);
    head.Expect("vane-state");
    const std::string store_id = head.Str();
    if (!head.ok()) return head.status();
    VANE_RETURN_IF_ERROR(store_->PutMeta("store_id", store_id));
  }
  VANE_RETURN_IF_ERROR(log.Seek(position));
  cluster_payload_ = std::move(payload);
  cluster_position_ = position;
  cluster_snapshot_seq_ = seq;
  stats_.cluster_restore_seconds = SecondsSince(t0);
  stats_.cluster_snapshot_bytes = image.size();
  std::fprintf(stderr, "cluster: loaded snapshot %s (%.1f MB, %llu log positions) in %.2f s; reading the log on from it\n",
               latest->id.c_str(), static_cast<double>(image.size()) / 1e6, static_cast<unsigned long long>(seq),
               stats_.cluster_restore_seconds);
  return Status::Ok();
}

Result<uint64_t> Service::ClusterSnapshotNow(size_t keep) {
  SharedLog& log = *opt_.shared_log;
  VANE_ASSIGN_OR_RETURN(uint64_t lease, log.TryLease(log.SnapshotKind(), opt_.node_id, kSnapLease));
  auto skip = [&] {  // another node writes them: look again after as many events
    std::lock_guard l(seq_mu_);
    snapshot_seq_ = applied_seq_;
    return uint64_t{0};
  };
  if (lease == 0) {
    skip();
    return Status::Conflict("lease_held", "another node is writing a cluster snapshot");
  }
  auto release = [&] { (void)log.ReleaseLease(log.SnapshotKind(), opt_.node_id, lease); };
  auto t0 = std::chrono::steady_clock::now();
  SharedSnapshot meta;
  meta.node = opt_.node_id;
  double pause_ms = 0;
  std::string image;
  // Lock order: applied_mu_ (the applier stops between polls, so the position and the state name the same
  // entries), then snap_mu_ (the applier takes it when it applies a deletion), held through the upload.
  std::unique_lock applied(applied_mu_);
  std::unique_lock snap(snap_mu_);
  {
    // Nothing to add when the cluster's newest snapshot is at this node's position or ahead of it.
    auto latest = log.LatestSnapshot();
    if (latest.ok() && *latest) {
      auto behind_or_same = log.Covers((*latest)->position);
      if (!behind_or_same.ok() || !*behind_or_same || (*latest)->position == log.Position()) {
        release();
        return skip();
      }
    }
    auto pause0 = std::chrono::steady_clock::now();
    meta.position = log.Position();
    Status captured = CaptureNodeImage(meta, image);
    if (!captured.ok()) {
      release();
      return captured;
    }
    pause_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - pause0).count();
  }
  applied.unlock();
  auto put = log.PutSnapshot(meta, image, lease, std::max<size_t>(1, keep));
  if (!put.ok()) {
    release();
    return put.status();
  }
  auto trimmed = log.TrimBehindSnapshots();
  release();
  if (!trimmed.ok())
    std::fprintf(stderr, "warning: trimming the log behind the snapshots failed: %s\n", trimmed.status().ToString().c_str());
  NoteClusterSnapshot(meta, image.size(), trimmed.ok() ? *trimmed : 0, SecondsSince(t0), pause_ms);
  std::fprintf(stderr, "cluster: wrote snapshot %s (%.1f MB, %llu log positions) in %.2f s (applying paused %.0f ms); "
               "trimmed %llu log entries\n", put->id.c_str(), static_cast<double>(image.size()) / 1e6,
               static_cast<unsigned long long>(meta.seq), SecondsSince(t0), pause_ms,
               static_cast<unsigned long long>(trimmed.ok() ? *trimmed : 0));
  return static_cast<uint64_t>(image.size());
}

void Service::EraseFromCluster() {
  if (!opt_.shared_log || !opt_.cluster_snapshots) return;
  const uint64_t pending = cluster_erasures_pending_.load();
  if (pending == 0) return;
  auto w = ClusterSnapshotNow(1);
  if (w.ok() && *w > 0) {
    // This node wrote the snapshot without the users and trimmed the log: the servers' files are rewritten too.
    auto asked = opt_.shared_log->RewriteFiles();
    if (!asked.ok())
      std::fprintf(stderr, "warning: asking the cluster to rewrite its files after a deletion failed: %s\n",
                   asked.status().ToString().c_str());
  }
  if (w.ok()) {
    cluster_erasures_pending_ -= pending;  // written, or the cluster's newest is at or past this node's position
  } else if (w.status().code() != StatusCode::kConflict) {  // another node holds the lease, a rebuild is pending
    std::fprintf(stderr, "warning: the snapshot after a deletion failed (retried): %s\n", w.status().ToString().c_str());
  }
}

// The image of this node's state (the top of this file); meta.seq is set. Caller holds applied_mu_ and snap_mu_.
Status Service::CaptureNodeImage(SharedSnapshot& meta, std::string& image) {
  uint64_t seq = 0;
  double capture_ms = 0;
  VANE_ASSIGN_OR_RETURN(std::string payload, CaptureLive(seq, capture_ms));
  meta.seq = seq;
  BinaryWriter w;
  w.Tag("vane-node-snapshot");
  w.U32(kNodeImageFormat);
  w.Str(meta.position);
  w.U64(seq);
  VANE_RETURN_IF_ERROR(WriteMirror(w, *store_));
  VANE_RETURN_IF_ERROR(WriteRecords(w, *store_));
  w.Str(payload);
  image = w.Take();
  return Status::Ok();
}

void Service::NoteClusterSnapshot(const SharedSnapshot& meta, uint64_t bytes, uint64_t trimmed, double seconds,
                                  double pause_ms) {
  {
    std::lock_guard l(seq_mu_);
    snapshot_seq_ = std::max(snapshot_seq_, meta.seq);
  }
  std::unique_lock lock(mu_);
  ++stats_.cluster_snapshots_written;
  stats_.cluster_snapshot_bytes = bytes;
  stats_.cluster_trimmed_entries += trimmed;
  stats_.last_snapshot_seq = meta.seq;
  stats_.last_snapshot_bytes = bytes;
  stats_.last_snapshot_seconds = seconds;
  stats_.last_snapshot_pause_ms = pause_ms;
}

}  // namespace vane
