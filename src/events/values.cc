#include "values.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "vane/core/strings.h"
#include "vane/text/tokenize.h"

namespace vane::events_detail {

std::string Quote(std::string_view s, size_t max) {
  std::string out = "'";
  size_t i = 0, shown = 0;
  while (i < s.size() && shown < max) {
    size_t start = i;
    char32_t c = text::DecodeUtf8(s, i);
    if (c == 0xFFFD && i - start == 1) {  // an invalid byte (a real U+FFFD takes three)
      out += fmt::format("\\x{:02X}", static_cast<unsigned char>(s[start]));
    } else {
      out.append(s.substr(start, i - start));
    }
    ++shown;
  }
  if (i < s.size()) out += "...";
  out += "'";
  return out;
}

namespace {

template <class T>
bool ParseWhole(std::string_view s, T& out) {
  s = Trim(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool ParseDouble(std::string_view s, double& out) { return ParseWhole(s, out); }
bool ParseInt64(std::string_view s, int64_t& out) { return ParseWhole(s, out); }

bool SecondsToTs(double v, Timestamp& out) {
  if (!std::isfinite(v) || v < -9.0e18 || v > 9.0e18) return false;
  out = static_cast<Timestamp>(std::floor(v));
  return true;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace vane::events_detail
