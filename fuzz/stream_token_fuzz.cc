// ParseToken and StreamId::Parse (cluster_store/stream_log.h): the position token a client sends back in the
// X-Vane-Position header or the `position` parameter to any cluster node.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "vane/cluster_store/stream_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  const int partitions = size > 0 ? 1 + data[0] % 64 : 16;
  auto r = vane::cluster::ParseToken(s, partitions);
  if (r.ok()) {
    // Every part names a partition below the count, and the token written back from the parts reads the same.
    std::string again;
    for (const auto& [p, id] : r.value()) {
      FUZZ_CHECK(p >= 0 && p < partitions);
      if (!again.empty()) again += ',';
      again += std::to_string(p) + ":" + id.ToString();
    }
    auto r2 = vane::cluster::ParseToken(again, partitions);
    FUZZ_CHECK(r2.ok() && r2.value() == r.value());
  } else {
    FUZZ_CHECK(r.status().reason() == "bad_token" && !r.status().message().empty());
  }
  if (auto id = vane::cluster::StreamId::Parse(s)) FUZZ_CHECK(vane::cluster::StreamId::Parse(id->ToString()) == id);
  return 0;
}
