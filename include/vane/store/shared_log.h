// The event log shared by the nodes of a vane cluster, as a node's service sees it (docs/cluster.md, "Nodes
// applying the log"). The implementation on Redis Streams is cluster_store/stream_log.h (NewStreamSharedLog); the
// service only knows this interface, so the serving modules do not link hiredis.
//
// Contract: Append is idempotent under its batch id and returns the write's position token once the log holds the
// batch (as durably as the log is configured to acknowledge). Poll returns the entries that follow the previous
// Poll's in one order that every node sees (the common order); Covers says whether Poll has returned every entry a
// token names. Append and Covers may be called from any thread, Poll from one thread at a time.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/types.h"

namespace vane {

struct SharedLogEntry {
  std::string batch;            // the batch id it was appended under
  std::vector<RawEvent> events;
  std::vector<Item> items;      // catalogue writes travel in the log too (an entry holds events or items)
  std::string error;            // non-empty: a malformed entry (no events), with where it lies
};

class SharedLog {
 public:
  virtual ~SharedLog() = default;
  virtual Result<std::string> Append(const std::string& batch_id, std::span<const RawEvent> events) = 0;
  virtual Result<std::string> AppendItems(const std::string& batch_id, std::span<const Item> items) = 0;
  virtual Result<std::vector<SharedLogEntry>> Poll() = 0;
  // InvalidArgument (reason "bad_token") for a token that does not read.
  virtual Result<bool> Covers(const std::string& token) const = 0;
  // The position reached by Poll, as text (metrics, the dashboard).
  virtual std::string Position() const = 0;
  // Unix milliseconds below which Poll has returned every entry (0: unknown); now minus this is the node's lag.
  virtual uint64_t WatermarkMs() const { return 0; }
};

}  // namespace vane
