// A whole string as an unsigned decimal (stream ids, counts, clocks): nullopt for anything else. Internal.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vane::cluster {

inline std::optional<uint64_t> ParseDecimal(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace vane::cluster
