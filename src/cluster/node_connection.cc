#include "node_connection.h"

#include <hiredis.h>

#include <signal.h>

#include <sys/time.h>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace vane::cluster {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

Reply Convert(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = r.type == REDIS_REPLY_STRING   ? Reply::Type::kString
                 : r.type == REDIS_REPLY_STATUS ? Reply::Type::kStatus
                                                : Reply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(Convert(*r.element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

// hiredis writes with write(2): a write after the peer reset the connection raises SIGPIPE, whose default action
// ends the process. While alive, this blocks SIGPIPE in the calling thread and, when one was raised meanwhile,
// consumes it, so the failure reaches the caller as EPIPE, a Status. (MSG_NOSIGNAL would be the direct way; hiredis
// 0.14 does not use it.)
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe, &old_mask_);
  }
  ~ScopedSigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      timespec zero{};
      while (sigtimedwait(&pipe, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
};

}  // namespace

Result<NodeAddress> NodeAddress::Parse(const std::string& address) {
  size_t colon = address.rfind(':');
  NodeAddress out;
  if (colon == std::string::npos) return Status::InvalidArgument(fmt::format("'{}' is not host:port", address));
  out.host = address.substr(0, colon);
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  auto [end, ec] = std::from_chars(first, last, out.port);
  if (ec != std::errc() || end != last || first == last || out.port < 1 || out.port > 65535 || out.host.empty()) {
    return Status::InvalidArgument(fmt::format("'{}' is not host:port (port in 1..65535)", address));
  }
  return out;
}

Result<std::unique_ptr<NodeConnection>> NodeConnection::Open(const std::string& address,
                                                             std::chrono::milliseconds connect_timeout,
                                                             std::chrono::milliseconds command_timeout) {
  VANE_ASSIGN_OR_RETURN(NodeAddress parsed, NodeAddress::Parse(address));
  redisContext* ctx = redisConnectWithTimeout(parsed.host.c_str(), parsed.port, ToTimeval(connect_timeout));
  if (ctx == nullptr) return Status::Unavailable(fmt::format("redis node {}: cannot allocate a connection", address));
  if (ctx->err != 0) {
    std::string reason = ctx->errstr;
    redisFree(ctx);
    return Status::Unavailable(fmt::format("redis node {}: connect failed: {}", address, reason));
  }
  if (redisSetTimeout(ctx, ToTimeval(command_timeout)) != REDIS_OK) {
    std::string reason = ctx->errstr;
    redisFree(ctx);
    return Status::Unavailable(fmt::format("redis node {}: cannot set the command timeout: {}", address, reason));
  }
  return std::unique_ptr<NodeConnection>(new NodeConnection(address, ctx));
}

NodeConnection::~NodeConnection() { redisFree(ctx_); }

void NodeConnection::Append(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  // Fails only when out of memory; the next Read() then reports the context's error.
  redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), ptrs.data(), lens.data());
}

Result<Reply> NodeConnection::Read() {
  void* raw = nullptr;
  int rc;
  {
    ScopedSigpipeBlock no_sigpipe;  // redisGetReply first writes what Append queued
    rc = redisGetReply(ctx_, &raw);
  }
  if (rc != REDIS_OK || raw == nullptr) {
    // hiredis reports a read timeout as EAGAIN ("Resource temporarily unavailable"): say so plainly.
    std::string reason = ctx_->errstr;
    if (ctx_->err == REDIS_ERR_IO && reason == std::strerror(EAGAIN)) reason = "timed out";
    if (reason.empty()) reason = "connection failed";
    return Status::Unavailable(fmt::format("redis node {}: {}", address_, reason));
  }
  Reply out = Convert(*static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return out;
}

}  // namespace vane::cluster
