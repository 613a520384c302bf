#include "vane/serve/snapshots.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace vane {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "snapshot-", kSuffix = ".vsnap";

// The position in a snapshot's file name, or false for any other file.
bool ParseName(const std::string& name, uint64_t& seq) {
  if (name.size() != kPrefix.size() + 20 + kSuffix.size() || !name.starts_with(kPrefix) || !name.ends_with(kSuffix))
    return false;
  std::string digits = name.substr(kPrefix.size(), 20);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  seq = std::stoull(digits);
  return true;
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(fmt::format("snapshots: cannot open {}: {}", dir, std::strerror(errno)));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IoError(fmt::format("snapshots: cannot fsync {}: {}", dir, std::strerror(errno)));
  return Status::Ok();
}

}  // namespace

Status SnapshotDir::Create() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Status::IoError(fmt::format("snapshots: cannot create {}: {}", dir_, ec.message()));
  return Status::Ok();
}

std::vector<SnapshotEntry> SnapshotDir::List() const {
  std::vector<SnapshotEntry> out;
  if (!enabled()) return out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    uint64_t seq;
    if (e.is_regular_file(ec) && ParseName(e.path().filename().string(), seq)) out.push_back({seq, e.path().string()});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.seq > b.seq; });
  return out;
}

std::string SnapshotDir::PathFor(uint64_t seq) const {
  return (fs::path(dir_) / fmt::format("{}{:020}{}", kPrefix, seq, kSuffix)).string();
}

Status SnapshotDir::RemoveAll() const {
  if (!enabled() || !fs::exists(dir_)) return Status::Ok();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    uint64_t seq;
    const std::string name = e.path().filename().string();
    if (!ParseName(name, seq) && !name.ends_with(".tmp")) continue;
    if (!fs::remove(e.path(), ec) && ec)
      return Status::IoError(fmt::format("snapshots: cannot remove {}: {}", e.path().string(), ec.message()));
  }
  if (ec) return Status::IoError(fmt::format("snapshots: cannot list {}: {}", dir_, ec.message()));
  return SyncDir(dir_);
}

void SnapshotDir::Prune(size_t keep) const {
  std::vector<SnapshotEntry> all = List();
  std::error_code ec;
  for (size_t i = keep; i < all.size(); ++i) fs::remove(all[i].path, ec);
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (e.path().filename().string().ends_with(".tmp")) fs::remove(e.path(), ec);
}

}  // namespace vane
