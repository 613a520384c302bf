#include "vane/registry/registry.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

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

Status ModelRegistry::Finish(json entry) {
  const std::string version = entry.value("version", "");
  const bool serving = entry.value("state", "") == "serving";
  const std::string dir = VersionDir(version);
  std::error_code mk;
  std::filesystem::create_directories(dir, mk);
  // The record stays beside the weights, so the version list survives a restart.
  std::ofstream(dir + "/version.json") << entry.dump(2) << "\n";
  Status st = Status::Ok();
  if (serving) {
    // The serving version survives a restart (vane serve loads <models_dir>/current when given no --model).
    std::ofstream cur(dir_ + "/current");
    cur << version << "\n";
    if (!cur) st = Status::IoError("cannot write " + dir_ + "/current");
  }
  std::lock_guard l(mu_);
  for (auto& v : versions_) {
    if (v["version"] == version) v = entry;
    else if (serving && v.value("state", "") == "serving") v["state"] = "retired";
  }
  return st;
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
