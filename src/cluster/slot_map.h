// Which node serves each of the 16384 slots, as learned from CLUSTER SLOTS: the master of every slot, and the
// replicas of each range (known, not used for routing yet). Value type; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vane/cluster/redis_cluster.h"
#include "vane/cluster/reply.h"
#include "vane/core/status.h"

namespace vane::cluster {

class SlotMap {
 public:
  SlotMap() { owner_.fill(-1); }
  // Reads a CLUSTER SLOTS reply. `asked_host` stands in for a node whose endpoint the reply leaves empty or "?".
  // InvalidArgument when the reply is not the documented shape.
  static Result<SlotMap> FromClusterSlots(const Reply& reply, std::string_view asked_host);

  // The master serving `slot` ("host:port"), or nullptr when no master does.
  const std::string* MasterFor(int slot) const;
  // Records that `address` now serves `slot` (after a MOVED), until the next refresh.
  void Assign(int slot, const std::string& address);
  // The ranges as CLUSTER SLOTS gave them at the last refresh.
  const std::vector<SlotRange>& ranges() const { return ranges_; }
  // Every node named (masters first, then replicas), each once.
  std::vector<std::string> Nodes() const;

 private:
  int NodeIndex(const std::string& address);
  std::vector<std::string> masters_;  // owner_ indexes into this
  std::array<int16_t, 16384> owner_;  // -1: no master
  std::vector<SlotRange> ranges_;
};

}  // namespace vane::cluster
