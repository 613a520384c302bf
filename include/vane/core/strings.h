// Small string helpers shared by the library, the CLI and the HTTP API.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vane {

// `s` without leading and trailing spaces, tabs and carriage returns.
inline std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

// "a,b,,c" -> {"a", "b", "c"}: comma-separated values, empty ones dropped.
inline std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a <= s.size()) {
    size_t b = s.find(',', a);
    if (b == std::string_view::npos) b = s.size();
    if (b > a) out.emplace_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

// A duration as Go writes it (Gorse's configuration and write-back-delay): one or more decimal numbers, each with a
// unit ("ms", "s", "m", "h"; "us", "ns"), such as "10s", "1h30m", "1.5h", or "0". Seconds; nullopt when malformed.
inline std::optional<double> ParseDuration(std::string_view s) {
  if (s == "0") return 0.0;
  if (s.empty()) return std::nullopt;
  double total = 0;
  while (!s.empty()) {
    size_t k = 0;
    while (k < s.size() && ((s[k] >= '0' && s[k] <= '9') || s[k] == '.')) ++k;
    double v = 0;
    auto r = std::from_chars(s.data(), s.data() + k, v);
    if (k == 0 || r.ec != std::errc() || r.ptr != s.data() + k) return std::nullopt;
    s.remove_prefix(k);
    size_t u = 0;
    while (u < s.size() && !((s[u] >= '0' && s[u] <= '9') || s[u] == '.')) ++u;
    const std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    if (unit == "h") total += v * 3600;
    else if (unit == "m") total += v * 60;
    else if (unit == "s") total += v;
    else if (unit == "ms") total += v / 1e3;
    else if (unit == "us" || unit == "\u00b5s") total += v / 1e6;
    else if (unit == "ns") total += v / 1e9;
    else return std::nullopt;
  }
  return total;
}

}  // namespace vane
