// A progress line for long work (import, training, evaluation): done/total, rate and ETA, redrawn at most
// every 200 ms on stderr. Quiet when stderr is not a terminal unless `force` is set, in which case it prints a
// plain line every ~2 s. Not thread-safe: one owner updates it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vane {

class Progress {
 public:
  Progress(std::string label, uint64_t total, std::string unit = "items", bool force = false);
  ~Progress();
  // Sets the count done so far; cheap enough to call per record.
  void Update(uint64_t done) {
    done_ = done;
    if ((done & 1023) == 0 || done == total_) MaybeDraw();
  }
  void Add(uint64_t n = 1) { Update(done_ + n); }
  // Draws the final line (with elapsed time) and a newline.
  void Finish();
  double ElapsedSeconds() const;

 private:
  void MaybeDraw();
  void Draw(bool final_line);

  std::string label_, unit_;
  uint64_t total_, done_ = 0;
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1.2 s", "3 min 4 s", "2 h 05 min".
std::string FormatDuration(double seconds);

}  // namespace vane
