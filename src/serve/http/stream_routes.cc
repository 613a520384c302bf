// Live view of one user (server-sent events): a "state" message (the user's snapshot) at once, after every change
// of the user's state, and every 10 s (interests decay with time). This handler checks the request, takes a stream
// slot and answers the first message like any route; then the socket goes to the stream hub (stream_hub.cc), which
// serves every open stream from one thread, so a stream holds no worker. At most HttpOptions::max_streams are open
// at once, and each ends after max_stream_s; the browser's EventSource then reconnects by itself.
#include "internal.h"

namespace vane::http::stream {
namespace {

// Takes a stream slot; false when max_streams are streaming already.
bool TakeSlot(const Ctx& c) {
  if (++c.streams <= c.opt.max_streams) return true;
  --c.streams;
  return false;
}

}  // namespace

void User(const Ctx& c, const Req& req, Res& res) {
  std::string user = req.matches[1];
  auto n = ParseSize(req, "n", 10, res);
  if (!n) return;
  auto first = c.service.Snapshot(user, *n);
  if (!first.ok()) return SendError(res, first.status());
  if (!c.hub) return SendError(res, Status::Unavailable("no_streams", "live streams are not served here"));
  if (!TakeSlot(c)) {
    res.set_header("Retry-After", "5");
    return SendError(res, Status::Unavailable("too_many_streams", "the server has as many live streams open as it "
                                                                  "allows; retry shortly"));
  }
  json j = SnapshotJson(first.value());
  const uint64_t version = j.value("version", uint64_t{0});
  StreamHub* hub = c.hub;
  std::atomic<int>& open = c.streams;
  const bool handed = HandOffConnection([hub, &open, user, n = *n, version](int fd, std::string unsent) {
    if (fd < 0) --open;  // the answer failed: the slot is free again
    else hub->Add(fd, std::move(unsent), user, n, version);
  });
  if (!handed) {
    --c.streams;
    return SendError(res, Status::Unavailable("no_streams", "live streams are not served here"));
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_header("Connection", "close");  // the stream's end is the connection's end
  res.set_content(StreamMessage("state", j), "text/event-stream");
}

}  // namespace vane::http::stream
