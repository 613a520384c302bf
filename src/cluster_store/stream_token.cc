// Stream ids and position tokens (cluster_store/stream_log.h): the parsers of what clients send back
// (X-Vane-Position), in a file of their own so that the fuzz target needs no Redis client.
#include <fmt/format.h>

#include "parse_decimal.h"
#include "vane/cluster_store/stream_log.h"

namespace vane::cluster {

std::optional<StreamId> StreamId::Parse(std::string_view s) {
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto ms = ParseDecimal(s.substr(0, dash));
  auto seq = ParseDecimal(s.substr(dash + 1));
  if (!ms || !seq) return std::nullopt;
  return StreamId{*ms, *seq};
}

Result<std::vector<std::pair<int, StreamId>>> ParseToken(std::string_view token, int partitions) {
  std::vector<std::pair<int, StreamId>> out;
  if (token.size() > 64 * 1024) return Status::InvalidArgument("bad_token", "position token: longer than 64 KiB");
  for (size_t start = 0; !token.empty(); ) {
    size_t end = std::min(token.find(',', start), token.size());
    std::string_view part = token.substr(start, end - start);
    size_t colon = part.find(':');
    auto p = colon == std::string_view::npos ? std::nullopt : ParseDecimal(part.substr(0, colon));
    auto id = colon == std::string_view::npos ? std::nullopt : StreamId::Parse(part.substr(colon + 1));
    if (!p || !id || *p >= static_cast<uint64_t>(partitions)) {
      return Status::InvalidArgument(
          "bad_token", fmt::format("position token: part {} ('{}') is not partition:ms-seq with a partition below {}",
                                   out.size(), part.substr(0, 64), partitions));
    }
    out.emplace_back(static_cast<int>(*p), *id);
    if (end == token.size()) break;
    start = end + 1;  // a trailing comma leaves an empty part, refused above
  }
  return out;
}

}  // namespace vane::cluster
