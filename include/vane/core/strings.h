// Small string helpers shared by the CLI and the HTTP API.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vane {

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
