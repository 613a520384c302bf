#include "vane/registry/registry.h"

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace vane {

using json = nlohmann::json;

std::optional<std::string> ModelRegistry::ReadCurrent(const std::string& models_dir) {
  std::ifstream cur(models_dir + "/current");
  std::string v;
  if (cur >> v && std::filesystem::exists(models_dir + "/" + v + "/model.json")) return v;
  return std::nullopt;
}

void ModelRegistry::Scan(const std::string& serving) {
  std::error_code ec;
  std::vector<std::pair<int, json>> found;
  int next = 1;
  for (const auto& d : std::filesystem::directory_iterator(dir_, ec)) {
    std::string n = d.path().filename().string();
    if (n.size() < 2 || n[0] != 'v' || !std::all_of(n.begin() + 1, n.end(), ::isdigit)) continue;
    int num = std::stoi(n.substr(1));
    next = std::max(next, num + 1);
    std::ifstream in(d.path() / "version.json");
    json entry = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (entry.is_discarded() || !entry.is_object()) entry = {{"version", n}, {"dir", d.path().string()}, {"state", "unknown"}};
    const std::string state = entry.value("state", "");
    if (state == "serving" || state == "training")
      entry["state"] = n == serving ? "serving" : "retired";  // training: interrupted by the stop
    else if (n == serving)
      entry["state"] = "serving";
    found.emplace_back(num, std::move(entry));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::lock_guard l(mu_);
  next_ = std::max(next_, next);
  versions_ = json::array();
  for (auto& [num, entry] : found) versions_.push_back(std::move(entry));
}

std::string ModelRegistry::Reserve() {
  std::lock_guard l(mu_);
  std::string version = "v" + std::to_string(next_++);
  versions_.push_back({{"version", version}, {"state", "training"}});
  return version;
}

std::string ModelRegistry::Reserve(const std::string& wanted) {
  {
    std::lock_guard l(mu_);
    uint64_t n = 0;
    const bool numbered = wanted.size() > 1 && wanted.size() <= 10 && wanted[0] == 'v' &&
                          std::all_of(wanted.begin() + 1, wanted.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numbered) n = std::stoull(wanted.substr(1));
    if (numbered && n >= next_ && n > 0) {
      next_ = static_cast<decltype(next_)>(n);
    }
  }
  return Reserve();
}

ModelRegistry::Decision ModelRegistry::Decide(const json& info) const {
  const json* fresh = info.is_object() && info.contains("val_ndcg@10") ? &info["val_ndcg@10"] : nullptr;
  std::lock_guard l(mu_);
  for (const auto& v : versions_) {
    if (v.value("state", "") != "serving") continue;
    const json& old = v.contains("info") ? v["info"] : json();
    if (!old.is_object() || !old.contains("val_ndcg@10") || !old["val_ndcg@10"].is_number())
      return {true, "the serving version has no validation figures"};
    if (!fresh || !fresh->is_number()) return {false, "the new version has no validation figures"};
    const double a = fresh->get<double>(), b = old["val_ndcg@10"].get<double>();
    if (a >= b * (1.0 - opt_.tolerance))
      return {true, fmt::format("validation ndcg@10 {:.4f} against the serving {}'s {:.4f}", a, v.value("version", "?"), b)};
    return {false, fmt::format("validation ndcg@10 {:.4f} is below the serving {}'s {:.4f} (tolerance {:.0f}%)", a,
                               v.value("version", "?"), b, opt_.tolerance * 100)};
  }
  return {true, "no version serves yet"};
}

namespace {
Status WriteRecord(const std::string& dir, const json& entry) {
  std::error_code mk;
  std::filesystem::create_directories(dir, mk);
  std::ofstream out(dir + "/version.json");
  out << entry.dump(2) << "\n";
  if (!out) return Status::IoError("cannot write " + dir + "/version.json: " + std::strerror(errno));
  return Status::Ok();
}
}  // namespace

Status ModelRegistry::MarkServingLocked(const std::string& version) {
  // The serving version survives a restart (vane serve loads <models_dir>/current when given no --model).
  std::ofstream cur(dir_ + "/current");
  cur << version << "\n";
  if (!cur) return Status::IoError("cannot write " + dir_ + "/current: " + std::strerror(errno));
  Status st = Status::Ok();
  for (auto& v : versions_) {
    const std::string name = v.value("version", "");
    if (name == version) v["state"] = "serving";
    else if (v.value("state", "") == "serving") v["state"] = "retired";
    else continue;
    if (Status w = WriteRecord(VersionDir(name), v); !w.ok() && st.ok()) st = w;
  }
  return st;
}

Status ModelRegistry::Finish(json entry) {
  const std::string version = entry.value("version", "");
  const bool serving = entry.value("state", "") == "serving";
  // The record stays beside the weights, so the version list survives a restart.
  Status st = WriteRecord(VersionDir(version), entry);
  std::lock_guard l(mu_);
  for (auto& v : versions_)
    if (v["version"] == version) v = entry;
  if (serving)
    if (Status m = MarkServingLocked(version); !m.ok() && st.ok()) st = m;
  PruneLocked();
  return st;
}

Status ModelRegistry::CanPromoteLocked(const std::string& version) const {
  for (const auto& v : versions_) {
    if (v.value("version", "") != version) continue;
    const std::string state = v.value("state", "");
    if (state == "failed" || state == "training" || state == "unknown")
      return Status::Conflict("not_promotable", "version " + version + " is " + state + ": it has no usable model");
    if (!std::filesystem::exists(VersionDir(version) + "/model.json"))
      return Status::NotFound("unknown_version", "version " + version + " has no model on disk");
    return Status::Ok();
  }
  return Status::NotFound("unknown_version", "no version " + version + " is kept");
}

Status ModelRegistry::CanPromote(const std::string& version) const {
  std::lock_guard l(mu_);
  return CanPromoteLocked(version);
}

Status ModelRegistry::Promote(const std::string& version) {
  std::lock_guard l(mu_);
  VANE_RETURN_IF_ERROR(CanPromoteLocked(version));
  return MarkServingLocked(version);
}

void ModelRegistry::PruneLocked() {
  size_t settled = 0;
  for (const auto& v : versions_) settled += v.value("state", "") != "training";
  json kept = json::array();
  for (const auto& v : versions_) {
    const std::string state = v.value("state", "");
    if (settled > opt_.keep && state != "serving" && state != "training") {
      std::error_code ec;
      std::filesystem::remove_all(VersionDir(v.value("version", "")), ec);
      --settled;
      continue;
    }
    kept.push_back(v);
  }
  versions_ = std::move(kept);
}

json ModelRegistry::Versions() const {
  std::lock_guard l(mu_);
  return versions_;
}

PeriodicTask::PeriodicTask(double every_s, std::function<void()> fn) {
  thread_ = std::thread([this, every_s, fn = std::move(fn)] {
    auto last = std::chrono::steady_clock::now();
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - last).count() >= every_s) {
        fn();
        last = std::chrono::steady_clock::now();
      }
    }
  });
}

PeriodicTask::~PeriodicTask() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace vane
