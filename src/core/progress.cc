#include "vane/core/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace vane {

std::string FormatDuration(double s) {
  if (s < 60) return fmt::format("{:.1f} s", s);
  if (s < 3600) return fmt::format("{} min {} s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return fmt::format("{} h {:02d} min", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
}

Progress::Progress(std::string label, uint64_t total, std::string unit, bool force)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total) {
  tty_ = isatty(STDERR_FILENO) != 0;
  force_ = force;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (!finished_) Finish();
}

double Progress::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::MaybeDraw() {
  auto now = std::chrono::steady_clock::now();
  auto gap = tty_ ? std::chrono::milliseconds(200) : force_ ? std::chrono::milliseconds(2000) : log_gap_;
  if (now - last_draw_ < gap) return;
  last_draw_ = now;
  Draw(false);
}

void Progress::Draw(bool final_line) {
  double el = ElapsedSeconds();
  double rate = el > 0 ? done_ / el : 0;
  std::string line;
  if (total_ > 0) {
    double frac = static_cast<double>(done_) / static_cast<double>(total_);
    int bar = static_cast<int>(frac * 24);
    std::string b(static_cast<size_t>(bar), '#');
    b.resize(24, '.');
    double eta = rate > 0 ? (total_ - done_) / rate : 0;
    line = fmt::format("{} [{}] {:5.1f}% {}/{} {} | {:.0f} {}/s | {} {}", label_, b, 100 * frac, done_, total_, unit_,
                       rate, unit_, final_line ? "took" : "ETA", FormatDuration(final_line ? el : eta));
  } else {
    line = fmt::format("{} {} {} | {:.0f} {}/s | {}", label_, done_, unit_, rate, unit_, FormatDuration(el));
  }
  drawn_ = true;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (tty_ || force_ || drawn_) Draw(true);
}

}  // namespace vane
