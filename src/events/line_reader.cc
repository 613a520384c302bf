#include "vane/events/line_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vane {
namespace {

// Below this size a progress bar would flash for a fraction of a second: not worth the noise.
constexpr uint64_t kProgressMinBytes = 8ull << 20;

}  // namespace

LineReader::~LineReader() {
  if (progress_) progress_->Finish();
  if (f_) std::fclose(f_);
}

Status LineReader::Open(const std::string& path) {
  if (f_) std::fclose(f_);
  f_ = std::fopen(path.c_str(), "rb");
  if (!f_) return Status::NotFound("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st;
  bool regular = false;
  if (fstat(fileno(f_), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      std::fclose(f_);
      f_ = nullptr;
      return Status::InvalidArgument("'" + path + "' is a directory, expected a file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
    regular = S_ISREG(st.st_mode);
  }
  // 4 MiB blocks, less for a smaller regular file (a line longer than the buffer doubles it, see Refill): reading
  // many small files then does not zero 4 MiB per file.
  size_t cap = size_t{4} << 20;
  if (regular && size_ + 1 < cap) cap = std::max<size_t>(size_ + 1, 4096);
  buf_.resize(cap);
  begin_ = end_ = 0;
  eof_ = false;
  line_no_ = consumed_ = 0;
  error_ = Status::Ok();
  return Status::Ok();
}

void LineReader::Refill() {
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // one line longer than the buffer
  size_t n = std::fread(buf_.data() + end_, 1, buf_.size() - end_, f_);
  end_ += n;
  if (n == 0) {
    if (std::ferror(f_)) error_ = Status::IoError(std::string("read error: ") + std::strerror(errno));
    eof_ = true;
  }
}

bool LineReader::Next(std::string_view& line) {
  if (!f_) return false;
  while (true) {
    const char* base = buf_.data() + begin_;
    const void* nl = end_ > begin_ ? std::memchr(base, '\n', end_ - begin_) : nullptr;
    size_t len = 0, step = 0;
    if (nl) {
      len = static_cast<size_t>(static_cast<const char*>(nl) - base);
      step = len + 1;
    } else if (eof_) {
      if (begin_ == end_) {
        if (progress_) {
          progress_->Update(progress_total_);
          progress_->Finish();
        }
        return false;
      }
      len = step = end_ - begin_;  // last line without a final newline
    } else {
      Refill();
      continue;
    }
    line = std::string_view(base, len);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no_ == 0 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    begin_ += step;
    consumed_ += step;
    ++line_no_;
    if (!progress_label_.empty()) TickProgress();
    return true;
  }
}

void LineReader::TickProgress() {
  if (!progress_) {
    if (size_ < kProgressMinBytes || line_no_ < 4096) return;
    // The total is the file size over the mean line length, sampled at three places: the head alone misleads
    // (ids grow longer further down a file).
    uint64_t lines = line_no_, bytes = consumed_;
    std::vector<char> sample(64 << 10);
    for (int q = 1; q <= 3; ++q) {
      ssize_t n = pread(fileno(f_), sample.data(), sample.size(), static_cast<off_t>(size_ * q / 4));
      if (n <= 0) continue;
      lines += static_cast<uint64_t>(std::count(sample.data(), sample.data() + n, '\n'));
      bytes += static_cast<uint64_t>(n);
    }
    progress_total_ = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(size_) * lines / bytes));
    progress_ = std::make_unique<Progress>(progress_label_, progress_total_, "events");
  }
  double frac = static_cast<double>(consumed_) / static_cast<double>(std::max<uint64_t>(size_, 1));
  progress_->Update(std::min(progress_total_, static_cast<uint64_t>(frac * static_cast<double>(progress_total_))));
}

}  // namespace vane
