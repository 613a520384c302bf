// Live streams without a worker each: once a stream's first answer is written (by httplib, through the worker that
// took the request: scope check, metrics, request log as for every route), the worker hands the socket over
// (connection.cc) and goes back to the pool. One hub thread then serves every open stream: it polls the sockets
// (a client that goes away is seen at once), writes a "state" message when the user's state changes or every 10 s,
// ends each stream after max_stream_s (the browser's EventSource reconnects) and drops a client that does not read
// what it is sent within write_timeout_s. A second thread only waits for changes of the service and wakes the hub.
//
// The response is delimited by closing the connection (HTTP/1.1 without Content-Length or chunking, "Connection:
// close"), which EventSource, curl and every HTTP client read as a stream.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "internal.h"

namespace vane::http {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kRefresh = std::chrono::seconds(10);  // a message at least this often (interests decay with time)
constexpr size_t kMaxUnsent = 1 << 20;               // a client that lets this much pile up is dropped

}  // namespace

std::string StreamMessage(const char* event, const json& data) {
  return std::string("event: ") + event + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

struct StreamHub::Stream {
  int fd;
  std::string user;
  size_t n;
  uint64_t sent_version;
  Clock::time_point sent_at, ends_at;
  std::string out;  // not yet taken by the client
  size_t out_off = 0;
  Clock::time_point write_by;  // when `out` must have been taken
  bool closing = false;        // flush what is left, then close
  bool fresh = true;           // not looked at yet: its first answer may predate a change the hub has seen
};

StreamHub::StreamHub(Service& service, const HttpOptions& opt, const std::atomic<bool>& stop, std::atomic<int>& open)
    : service_(service), opt_(opt), stop_(stop), open_(open) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  hub_ = std::thread([this] { Run(); });
  watcher_ = std::thread([this] {
    uint64_t seen = service_.ChangeSeq();
    while (!stop_ && !quit_) {
      const uint64_t now = service_.WaitForChange(seen, std::chrono::milliseconds(250));
      if (now != seen) Wake();
      seen = now;
    }
  });
}

StreamHub::~StreamHub() {
  quit_ = true;
  Wake();
  hub_.join();
  watcher_.join();
  for (int fd : incoming_fds_) ::close(fd);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void StreamHub::Wake() {
  char c = 1;
  [[maybe_unused]] auto r = ::write(wake_[1], &c, 1);
}

void StreamHub::Add(int fd, std::string head, std::string user, size_t n, uint64_t version) {
  auto s = std::make_unique<Stream>();
  s->fd = fd;
  s->user = std::move(user);
  s->n = n;
  s->sent_version = version;
  s->sent_at = Clock::now();
  s->ends_at = s->sent_at + std::chrono::seconds(std::max(1, opt_.max_stream_s));
  s->out = std::move(head);
  s->write_by = s->sent_at + std::chrono::seconds(opt_.write_timeout_s);
  {
    std::lock_guard<std::mutex> l(mu_);
    incoming_fds_.push_back(fd);
    incoming_.push_back(std::move(s));
  }
  Wake();
}

void StreamHub::Run() {
  std::vector<std::unique_ptr<Stream>> streams;
  std::vector<pollfd> fds;
  uint64_t seen = service_.ChangeSeq();
  while (!quit_ && !stop_) {
    {
      std::lock_guard<std::mutex> l(mu_);
      for (auto& s : incoming_) streams.push_back(std::move(s));
      incoming_.clear();
      incoming_fds_.clear();
    }
    fds.assign(1, pollfd{wake_[0], POLLIN, 0});
    for (const auto& s : streams)
      fds.push_back(pollfd{s->fd, static_cast<short>(POLLIN | (s->out_off < s->out.size() ? POLLOUT : 0)), 0});
    ::poll(fds.data(), fds.size(), 1000);
    char drain[256];
    while (::read(wake_[0], drain, sizeof(drain)) > 0) {
    }
    const auto now = Clock::now();
    const uint64_t seq = service_.ChangeSeq();
    const bool changed = seq != seen;
    seen = seq;
    std::vector<std::unique_ptr<Stream>> kept;
    for (size_t i = 0; i < streams.size(); ++i) {
      Stream& s = *streams[i];
      if (Step(s, fds[i + 1].revents, changed, now)) {
        kept.push_back(std::move(streams[i]));
      } else {
        --open_;  // the slot is free before the client can see the end and come back
        ::shutdown(s.fd, SHUT_RDWR);
        ::close(s.fd);
      }
    }
    streams.swap(kept);
  }
  for (auto& s : streams) {  // the server stops: every stream ends
    --open_;
    ::shutdown(s->fd, SHUT_RDWR);
    ::close(s->fd);
  }
  std::lock_guard<std::mutex> l(mu_);
  for (auto& s : incoming_) {
    --open_;
    ::close(s->fd);
  }
  incoming_.clear();
  incoming_fds_.clear();
}

// One stream's turn; false when it is to be closed.
bool StreamHub::Step(Stream& s, short revents, bool changed, Clock::time_point now) {
  if (revents & (POLLERR | POLLHUP | POLLNVAL)) return false;
  if (revents & POLLIN) {  // a client sends nothing more on a stream: data is dropped, end of input ends it
    char sink[4096];
    ssize_t r = ::recv(s.fd, sink, sizeof(sink), MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return false;
  }
  if (!s.closing && now >= s.ends_at) s.closing = true;  // its time is up: the client reconnects
  const bool look = changed || s.fresh;
  s.fresh = false;
  if (!s.closing && (look || now - s.sent_at >= kRefresh) &&
      (service_.UserChangeSeq(s.user) != s.sent_version || now - s.sent_at >= kRefresh)) {
    if (s.out.size() - s.out_off > kMaxUnsent) return false;
    auto snap = service_.Snapshot(s.user, s.n);
    if (!snap.ok()) {  // the user was deleted: say so and end the stream
      s.out += StreamMessage("gone", json{{"error", {{"code", std::string(snap.status().reason())},
                                                     {"message", snap.status().message()}}}});
      s.closing = true;
    } else {
      json j = SnapshotJson(snap.value());
      s.sent_version = j.value("version", uint64_t{0});
      if (s.out_off == s.out.size()) s.write_by = now + std::chrono::seconds(opt_.write_timeout_s);
      s.out += StreamMessage("state", j);
    }
    s.sent_at = now;
  }
  while (s.out_off < s.out.size()) {
    ssize_t w = ::send(s.fd, s.out.data() + s.out_off, s.out.size() - s.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      s.out_off += static_cast<size_t>(w);
      s.write_by = now + std::chrono::seconds(opt_.write_timeout_s);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return now < s.write_by;  // the client is slow to read: allowed until the write deadline
    } else {
      return false;
    }
  }
  s.out.clear();
  s.out_off = 0;
  return !s.closing;
}

}  // namespace vane::http
