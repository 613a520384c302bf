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
  size_t max_body_bytes = 8 << 20;
  // cpp-httplib gives each open connection a worker thread for its whole keep-alive life (and each live dashboard
  // stream one too): threads must exceed the concurrent connections, or new ones queue behind idle ones.
  int threads = 64;
  int keep_alive_max_requests = 10000;  // requests on one connection before the server closes it
  // Without keys every route is open (a warning is logged at start); with keys, reads need a read key, writes a
  // write key, deletions and admin routes an admin key (X-API-Key header; a higher scope includes the lower).
  std::vector<ApiKey> keys;
  bool log_requests = true;
};

// Serves until `stop` becomes true (checked every 100 ms) or the process is signalled; sets `stop` when the server
// ends on its own (live streams watch it). `on_listening` is called once the port is bound (with the port, useful
// when 0 asked for any free port). Routes: src/serve/http/server.cc holds the table.
Status RunHttpServer(Service& service, const HttpOptions& opt, std::atomic<bool>& stop,
                     const std::function<void(int port)>& on_listening = nullptr);

}  // namespace vane
