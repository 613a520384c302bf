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

// The promotion policy: a new version serves only when its validation NDCG@10 is at least (1 - tolerance) times
// the serving version's (a serving version without figures, or none, is always replaced); otherwise it is kept as a
// "candidate" that an operator may promote. At most `keep` versions stay on disk (the oldest others are removed;
// the serving one never is).
struct RegistryOptions {
  double tolerance = 0.0;
  size_t keep = 5;
};

class ModelRegistry {
 public:
  explicit ModelRegistry(std::string models_dir, RegistryOptions opt = {}) : dir_(std::move(models_dir)), opt_(opt) {}

  // The version `current` names, when that version's directory holds a model (model.json); nullopt otherwise.
  static std::optional<std::string> ReadCurrent(const std::string& models_dir);

  // Lists the versions already on disk (numbering continues after the highest); `serving` names the version that
  // serves now ("" or a path when none of them). A version that was training when the process stopped is listed
  // as retired.
  void Scan(const std::string& serving);
  // Reserves the next version name (v1, v2, ...) and lists it as training.
  std::string Reserve();
  // Reserves `wanted` (a name v<N>) when N is not below the next name, so that a version published by another node
  // of a cluster keeps its name here; the next name otherwise.
  std::string Reserve(const std::string& wanted);
  std::string VersionDir(const std::string& version) const { return dir_ + "/" + version; }
  // Whether a trained version with these figures ({"val_ndcg@10", ...}) should replace the serving one, and why.
  struct Decision {
    bool promote = false;
    std::string why;
  };
  Decision Decide(const nlohmann::json& info) const;
  // Records how a training ended: `entry` holds {"version", "state": "serving"|"candidate"|"failed", ...}. The
  // record is written beside the weights (version.json); a serving version becomes `current` and the previous
  // serving one is retired. Then versions beyond `keep` are removed, oldest first.
  Status Finish(nlohmann::json entry);
  // Makes a kept version (candidate or retired, with its weights on disk) the serving one: `current` and the
  // records move. NotFound for an unknown or removed version, Conflict for one that failed or is training.
  Status Promote(const std::string& version);
  // Whether Promote(version) would succeed (the same answers, nothing changed).
  Status CanPromote(const std::string& version) const;
  // {"versions": [...]} in version order.
  nlohmann::json Versions() const;
  const std::string& dir() const { return dir_; }

 private:
  // Removes the oldest versions beyond opt_.keep (never the serving one); caller holds mu_.
  void PruneLocked();
  Status CanPromoteLocked(const std::string& version) const;
  // Marks `version` serving and the previous serving one retired, and writes both records; caller holds mu_.
  Status MarkServingLocked(const std::string& version);

  std::string dir_;
  RegistryOptions opt_;
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
