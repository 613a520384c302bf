// LineReader (events/line_reader.h): how every importer and converter cuts a file into lines (CR LF, a missing
// final newline, a byte-order mark, lines longer than the buffer).
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "vane/events/line_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string path = vane::fuzz::WriteScratch("lines.txt", in);
  vane::LineReader lr;
  FUZZ_CHECK(lr.Open(path).ok());
  FUZZ_CHECK(lr.file_size() == size);
  std::string_view line;
  uint64_t n = 0;
  std::string joined;
  while (lr.Next(line)) {
    ++n;
    FUZZ_CHECK(lr.line_no() == n);
    FUZZ_CHECK(line.find('\n') == std::string_view::npos);
    FUZZ_CHECK(lr.bytes_read() <= size);
    joined.append(line);
  }
  FUZZ_CHECK(lr.error().ok());
  FUZZ_CHECK(lr.bytes_read() == size);
  // One line per newline, plus a last one without a newline.
  const uint64_t newlines = static_cast<uint64_t>(std::count(in.begin(), in.end(), '\n'));
  FUZZ_CHECK(n == newlines + (!in.empty() && in.back() != '\n'));
  // Nothing but the newlines, the CR before them and a leading byte-order mark is dropped.
  FUZZ_CHECK(joined.size() + newlines <= size && joined.size() + 2 * newlines + 3 + 1 >= size);
  return 0;
}
