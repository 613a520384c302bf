// Line-by-line reading of large text files, shared by the importers and the converters (formats.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vane/core/progress.h"
#include "vane/core/status.h"

namespace vane {

// Reads a text file line by line through a large block buffer: no per-line allocation, any file size. Lines are
// returned without "\n" or "\r\n"; a UTF-8 byte-order mark at the start is dropped. Not copyable.
class LineReader {
 public:
  LineReader() = default;
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // NotFound when the file cannot be opened.
  Status Open(const std::string& path);
  // Next line (valid until the following call); false at end of file or on a read error (see error()).
  bool Next(std::string_view& line);
  uint64_t line_no() const { return line_no_; }       // 1-based number of the line last returned
  uint64_t bytes_read() const { return consumed_; }   // bytes up to and including the last returned line
  uint64_t file_size() const { return size_; }
  const Status& error() const { return error_; }
  // Shows a progress bar (unit "events", total estimated from the file size and the mean line length) once the
  // file turns out to be large enough (8 MiB) to be worth one.
  void ShowProgress(std::string label) { progress_label_ = std::move(label); }

 private:
  // Reads more of the file into the buffer (moving the unread part to its front); sets eof_ at the end.
  void Refill();
  void TickProgress();
  std::FILE* f_ = nullptr;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0, consumed_ = 0, size_ = 0;
  Status error_;
  std::string progress_label_;
  std::unique_ptr<Progress> progress_;
  uint64_t progress_total_ = 0;
};

}  // namespace vane
