// Injectable clock. Production code asks a Clock for "now"; tests pass a ManualClock. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>

#include "vane/core/ids.h"

namespace vane {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp t = 0) : t_(t) {}
  Timestamp Now() const override { return t_.load(); }
  void Set(Timestamp t) { t_.store(t); }
  void Advance(Timestamp dt) { t_.fetch_add(dt); }

 private:
  std::atomic<Timestamp> t_;
};

}  // namespace vane
