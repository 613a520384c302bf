// Client connections: the one place that reads from and writes to client sockets. cpp-httplib parses and answers
// each request (Server::process_request); this file owns the socket around it, so that no client, however slow,
// silent or large, holds a worker for long or takes the server down:
//  - a connection limit (HttpOptions::threads): each admitted connection has a worker at once, never a queue; one
//    over the limit gets a written 503 (over_capacity, Retry-After) from a single responder thread and is closed,
//    except health probes, which a small reserve of workers still answers;
//  - deadlines for the whole request head, the whole body, the idle wait between requests and each write (httplib's
//    own timeouts restart with every byte, so one byte a second kept a worker forever);
//  - size limits on the head and on the body as it arrives, chunked or not (httplib checks a declared
//    Content-Length only, and reads such a body to the end before refusing it).
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <strings.h>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "internal.h"

namespace vane::http {
namespace {

using Clock = std::chrono::steady_clock;

// Chunked bodies carry their framing (size lines, CRLFs): the raw bytes read may exceed the body this much before
// the body itself is refused; the exact body size is checked once it is read (server.cc).
size_t ChunkedBudget(size_t max_body) { return max_body + max_body / 2 + (64 << 10); }

// The connection the calling worker thread serves (the error handler asks it why a request failed).
class SocketConn;
thread_local SocketConn* t_conn = nullptr;
// Set while the accept thread hands a connection over the limit to FrontServer (see Admission::enqueue).
thread_local bool t_over_capacity = false;

int PollOne(int fd, short events, Clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  if (left <= 0) return 0;
  pollfd p{fd, events, 0};
  int r;
  do r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 200)));
  while (r < 0 && errno == EINTR);
  return r;
}

void Address(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof(a);
  if ((peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len)) != 0)
    return;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&a), len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

// Writes all of `data` without blocking past `until`; false when the client did not take it in time.
bool SendAll(int fd, const char* data, size_t size, Clock::time_point until) {
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::send(fd, data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (PollOne(fd, POLLOUT, until) < 0 || Clock::now() >= until) return false;
    } else {
      return false;
    }
  }
  return true;
}

// What the head says about the body to come: its declared length (npos when none), chunked, compressed.
struct BodyShape {
  size_t length = std::string::npos;
  bool chunked = false, encoded = false;
};

BodyShape ShapeOf(const httplib::Request& req) {
  BodyShape b;
  const std::string te = req.get_header_value("Transfer-Encoding");
  b.chunked = te.find("chunked") != std::string::npos;
  const std::string ce = req.get_header_value("Content-Encoding");
  b.encoded = !ce.empty() && ce != "identity";
  if (req.has_header("Content-Length")) {
    const std::string v = req.get_header_value("Content-Length");
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    b.length = (errno == 0 && end && *end == '\0' && !v.empty()) ? static_cast<size_t>(n) : std::string::npos - 1;
  }
  return b;
}

// One client connection as httplib reads and writes it: buffered reads under the deadline and byte budget of the
// request's current part (head, then body), writes that must be taken within the write timeout.
class SocketConn final : public httplib::Stream {
 public:
  SocketConn(int fd, const HttpOptions& opt) : fd_(fd), opt_(opt) {}

  bool is_readable() const override { return begin_ < end_ || PollOne(fd_, POLLIN, deadline_) > 0; }
  bool is_writable() const override {
    return PollOne(fd_, POLLOUT, Clock::now() + std::chrono::seconds(opt_.write_timeout_s)) > 0;
  }
  ssize_t read(char* ptr, size_t size) override {
    if (budget_ == 0 && size > 0) {  // the budget of this part is spent (or none was given: a refused body)
      if (refusal_ == Refusal::kNone) refusal_ = phase_ == Phase::kHead ? Refusal::kHeadTooLarge : Refusal::kBodyTooLarge;
      return -1;
    }
    if (begin_ == end_ && !Fill()) return -1;
    size_t n = std::min({size, end_ - begin_, budget_});
    std::memcpy(ptr, buf_ + begin_, n);
    begin_ += n;
    budget_ -= n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (take_) {  // handed over: kept for the new owner, who sends it (HandOffConnection)
      unsent_.append(ptr, size);
      return static_cast<ssize_t>(size);
    }
    if (!SendAll(fd_, ptr, size, Clock::now() + std::chrono::seconds(opt_.write_timeout_s))) return -1;
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { Address(fd_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { Address(fd_, false, ip, port); }
  socket_t socket() const override { return fd_; }

  // Waits up to the idle timeout for the next request (or the first) to begin; false when none did, or when the
  // server is stopping. Then the head's deadline and budget apply.
  bool WaitForRequest(const std::atomic<socket_t>& listening) {
    const auto until = Clock::now() + std::chrono::seconds(opt_.idle_timeout_s);
    bool ready = begin_ < end_;  // pipelined: the next request is read already
    while (!ready && listening != INVALID_SOCKET && Clock::now() < until) ready = PollOne(fd_, POLLIN, until) > 0;
    if (!ready || listening == INVALID_SOCKET) return false;
    phase_ = Phase::kHead;
    deadline_ = Clock::now() + std::chrono::seconds(opt_.header_timeout_s);
    budget_ = opt_.max_header_bytes;
    refusal_ = Refusal::kNone;
    return true;
  }
  // The head is read: the body (if any) must arrive within its deadline and its size limit.
  void StartBody(const httplib::Request& req) {
    phase_ = Phase::kBody;
    deadline_ = Clock::now() + std::chrono::seconds(opt_.body_timeout_s);
    const BodyShape b = ShapeOf(req);
    if (b.encoded && (b.chunked || (b.length != std::string::npos && b.length > 0))) refusal_ = Refusal::kEncoded;
    else if (b.length != std::string::npos && b.length > opt_.max_body_bytes) refusal_ = Refusal::kBodyTooLarge;
    budget_ = refusal_ != Refusal::kNone ? 0
              : b.chunked                ? ChunkedBudget(opt_.max_body_bytes)
              : b.length != std::string::npos ? b.length
                                              : opt_.max_body_bytes;
  }
  // Why the current request could not be read (kNone: it could, or the client went away).
  enum class Refusal { kNone, kHeadTimeout, kHeadTooLarge, kBodyTimeout, kBodyTooLarge, kEncoded };
  Refusal refusal() const { return refusal_; }

  void HandOff(std::function<void(int, std::string)> take) { take_ = std::move(take); }
  bool handed_off() const { return static_cast<bool>(take_); }
  // After the response is "written": its head loses Content-Length (the body is now as long as the connection),
  // and the socket and the bytes go to the new owner.
  void CompleteHandOff() {
    const size_t end = unsent_.find("\r\n\r\n");
    if (end != std::string::npos) {
      for (size_t at = 0; (at = unsent_.find("\r\n", at)) != std::string::npos && at < end;) {
        const size_t next = unsent_.find("\r\n", at + 2);
        if (strncasecmp(unsent_.c_str() + at + 2, "Content-Length:", 15) == 0) {
          unsent_.erase(at, next - at);
          break;
        }
        at = next;
      }
    }
    take_(fd_, std::move(unsent_));
  }
  void FailHandOff() {
    take_(-1, {});
    take_ = nullptr;
  }

 private:
  enum class Phase { kHead, kBody };
  // One recv into the empty buffer within the current deadline.
  bool Fill() {
    begin_ = end_ = 0;
    for (;;) {
      if (Clock::now() >= deadline_) return TimedOut();
      int p = PollOne(fd_, POLLIN, deadline_);
      if (p < 0) return false;
      if (p == 0) continue;
      ssize_t n = ::recv(fd_, buf_, sizeof(buf_), MSG_DONTWAIT);
      if (n > 0) {
        end_ = static_cast<size_t>(n);
        return true;
      }
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      return false;  // closed by the client, or an error
    }
  }
  bool TimedOut() {
    if (refusal_ == Refusal::kNone) refusal_ = phase_ == Phase::kHead ? Refusal::kHeadTimeout : Refusal::kBodyTimeout;
    return false;
  }

  int fd_;
  const HttpOptions& opt_;
  Phase phase_ = Phase::kHead;
  Clock::time_point deadline_ = Clock::now();
  size_t budget_ = 0;
  Refusal refusal_ = Refusal::kNone;
  char buf_[16 << 10];
  size_t begin_ = 0, end_ = 0;
  std::function<void(int, std::string)> take_;
  std::string unsent_;
};

}  // namespace

std::optional<ConnectionError> CurrentConnectionError() {
  if (!t_conn) return std::nullopt;
  using R = SocketConn::Refusal;
  switch (t_conn->refusal()) {
    case R::kNone: return std::nullopt;
    case R::kHeadTimeout: return ConnectionError{408, "header_timeout", "the request head did not arrive in time"};
    case R::kBodyTimeout: return ConnectionError{408, "body_timeout", "the request body did not arrive in time"};
    case R::kHeadTooLarge: return ConnectionError{431, "header_too_large", "the request line and headers are larger than the limit"};
    case R::kBodyTooLarge: return ConnectionError{413, "payload_too_large", "the request body is larger than the limit"};
    case R::kEncoded:
      return ConnectionError{415, "unsupported_encoding", "compressed request bodies (Content-Encoding) are not accepted"};
  }
  return std::nullopt;
}

bool HandOffConnection(std::function<void(int fd, std::string unsent)> take) {
  if (!t_conn) return false;
  t_conn->HandOff(std::move(take));
  return true;
}

namespace {

// Answers connections over the limit from one thread: waits (briefly) for each one's request head, hands health
// probes to the reserve workers, writes every other one a 503 and closes it once the client has read it.
class Overflow {
 public:
  static constexpr size_t kMaxPending = 512;              // more than this at once are closed unanswered
  static constexpr auto kHeadWait = std::chrono::seconds(2);  // a request head not here by then gets the 503 anyway
  static constexpr auto kLinger = std::chrono::seconds(1);    // after the 503: reads (discarded) until the client closes

  Overflow(int limit, std::function<bool(int)> serve_probe, std::function<void()> on_refused)
      : body_(fmt::format(R"({{"error":{{"code":"over_capacity","message":"the server has {} open connections, its limit; retry shortly"}}}})", limit)),
        serve_probe_(std::move(serve_probe)), on_refused_(std::move(on_refused)) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { Run(); });
  }
  ~Overflow() {
    stop_ = true;
    Wake();
    thread_.join();
    for (const auto& p : pending_) ::close(p.fd);
    for (int fd : incoming_) ::close(fd);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  void Add(int fd) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (incoming_.size() + pending_size_ < kMaxPending) {
        incoming_.push_back(fd);
        fd = -1;
      }
    }
    if (fd >= 0) ::close(fd);
    Wake();
  }

 private:
  struct Pending {
    int fd;
    Clock::time_point until;
    bool answered = false;
    bool partial = false;  // part of a head is here: looked at again each round (it stays readable, being peeked)
  };
  void Wake() {
    char c = 1;
    [[maybe_unused]] auto r = ::write(wake_[1], &c, 1);
  }
  void Run() {
    std::vector<pollfd> fds;
    while (!stop_) {
      Take();
      fds.assign(1, pollfd{wake_[0], POLLIN, 0});
      for (const auto& p : pending_) fds.push_back(pollfd{p.fd, static_cast<short>(p.partial ? 0 : POLLIN), 0});
      ::poll(fds.data(), fds.size(), 100);
      char drain[64];
      while (::read(wake_[0], drain, sizeof(drain)) > 0) {
      }
      const auto now = Clock::now();
      std::vector<Pending> kept;
      for (size_t i = 0; i < pending_.size(); ++i)
        if (Step(pending_[i], fds[i + 1].revents != 0, now)) kept.push_back(pending_[i]);
      pending_.swap(kept);
      pending_size_ = pending_.size();
    }
  }
  void Take() {
    std::lock_guard<std::mutex> l(mu_);
    for (int fd : incoming_) pending_.push_back(Pending{fd, Clock::now() + kHeadWait});
    incoming_.clear();
  }
  // One connection's turn; false once it is done with (closed or handed to a reserve worker).
  bool Step(Pending& p, bool readable, Clock::time_point now) {
    if (p.answered) {
      char sink[4096];
      ssize_t n = readable ? ::recv(p.fd, sink, sizeof(sink), MSG_DONTWAIT) : -1;
      if ((readable && n <= 0 && !(n < 0 && errno == EAGAIN)) || now >= p.until) return Close(p.fd);
      return true;
    }
    if (readable || p.partial) {
      char head[8192];
      ssize_t n = ::recv(p.fd, head, sizeof(head), MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return Close(p.fd);
      std::string_view h(head, n > 0 ? static_cast<size_t>(n) : 0);
      if (h.find("\r\n\r\n") != std::string_view::npos) {
        if (h.starts_with("GET /api/health/") && serve_probe_(p.fd)) return false;
        return Refuse(p, now);
      }
      if (h.size() == sizeof(head)) return Refuse(p, now);
      p.partial = !h.empty();
    }
    return now < p.until || Refuse(p, now);
  }
  bool Refuse(Pending& p, Clock::time_point now) {
    const std::string msg = fmt::format(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nRetry-After: 1\r\n"
        "Connection: close\r\n\r\n{}",
        body_.size(), body_);
    [[maybe_unused]] ssize_t n = ::send(p.fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(p.fd, SHUT_WR);
    p.answered = true;
    p.partial = false;
    p.until = now + kLinger;
    if (on_refused_) on_refused_();
    return true;
  }
  static bool Close(int fd) {
    ::close(fd);
    return false;
  }

  const std::string body_;
  std::function<bool(int)> serve_probe_;
  std::function<void()> on_refused_;
  std::atomic<bool> stop_{false};
  int wake_[2] = {-1, -1};
  std::mutex mu_;
  std::vector<int> incoming_;  // under mu_
  std::atomic<size_t> pending_size_{0};
  std::vector<Pending> pending_;  // the responder thread's own
  std::thread thread_;
};

}  // namespace

// httplib's task queue for accepted connections: a worker for each admitted one, the overflow responder for the rest.
class Admission final : public httplib::TaskQueue {
 public:
  static constexpr int kProbeWorkers = 2, kMaxProbes = 16;

  Admission(FrontServer& svr, int limit, std::function<void()> on_refused)
      : limit_(std::max(1, limit)),
        pool_(static_cast<size_t>(limit_)),
        probes_(kProbeWorkers),
        overflow_(std::in_place, limit_, [this, &svr](int fd) { return ServeProbe(svr, fd); }, std::move(on_refused)) {}

  void enqueue(std::function<void()> fn) override {
    if (open_.load() < limit_) {
      ++open_;
      pool_.enqueue([this, fn = std::move(fn)] {
        fn();
        --open_;
      });
      return;
    }
    t_over_capacity = true;  // fn() calls FrontServer::process_and_close_socket, which hands the socket to Refuse()
    fn();
    t_over_capacity = false;
  }
  void shutdown() override {
    overflow_.reset();
    pool_.shutdown();
    probes_.shutdown();
  }
  void Refuse(int fd) {
    if (overflow_) overflow_->Add(fd);
    else ::close(fd);
  }

 private:
  bool ServeProbe(FrontServer& svr, int fd) {
    if (probes_in_flight_.load() >= kMaxProbes) return false;
    ++probes_in_flight_;
    probes_.enqueue([this, &svr, fd] {
      svr.Serve(fd, 1);
      --probes_in_flight_;
    });
    return true;
  }

  const int limit_;
  std::atomic<int> open_{0}, probes_in_flight_{0};
  httplib::ThreadPool pool_, probes_;
  std::optional<Overflow> overflow_;
};

FrontServer::FrontServer(const HttpOptions& opt, std::function<void()> on_refused) : opt_(opt) {
  new_task_queue = [this, on_refused = std::move(on_refused)] {
    admission_ = new Admission(*this, opt_.threads, on_refused);
    return admission_;
  };
}

void FrontServer::WidenBacklog() {
  if (svr_sock_ != INVALID_SOCKET) ::listen(svr_sock_, 1024);
}

bool FrontServer::process_and_close_socket(socket_t sock) {
  if (t_over_capacity) {
    admission_->Refuse(sock);
    return true;
  }
  Serve(sock, std::max<size_t>(1, keep_alive_max_count_));
  return true;
}

void FrontServer::Serve(int fd, size_t max_requests) {
  SocketConn conn(fd, opt_);
  t_conn = &conn;
  bool refused = false;
  for (size_t left = max_requests; left > 0 && conn.WaitForRequest(svr_sock_); --left) {
    bool closed = false;
    bool ok = process_request(conn, left == 1, closed, [&](httplib::Request& req) {
      // Every body is JSON here: httplib would parse a form-encoded one (curl's default type) into parameters, and
      // refuse it past 8 KiB as payload_too_large.
      if (req.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded"))
        req.headers.erase("Content-Type");
      conn.StartBody(req);
      if (conn.refusal() != SocketConn::Refusal::kNone) {  // the body stays unread: this connection ends here
        req.headers.erase("Connection");
        req.set_header("Connection", "close");
      }
    });
    if (conn.handed_off()) {  // a live stream: the socket is the hub's now (stream_hub.cc)
      t_conn = nullptr;
      if (ok) return conn.CompleteHandOff();
      conn.FailHandOff();
      break;
    }
    refused = conn.refusal() != SocketConn::Refusal::kNone;
    if (!ok || closed || refused) break;
  }
  t_conn = nullptr;
  Close(fd, refused);
}

// Closes the socket. After a refusal the client may still be sending: reading (and dropping) what comes for a
// moment lets it read the answer instead of a reset.
void FrontServer::Close(int fd, bool linger) {
  if (linger) {
    ::shutdown(fd, SHUT_WR);
    const auto until = Clock::now() + std::chrono::seconds(1);
    char sink[16 << 10];
    size_t drained = 0;
    while (drained < (4u << 20) && PollOne(fd, POLLIN, until) > 0) {
      ssize_t n = ::recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
      if (n > 0) drained += static_cast<size_t>(n);
    }
  } else {
    ::shutdown(fd, SHUT_RDWR);
  }
  ::close(fd);
}

}  // namespace vane::http
