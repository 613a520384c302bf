// The service's state snapshots (serve/service.h, "Snapshots"): what one holds, how a restart loads it, and when
// one is written.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "vane/core/binary_io.h"
#include "vane/serve/service.h"

namespace vane {
namespace {

// The payload layout this build writes and reads (core/binary_io.h's payload format). Any change to a Save/Load
// in the snapshot bumps it: an older snapshot is then ignored (a full replay), never misread.
constexpr uint32_t kSnapshotFormat = 1;

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The payload: a header naming the configuration and the position, then the state's parts.
void WritePayload(BinaryWriter& w, const std::string& store_id, const std::string& key, uint64_t seq, const Dataset& ds,
                  const ImportReport& report, const EventCleaner& cleaner, const Engine& engine) {
  w.Tag("vane-state");
  w.Str(store_id);
  w.Str(key);
  w.U64(seq);
  ds.Save(w);
  report.Save(w);
  cleaner.Save(w);
  engine.Save(w);
}

}  // namespace

std::string Service::SnapshotKey(const EngineConfig& cfg) const {
  return fmt::format("memory_events {}; {}", opt_.memory_events, Engine::StateKey(cfg));
}

bool Service::SnapshotsOn() const {
  return snapshots_.enabled() || (opt_.shared_log && opt_.cluster_snapshots);
}

Result<uint64_t> Service::SnapshotNow() {
  if (opt_.shared_log && opt_.cluster_snapshots) {
    {
      std::lock_guard l(seq_mu_);
      if (applied_seq_ == 0 || snapshot_seq_ >= applied_seq_) return uint64_t{0};
    }
    return ClusterSnapshotNow(cluster_erasures_pending_.load() > 0 ? 1 : std::max<size_t>(1, opt_.snapshots_kept));
  }
  if (!snapshots_.enabled()) return Status::NotImplemented("snapshots_off", "this service keeps no snapshots");
  std::lock_guard snap(snap_mu_);
  {
    std::lock_guard l(seq_mu_);
    if (applied_seq_ == 0 || snapshot_seq_ >= applied_seq_) return uint64_t{0};  // nothing new to keep
  }
  auto t0 = std::chrono::steady_clock::now();
  uint64_t seq = 0;
  double pause_ms = 0;
  VANE_ASSIGN_OR_RETURN(std::string image, CaptureLive(seq, pause_ms));
  return WriteSnapshotImage(image, seq, snap_epoch_, t0, pause_ms);
}

Result<std::string> Service::CaptureLive(uint64_t& seq, double& pause_ms) {
  std::lock_guard gate(write_gate_);  // no batch starts, and those in flight are applied first
  VANE_RETURN_IF_ERROR(Drain());
  auto t0 = std::chrono::steady_clock::now();
  std::shared_lock lock(mu_);  // reads go on
  if (!deleted_.empty() || !erased_.empty())  // the state still holds what was deleted from the store
    return Status::Conflict("rebuild_pending", "a deletion's rebuild is pending; its state will be snapshotted");
  seq = next_seq_;
  BinaryWriter w;
  w.Reserve(stats_.last_snapshot_bytes + stats_.last_snapshot_bytes / 8);  // about the last one's size: no regrowth
  WritePayload(w, store_id_, SnapshotKey(engine_->config()), seq, *ds_, *report_, *cleaner_, *engine_);
  pause_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return w.Take();
}

void Service::SnapshotLoaded(const State& st, uint64_t epoch) {
  if (!snapshots_.enabled() || st.next_seq == 0 || st.snapshot_seq == st.next_seq) return;
  std::lock_guard snap(snap_mu_);
  auto t0 = std::chrono::steady_clock::now();
  BinaryWriter w;
  WritePayload(w, store_id_, SnapshotKey(st.engine->config()), st.next_seq, *st.ds, *st.report, *st.cleaner,
               *st.engine);
  auto written = WriteSnapshotImage(w.Take(), st.next_seq, epoch, t0, 0);
  if (!written.ok()) std::fprintf(stderr, "warning: writing a snapshot failed: %s\n", written.status().ToString().c_str());
}

Result<uint64_t> Service::WriteSnapshotImage(const std::string& image, uint64_t seq, uint64_t epoch,
                                             std::chrono::steady_clock::time_point t0, double pause_ms) {
  if (epoch != snap_epoch_) return uint64_t{0};  // a deletion since the state was taken: it may hold the user
  VANE_RETURN_IF_ERROR(snapshots_.Create());
  const std::string path = snapshots_.PathFor(seq);
  VANE_ASSIGN_OR_RETURN(uint64_t bytes, WriteSnapshotFile(path, kSnapshotFormat, [&](BinaryWriter& w) {
                          w.Bytes(image.data(), image.size());
                        }));
  snapshots_.Prune(std::max<size_t>(1, opt_.snapshots_kept));
  const double secs = Since(t0);
  std::fprintf(stderr, "snapshot: wrote %s (%.1f MB, %llu events) in %.2f s (writes paused %.0f ms)\n", path.c_str(),
               static_cast<double>(bytes) / 1e6, static_cast<unsigned long long>(seq), secs, pause_ms);
  {
    std::lock_guard l(seq_mu_);
    snapshot_seq_ = std::max(snapshot_seq_, seq);
  }
  std::unique_lock lock(mu_);
  ++stats_.snapshots_written;
  stats_.last_snapshot_seq = seq;
  stats_.last_snapshot_bytes = bytes;
  stats_.last_snapshot_seconds = secs;
  stats_.last_snapshot_pause_ms = pause_ms;
  return bytes;
}

void Service::MaybeWantSnapshot() {
  if (!SnapshotsOn() || opt_.snapshot_every_events == 0) return;
  {
    std::lock_guard l(seq_mu_);
    if (applied_seq_ - std::min(snapshot_seq_, applied_seq_) < opt_.snapshot_every_events) return;
  }
  {
    std::lock_guard m(maint_mu_);
    if (snapshot_wanted_) return;
    snapshot_wanted_ = true;
  }
  maint_cv_.notify_all();
}

void Service::PeriodicSnapshot() {
  {
    std::lock_guard l(seq_mu_);  // another snapshot may have covered these events meanwhile
    if (applied_seq_ - std::min(snapshot_seq_, applied_seq_) < opt_.snapshot_every_events) return;
  }
  auto written = SnapshotNow();
  if (!written.ok() && written.status().code() != StatusCode::kConflict)
    std::fprintf(stderr, "warning: writing a snapshot failed: %s\n", written.status().ToString().c_str());
}

// A State from one snapshot file: its dataset, cleaner and engine, then the store's catalogue where it differs (item
// writes are not in the log, so the snapshot may predate some).
Result<Service::State> Service::LoadSnapshot(const SnapshotEntry& entry, const EngineConfig& cfg) const {
  VANE_ASSIGN_OR_RETURN(std::string payload, ReadSnapshotFile(entry.path, kSnapshotFormat));
  return StateFromPayload(payload, cfg, entry.seq);
}

Result<Service::State> Service::StateFromPayload(std::string_view payload, const EngineConfig& cfg,
                                                 uint64_t expect_seq) const {
  BinaryReader r(payload);
  r.Expect("vane-state");
  const std::string store_id = r.Str(), key = r.Str();
  const uint64_t seq = r.U64();
  if (!r.ok()) return r.status();
  if (store_id != store_id_)
    return Status::FailedPrecondition(fmt::format("taken of another store (id {}; this one is {})", store_id, store_id_));
  if (key != SnapshotKey(cfg))
    return Status::FailedPrecondition(fmt::format("taken under another configuration ({}; now {})", key, SnapshotKey(cfg)));
  if (seq != expect_seq) return Status(StatusCode::kIoError, "snapshot_corrupt", "its position differs from its name");
  State st;
  st.ds = std::make_unique<Dataset>();
  VANE_RETURN_IF_ERROR(st.ds->Load(r));
  if (st.ds->actions.ToJson() != Actions().ToJson() || st.ds->has_timestamps != has_timestamps_)
    return Status::FailedPrecondition("its action registry or event times differ from the store's");
  st.iopt = std::make_unique<ImportOptions>();
  st.iopt->progress = false;
  st.iopt->dedup = true;
  st.report = std::make_unique<ImportReport>();
  VANE_RETURN_IF_ERROR(st.report->Load(r));
  st.cleaner = std::make_unique<EventCleaner>(*st.ds, *st.iopt, *st.report);
  VANE_RETURN_IF_ERROR(st.cleaner->Load(r));
  st.engine = std::make_unique<Engine>(*st.ds, cfg, opt_.clock.get());
  VANE_RETURN_IF_ERROR(st.engine->Load(r));
  if (!r.AtEnd()) return Status(StatusCode::kIoError, "snapshot_corrupt", "bytes left after the engine");
  VANE_ASSIGN_OR_RETURN(uint64_t store_next, store_->LoadEvents(UINT64_MAX, [](uint64_t, RawEvent&&) {}));
  if (store_next < seq)
    return Status::FailedPrecondition(fmt::format("it covers {} events; the store holds {}", seq, store_next));
  size_t changed = 0;
  VANE_RETURN_IF_ERROR(store_->LoadItems([&](Item&& it) {
    auto i = st.ds->catalog.Find(it.id);
    if (i && st.ds->catalog.item(*i) == it) return;
    st.ds->catalog.Upsert(std::move(it));
    ++changed;
  }));
  if (changed > 0) st.engine->OnCatalogChanged();
  st.next_seq = seq;
  st.applied = st.ds->events.size();
  st.items_known = st.ds->num_items();
  st.snapshot_seq = seq;
  return st;
}

// The newest snapshot that loads and covers no more than `to`; nullopt when none does (each one refused is
// reported on stderr and left for the next write to prune).
std::optional<Service::State> Service::LoadNewestSnapshot(const EngineConfig& cfg, uint64_t to) const {
  if (!cluster_payload_.empty() && cluster_snapshot_seq_ <= to) {  // cluster mode: the one RestoreFromCluster read
    auto st = StateFromPayload(cluster_payload_, cfg, cluster_snapshot_seq_);
    if (st.ok()) return std::move(st.value());
    std::fprintf(stderr, "warning: the cluster snapshot's state does not load (%s); replaying the events it held\n",
                 st.status().ToString().c_str());
  }
  for (const SnapshotEntry& e : snapshots_.List()) {
    if (e.seq > to) continue;
    auto t0 = std::chrono::steady_clock::now();
    auto st = LoadSnapshot(e, cfg);
    if (!st.ok()) {
      std::fprintf(stderr, "warning: snapshot %s ignored: %s\n", e.path.c_str(), st.status().ToString().c_str());
      continue;
    }
    std::fprintf(stderr, "snapshot: loaded %s (%llu events) in %.2f s\n", e.path.c_str(),
                 static_cast<unsigned long long>(e.seq), Since(t0));
    return std::move(st.value());
  }
  return std::nullopt;
}

}  // namespace vane
