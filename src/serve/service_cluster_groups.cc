// Node groups (docs/cluster.md, "Node groups"): with ServiceOptions::groups > 1 a node applies the user-side
// entries of its own group's partitions only, and a request for a user of another group is redirected to a live
// node of that group. Membership: every node announces itself (group, URL, time) in the cluster every 2 s
// (SharedLog::Heartbeat); entries older than kStale are ignored.
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "vane/serve/service.h"

namespace vane {
namespace {

constexpr std::chrono::milliseconds kStale{10000};
constexpr std::chrono::milliseconds kReread{1000};

uint64_t UnixMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace

int Service::GroupOf(const std::string& user) const {
  if (!opt_.shared_log || opt_.groups <= 1) return 0;
  return opt_.shared_log->PartitionOf(user) % opt_.groups;
}

Status Service::Announce(const std::string& url) {
  if (!opt_.shared_log) return Status::Ok();
  std::string mine;
  {
    std::lock_guard l(members_mu_);
    if (!url.empty()) advertised_ = url;
    mine = advertised_;
  }
  const nlohmann::json info = {{"group", opt_.group}, {"groups", opt_.groups}, {"url", mine}, {"ms", UnixMs()},
                               {"position", opt_.shared_log->Position()}};
  Status s = opt_.shared_log->Heartbeat(opt_.node_id, info.dump());
  RefreshMembers();
  return s;
}

// Reads the membership and swaps in the live nodes by group. The Redis read holds no lock: requests that are
// redirected meanwhile use the table it replaces. Called after each announcement (every 2 s, maintenance thread),
// and by NodeOfGroup when a group has no known node (at most once a second, one request at a time).
void Service::RefreshMembers() const {
  if (!opt_.shared_log) return;
  auto members = opt_.shared_log->Members();
  if (!members.ok()) {
    std::fprintf(stderr, "cluster: reading the membership failed: %s\n", members.status().ToString().c_str());
    return;
  }
  std::map<int, std::vector<std::string>> urls;
  const uint64_t fresh_after = UnixMs() - static_cast<uint64_t>(kStale.count());
  for (const auto& [node, text] : *members) {
    const nlohmann::json m = nlohmann::json::parse(text, nullptr, false);
    if (!m.is_object()) continue;
    try {  // an entry of another shape (another version, a damaged value) is skipped
      const std::string u = m.value("url", std::string());
      if (u.empty() || m.value("ms", uint64_t{0}) < fresh_after || m.value("groups", 1) != opt_.groups) continue;
      urls[m.value("group", 0)].push_back(u);
    } catch (const nlohmann::json::exception&) {
      std::fprintf(stderr, "cluster: membership entry of %s skipped: not a node's entry\n", node.substr(0, 100).c_str());
    }
  }
  std::lock_guard l(members_mu_);
  group_urls_ = std::move(urls);
}

std::string Service::NodeOfGroup(int g) const {
  if (!opt_.shared_log) return "";
  auto pick = [&]() -> std::string {
    std::lock_guard l(members_mu_);
    auto it = group_urls_.find(g);
    if (it == group_urls_.end() || it->second.empty()) return "";
    return it->second[member_turn_++ % it->second.size()];  // spread over the group's nodes
  };
  if (std::string url = pick(); !url.empty()) return url;
  // No node of the group known: read the membership now, unless it was read less than a second ago or another
  // request is reading it (that one's answer serves the next requests).
  {
    std::lock_guard l(members_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (members_reading_ || now - members_read_ < kReread) return "";
    members_reading_ = true;
    members_read_ = now;
  }
  RefreshMembers();
  {
    std::lock_guard l(members_mu_);
    members_reading_ = false;
  }
  return pick();
}

}  // namespace vane
