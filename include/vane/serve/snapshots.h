// The service's snapshot folder: state snapshot files named by the log position they cover, newest first.
//
// A file is `snapshot-<position, 20 digits>.vsnap` (core/binary_io.h's snapshot file): the state after every
// event before that position was applied. Files being written end in `.tmp` and are never listed; a crash leaves
// at most such a file, which the next write or Prune removes. Thread-compatible (the service serialises writers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vane/core/status.h"

namespace vane {

struct SnapshotEntry {
  uint64_t seq = 0;  // the log position the snapshot covers (events [0, seq) are in it)
  std::string path;
};

class SnapshotDir {
 public:
  SnapshotDir() = default;  // off
  explicit SnapshotDir(std::string dir) : dir_(std::move(dir)) {}

  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  // Creates the folder when absent.
  Status Create() const;
  // The snapshots present, newest (highest position) first. Empty when off or the folder is absent.
  std::vector<SnapshotEntry> List() const;
  std::string PathFor(uint64_t seq) const;
  // Removes every snapshot (and leftover temporary file) and makes the removal durable (the folder is fsync'ed):
  // once this returns OK, no restart can load any of them.
  Status RemoveAll() const;
  // Keeps the newest `keep` snapshots; removes the others and leftover temporary files.
  void Prune(size_t keep) const;

 private:
  std::string dir_;
};

}  // namespace vane
