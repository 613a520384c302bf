#include "slot_map.h"

#include <algorithm>

#include <fmt/format.h>

#include "vane/cluster/key_slot.h"

namespace vane::cluster {
namespace {

// One node entry of a CLUSTER SLOTS range: [endpoint, port, node id, (metadata)].
Result<std::string> NodeOf(const Reply& node, std::string_view asked_host) {
  if (node.type != Reply::Type::kArray || node.elements.size() < 2 || node.elements[0].type != Reply::Type::kString ||
      node.elements[1].type != Reply::Type::kInteger) {
    return Status::InvalidArgument("CLUSTER SLOTS: a node entry is not [endpoint, port, ...]: " + node.DebugString());
  }
  std::string host = node.elements[0].str;
  if (host.empty() || host == "?") host = std::string(asked_host);
  return fmt::format("{}:{}", host, node.elements[1].integer);
}

}  // namespace

Result<SlotMap> SlotMap::FromClusterSlots(const Reply& reply, std::string_view asked_host) {
  if (reply.type != Reply::Type::kArray) {
    return Status::InvalidArgument("CLUSTER SLOTS did not answer an array: " + reply.DebugString());
  }
  SlotMap map;
  for (const Reply& range : reply.elements) {
    if (range.type != Reply::Type::kArray || range.elements.size() < 3 ||
        range.elements[0].type != Reply::Type::kInteger || range.elements[1].type != Reply::Type::kInteger) {
      return Status::InvalidArgument("CLUSTER SLOTS: a range is not [first, last, master, ...]: " +
                                     range.DebugString());
    }
    SlotRange r;
    r.first = static_cast<int>(range.elements[0].integer);
    r.last = static_cast<int>(range.elements[1].integer);
    if (r.first < 0 || r.last >= kSlotCount || r.first > r.last) {
      return Status::InvalidArgument(fmt::format("CLUSTER SLOTS: bad range {}-{}", r.first, r.last));
    }
    VANE_ASSIGN_OR_RETURN(r.master, NodeOf(range.elements[2], asked_host));
    for (size_t i = 3; i < range.elements.size(); ++i) {
      VANE_ASSIGN_OR_RETURN(std::string replica, NodeOf(range.elements[i], asked_host));
      r.replicas.push_back(std::move(replica));
    }
    int16_t index = static_cast<int16_t>(map.NodeIndex(r.master));
    std::fill(map.owner_.begin() + r.first, map.owner_.begin() + r.last + 1, index);
    map.ranges_.push_back(std::move(r));
  }
  std::sort(map.ranges_.begin(), map.ranges_.end(),
            [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
  return map;
}

const std::string* SlotMap::MasterFor(int slot) const {
  int16_t index = owner_[slot];
  return index < 0 ? nullptr : &masters_[index];
}

void SlotMap::Assign(int slot, const std::string& address) { owner_[slot] = static_cast<int16_t>(NodeIndex(address)); }

std::vector<std::string> SlotMap::Nodes() const {
  std::vector<std::string> out = masters_;
  for (const SlotRange& r : ranges_) {
    for (const std::string& replica : r.replicas) {
      if (std::find(out.begin(), out.end(), replica) == out.end()) out.push_back(replica);
    }
  }
  return out;
}

int SlotMap::NodeIndex(const std::string& address) {
  auto it = std::find(masters_.begin(), masters_.end(), address);
  if (it != masters_.end()) return static_cast<int>(it - masters_.begin());
  masters_.push_back(address);
  return static_cast<int>(masters_.size() - 1);
}

}  // namespace vane::cluster
