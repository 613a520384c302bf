// A progress line for long work (import, training, evaluation): done/total, rate and ETA, redrawn at most
// every 200 ms on stderr. When stderr is not a terminal (a log file) it prints plain lines instead: every ~2 s
// when `force` is set, otherwise one every 30 s (`set_log_interval`), so a short job stays quiet in a log and a
// long one still shows its rate and ETA there; the final "took" line follows only a job that printed a line.
// Not thread-safe: one owner updates it.
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
  // The gap between plain lines when stderr is not a terminal and `force` was not set.
  void set_log_interval(std::chrono::milliseconds gap) { log_gap_ = gap; }

 private:
  void MaybeDraw();
  void Draw(bool final_line);

  std::string label_, unit_;
  uint64_t total_, done_ = 0;
  bool tty_, force_, drawn_ = false, finished_ = false;
  std::chrono::milliseconds log_gap_{30000};
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1.2 s", "3 min 4 s", "2 h 05 min".
std::string FormatDuration(double seconds);

}  // namespace vane
