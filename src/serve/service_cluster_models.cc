// Cluster mode: one trainer at a time, and every node serving the version it trained (docs/cluster.md, "One
// trainer"). Retrain takes the lease "models" (renewed while it trains); a version that is promoted is packed
// (every file of its directory, the fitted blend included) and published to the cluster under that lease, so a
// trainer that lost its lease cannot publish (fencing). Every node's maintenance thread looks for a newer
// published version every few seconds, and a node that starts later finds the current one the same way: it
// unpacks it as a version of its own registry, loads it, hot-swaps it in and applies its blend.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "vane/core/binary_io.h"
#include "vane/serve/service.h"

namespace vane {
namespace {

constexpr std::chrono::milliseconds kTrainerLease{60 * 1000};
namespace fs = std::filesystem;

// Every regular file under `dir`: count, then (path relative to dir, bytes) each.
Result<std::string> PackDir(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file()) files.push_back(it->path());
  if (ec) return Status::IoError("packing " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  BinaryWriter w;
  w.Tag("vane-model-files");
  w.U64(files.size());
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in.good() && !in.eof()) return Status::IoError("packing " + f.string() + ": unreadable");
    w.Str(fs::relative(f, dir).generic_string());
    w.Str(bytes.str());
  }
  return w.Take();
}

// Writes the packed files under `dir`; a name that would leave it (absolute, "..") is refused.
Status UnpackDir(std::string_view packed, const std::string& dir) {
  BinaryReader r(packed);
  r.Expect("vane-model-files");
  const uint64_t n = r.U64();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const std::string name = r.Str(), bytes = r.Str();
    if (!r.ok()) break;
    const fs::path rel(name);
    if (name.empty() || rel.is_absolute() || std::any_of(rel.begin(), rel.end(), [](const fs::path& p) { return p == ".."; }))
      return Status(StatusCode::kIoError, "model_corrupt", "a published model names a file outside its folder: " + name.substr(0, 100));
    const fs::path out = fs::path(dir) / rel;
    std::error_code ec;
    fs::create_directories(out.parent_path(), ec);
    std::ofstream f(out, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f.good() || ec) return Status::IoError("writing " + out.string());
  }
  if (!r.ok()) return r.status();
  if (!r.AtEnd()) return Status(StatusCode::kIoError, "model_corrupt", "bytes left after the files");
  return Status::Ok();
}

}  // namespace

// Cluster mode: every node serves the same blend, so that they give the same answers. The cluster's when it has
// one; otherwise this node fits one (as a first start does) and offers it, and the first node's wins.
Status Service::InitClusterBlend() {
  SharedLog& log = *opt_.shared_log;
  VANE_ASSIGN_OR_RETURN(std::optional<std::string> shared, log.GetConfig("blend"));
  if (!shared) {
    if (!opt_.blend_fitter) return Status::Ok();
    FitBlend("");
    VANE_ASSIGN_OR_RETURN(auto mine, store_->GetMeta("blend"));
    if (!mine) return Status::Ok();  // the fit failed (said why): built-in weights until the cluster has one
    VANE_ASSIGN_OR_RETURN(std::string winner, log.PutConfigIfAbsent("blend", *mine));
    if (winner == *mine) return Status::Ok();
    shared = winner;
  }
  auto b = BlendConfig::FromJson(nlohmann::json::parse(*shared, nullptr, false));
  if (!b.ok()) return b.status().Prefixed("cluster: the shared blend is unreadable: ");
  VANE_RETURN_IF_ERROR(store_->PutMeta("blend", *shared));
  std::unique_lock lock(mu_);
  ApplyBlend(*b, "cluster");
  return Status::Ok();
}

// Cluster mode, before a training starts: Conflict when the cluster's newest version was trained at this node's
// position (nothing new) or another node holds the trainer's lease. Sets trainer_lease_.
Status Service::TakeTrainerLease() {
  SharedLog& log = *opt_.shared_log;
  auto latest = log.LatestModel();
  {
    std::shared_lock lock(mu_);
    if (latest.ok() && *latest && (*latest)->seq == next_seq_)
      return Status::Conflict("no_new_events", "the cluster's newest model was trained at this position");
  }
  VANE_ASSIGN_OR_RETURN(uint64_t token, log.TryLease("models", opt_.node_id, kTrainerLease));
  if (token == 0) return Status::Conflict("training_elsewhere", "another node of the cluster is training a model");
  trainer_lease_ = token;
  return Status::Ok();
}

// Renews the trainer's lease until `done`; run on a thread of its own while a training runs.
void Service::RenewTrainerLease(const std::atomic<bool>& done) {
  while (!done) {
    for (int i = 0; i < 100 && !done; ++i) std::this_thread::sleep_for(kTrainerLease / 300);
    if (done) break;
    auto r = opt_.shared_log->TryLease("models", opt_.node_id, kTrainerLease);
    if (r.ok() && *r != trainer_lease_)
      std::fprintf(stderr, "warning: the trainer's lease was lost (it will not publish this version)\n");
  }
}

// After a version was promoted here: publishes it under the lease, then gives the lease up.
void Service::PublishModel(const std::string& version, const std::string& dir, const nlohmann::json& info,
                           uint64_t trained_at) {
  SharedLog& log = *opt_.shared_log;
  auto packed = PackDir(dir);
  Status st = packed.status();
  if (packed.ok()) {
    SharedSnapshot meta;
    meta.node = opt_.node_id;
    meta.seq = trained_at;
    meta.note = nlohmann::json{{"version", version}, {"info", info}}.dump();
    auto put = log.PutModel(meta, *packed, trainer_lease_, 3);
    st = put.status();
    if (put.ok()) {
      // The version's blend becomes the cluster's: nodes that start later serve it too.
      if (auto b = store_->GetMeta("blend"); b.ok() && *b) (void)log.PutConfig("blend", **b);
      std::lock_guard l(blend_mu_);
      adopted_model_id_ = put->id;
      std::fprintf(stderr, "cluster: published model %s as %s (%.1f MB)\n", version.c_str(), put->id.c_str(),
                   static_cast<double>(packed->size()) / 1e6);
    }
  }
  if (!st.ok()) std::fprintf(stderr, "warning: publishing model %s failed: %s\n", version.c_str(), st.ToString().c_str());
  (void)log.ReleaseLease("models", opt_.node_id, trainer_lease_);
}

// Loads the cluster's newest published version when it is not the one serving here (maintenance thread).
void Service::AdoptPublishedModel() {
  auto latest = opt_.shared_log->LatestModel();
  if (!latest.ok() || !*latest) return;
  const SharedSnapshot meta = **latest;
  {
    std::lock_guard l(blend_mu_);
    if (meta.id == adopted_model_id_) return;
  }
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "warning: loading the published model %s failed: %s\n", meta.id.c_str(), s.ToString().c_str());
    std::lock_guard l(blend_mu_);
    adopted_model_id_ = meta.id;  // not tried again; the next published version is
  };
  if (!opt_.model_loader) return fail(Status::NotImplemented("this node cannot load models (no loader)"));
  auto files = opt_.shared_log->ReadModel(meta);
  if (!files.ok()) return fail(files.status());
  nlohmann::json note = nlohmann::json::parse(meta.note, nullptr, false);
  const std::string published = note.is_object() && note.value("version", nlohmann::json()).is_string()
                                    ? note["version"].get<std::string>() : std::string();
  const std::string version = registry_.Reserve(published);  // the publisher's name where this node's allows it
  const std::string dir = registry_.VersionDir(version);
  if (Status s = UnpackDir(*files, dir); !s.ok()) return fail(s);
  auto factory = opt_.model_loader(dir);
  if (!factory.ok()) return fail(factory.status());
  nlohmann::json entry = {{"version", version}, {"dir", dir}, {"state", "serving"},
                          {"decision", "published by node " + meta.node + " (" + meta.id + ")"},
                          {"info", note.is_object() && note.contains("info") ? note["info"] : nlohmann::json::object()}};
  SwapModel(*factory, version);
  if (Status s = registry_.Finish(std::move(entry)); !s.ok()) std::fprintf(stderr, "warning: %s\n", s.ToString().c_str());
  if (fs::exists(dir + "/blend.json")) {
    auto blend = BlendConfig::Load(dir + "/blend.json");
    if (blend.ok() && store_->PutMeta("blend", blend->ToJson().dump()).ok()) {
      std::unique_lock lock(mu_);
      ApplyBlend(*blend, "published");
    }
  }
  {
    std::unique_lock lock(mu_);
    trained_at_seq_ = meta.seq;
  }
  std::lock_guard l(blend_mu_);
  adopted_model_id_ = meta.id;
  std::fprintf(stderr, "cluster: now serving the published model %s as %s\n", meta.id.c_str(), version.c_str());
}

}  // namespace vane
