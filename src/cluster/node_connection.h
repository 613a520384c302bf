// One hiredis connection to one Redis node, blocking, with connect and command timeouts. Commands are appended
// (binary-safe argv) and their replies read back in order, which is pipelining when several are appended before
// the first read. After any I/O error (refused, reset, timeout, protocol) the connection is unusable: the owner
// drops it and opens a new one. Not thread-safe (RedisCluster serialises access).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "vane/cluster/reply.h"
#include "vane/core/status.h"

struct redisContext;

namespace vane::cluster {

// "host:port" split at its last ':'. InvalidArgument when the port is missing or not a number in [1, 65535].
struct NodeAddress {
  std::string host;
  int port = 0;
  static Result<NodeAddress> Parse(const std::string& address);
};

class NodeConnection {
 public:
  // Connects to `address` ("host:port"). Unavailable naming the address and hiredis's reason on failure.
  static Result<std::unique_ptr<NodeConnection>> Open(const std::string& address,
                                                      std::chrono::milliseconds connect_timeout,
                                                      std::chrono::milliseconds command_timeout);
  ~NodeConnection();
  NodeConnection(const NodeConnection&) = delete;
  NodeConnection& operator=(const NodeConnection&) = delete;

  const std::string& address() const { return address_; }
  // Queues a command in the output buffer; nothing is sent until Read().
  void Append(const std::vector<std::string>& argv);
  // Sends what is queued and reads the next reply. An error reply is a Reply (type kError), not a Status; a
  // Status (Unavailable, naming the node) means the connection failed and must be dropped.
  Result<Reply> Read();

 private:
  NodeConnection(std::string address, redisContext* ctx) : address_(std::move(address)), ctx_(ctx) {}
  std::string address_;
  redisContext* ctx_;
};

}  // namespace vane::cluster
