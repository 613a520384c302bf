// Small string helpers shared by the library, the CLI and the HTTP API.
#pragma once

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

}  // namespace vane
