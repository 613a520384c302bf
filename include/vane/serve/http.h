// The HTTP front of `vane serve` (cpp-httplib from Debian's libcpp-httplib-dev): the native JSON API under /v1,
// a Gorse-compatible subset under /api, health and readiness, Prometheus /metrics and the OpenAPI description.
// Every error is JSON {"error": {"code", "message"}} with a 4xx/5xx status; request bodies are size-limited.
// docs/http_api.md documents each endpoint.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "vane/serve/service.h"

namespace vane {

enum class Scope { kRead = 0, kWrite = 1, kAdmin = 2 };

struct ApiKey {
  std::string key;
  Scope scope = Scope::kRead;
};

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8087;
  // A request body over this is refused with 413 (payload_too_large), whether it declares its length or comes
  // chunked; a declared length over it is refused before a byte of the body is read.
  size_t max_body_bytes = 8 << 20;
  size_t max_header_bytes = 64 << 10;  // request line and headers together; more is refused (header_too_large)
  // Each open connection holds one worker thread for its whole keep-alive life (a live stream only until its first
  // answer is written: then one hub thread serves every stream), so `threads` is also the connection limit: a connection beyond it is answered 503 (over_capacity, Retry-After)
  // and closed instead of waiting in a queue. Health probes (GET /api/health/...) are still answered then, by a
  // small reserve of workers.
  int threads = 64;
  int keep_alive_max_requests = 10000;  // requests on one connection before the server closes it
  // Deadlines (seconds) that keep a slow or silent client from holding a worker: the whole request line and headers
  // within header_timeout_s of their first byte (not per byte), the whole body within body_timeout_s of the headers,
  // the next request on an open connection (or the first, on a new one) within idle_timeout_s, and every response
  // write taken by the client within write_timeout_s.
  int header_timeout_s = 10;
  int body_timeout_s = 60;
  int idle_timeout_s = 5;
  int write_timeout_s = 10;
  // Live streams (GET /v1/stream/...) open at once; one more is answered 503 (too_many_streams). They hold no worker
  // (one thread serves them all). A stream ends after max_stream_s and the browser's EventSource reconnects.
  int max_streams = 256;
  int max_stream_s = 300;
  // Without keys every route is open (a warning is logged at start); with keys, reads need a read key, writes a
  // write key, deletions and admin routes an admin key (X-API-Key header; a higher scope includes the lower).
  std::vector<ApiKey> keys;
  bool log_requests = true;
  // Cross-origin requests (CORS): a browser page from one of these origins may call the API ("*": any origin);
  // empty: no CORS headers (browsers then refuse cross-origin calls).
  std::vector<std::string> cors_origins;
  // The Gorse API (/api): n when a request gives none (Gorse's default_n); how long items and feedback count, in
  // seconds (Gorse's item_ttl and positive_feedback_ttl; 0: forever): items whose Timestamp is older leave the
  // Gorse lists and recommendations, older feedback the Gorse feedback routes.
  size_t gorse_default_n = 10;
  double gorse_item_ttl_s = 0, gorse_feedback_ttl_s = 0;
};

// Serves until `stop` becomes true (checked every 100 ms) or the process is signalled; sets `stop` when the server
// ends on its own (live streams watch it). `on_listening` is called once the port is bound (with the port, useful
// when 0 asked for any free port). Routes: src/serve/http/server.cc holds the table.
Status RunHttpServer(Service& service, const HttpOptions& opt, std::atomic<bool>& stop,
                     const std::function<void(int port)>& on_listening = nullptr);

}  // namespace vane
