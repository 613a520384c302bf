// Model versions on disk: <models_dir>/vN/ (weights, tokenizer, version.json with the validation figures and the
// per-epoch curve) and <models_dir>/current (the version that serves; a restart loads it). The registry numbers
// versions, keeps their records, moves the `current` pointer on promotion, and runs the retrain schedule.
// No libtorch here: training itself is the caller's (registry/trainer.h declares what it hands over). Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "vane/core/status.h"

namespace vane {

class ModelRegistry {
 public:
  explicit ModelRegistry(std::string models_dir) : dir_(std::move(models_dir)) {}

  // The version `current` names, when that version's directory holds a model (model.json); nullopt otherwise.
  static std::optional<std::string> ReadCurrent(const std::string& models_dir);

  // Lists the versions already on disk (numbering continues after the highest); `serving` names the version that
  // serves now ("" or a path when none of them). A version that was training when the process stopped is listed
  // as retired.
  void Scan(const std::string& serving);
  // Reserves the next version name (v1, v2, ...) and lists it as training.
  std::string Reserve();
  std::string VersionDir(const std::string& version) const { return dir_ + "/" + version; }
  // Records how a training ended: `entry` holds {"version", "state": "serving"|"failed", ...}. The record is written
  // beside the weights (version.json); a serving version becomes `current` and the previous serving one is retired.
  Status Finish(nlohmann::json entry);
  // {"versions": [...]} in version order.
  nlohmann::json Versions() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  mutable std::mutex mu_;
  nlohmann::json versions_ = nlohmann::json::array();  // guarded by mu_
  int next_ = 1;                                       // guarded by mu_
};

// Calls `fn` every `every_s` seconds on its own thread until destroyed (checks the stop flag every 100 ms).
class PeriodicTask {
 public:
  PeriodicTask(double every_s, std::function<void()> fn);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vane
