// Live view of one user (server-sent events): a "state" message (the user's snapshot) at once, after every change
// of the user's state, and every 10 s (interests decay with time; this also finds closed connections). Each open
// stream holds a worker: at most HttpOptions::max_streams are open at once (and at most half the workers), and each
// ends after max_stream_s; the browser's EventSource then reconnects by itself.
#include <algorithm>
#include <chrono>
#include <memory>

#include "internal.h"

namespace vane::http::stream {
namespace {

struct StreamState {
  explicit StreamState(std::atomic<int>& open) : open(open) {}
  ~StreamState() { --open; }  // the stream's slot, taken in User()
  std::atomic<int>& open;
  std::optional<json> pending;
  uint64_t sent_version = 0, seen_seq = 0;
  std::chrono::steady_clock::time_point sent_at, ends_at;
};

// Takes a stream slot; false when max_streams (or half the workers) are streaming already.
bool TakeSlot(const Ctx& c) {
  const int limit = std::min(c.opt.max_streams, std::max(1, c.opt.threads / 2));
  if (++c.streams <= limit) return true;
  --c.streams;
  return false;
}

std::string Message(const char* event, const json& data) {
  return std::string("event: ") + event + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

// One step of the stream: waits for a change (up to 1 s) and writes the next state when there is one.
bool Step(Service& service, const std::atomic<bool>& stop, const std::string& user, size_t n, StreamState& st,
          httplib::DataSink& sink) {
  if (stop) return false;
  if (std::chrono::steady_clock::now() >= st.ends_at) {  // its time is up: the client reconnects
    sink.done();
    return true;
  }
  if (!st.pending) {
    st.seen_seq = service.WaitForChange(st.seen_seq, std::chrono::milliseconds(1000));
    const bool due = std::chrono::steady_clock::now() - st.sent_at >= std::chrono::seconds(10);
    if (service.UserChangeSeq(user) == st.sent_version && !due) return true;  // nothing new: wait again
    auto snap = service.Snapshot(user, n);
    if (!snap.ok()) {  // the user was deleted: say so and end the stream
      std::string msg = Message("gone", json{{"error", {{"code", std::string(snap.status().reason())},
                                                        {"message", snap.status().message()}}}});
      sink.write(msg.data(), msg.size());
      sink.done();
      return true;
    }
    st.pending = SnapshotJson(snap.value());
  }
  st.sent_version = st.pending->value("version", uint64_t{0});
  std::string msg = Message("state", *st.pending);
  st.pending.reset();
  st.sent_at = std::chrono::steady_clock::now();
  return sink.write(msg.data(), msg.size());
}

}  // namespace

void User(const Ctx& c, const Req& req, Res& res) {
  std::string user = req.matches[1];
  auto n = ParseSize(req, "n", 10, res);
  if (!n) return;
  auto first = c.service.Snapshot(user, *n);
  if (!first.ok()) return SendError(res, first.status());
  if (!TakeSlot(c)) {
    res.set_header("Retry-After", "5");
    return SendError(res, Status::Unavailable("too_many_streams", "the server has as many live streams open as it "
                                                                  "allows; retry shortly"));
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto st = std::make_shared<StreamState>(c.streams);
  st->ends_at = std::chrono::steady_clock::now() + std::chrono::seconds(std::max(1, c.opt.max_stream_s));
  st->pending = SnapshotJson(first.value());
  st->seen_seq = c.service.ChangeSeq();
  Service& service = c.service;
  const std::atomic<bool>& stop = c.stop;
  res.set_chunked_content_provider("text/event-stream", [&service, &stop, user, n = *n, st](size_t, httplib::DataSink& sink) {
    return Step(service, stop, user, n, *st, sink);
  });
}

}  // namespace vane::http::stream
