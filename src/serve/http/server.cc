// The HTTP front: the route table, and the one wrapper every route goes through (API-key scope, request id,
// metrics, request log, exceptions). Handlers live in native_routes.cc, gorse_routes.cc, stream_routes.cc and
// metrics.cc; the Status -> HTTP mapping in errors.cc.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "internal.h"
#include "vane/events/ids.h"
#include "vane_openapi.h"
#include "vane_web.h"

namespace vane::http {
namespace {

enum class Method { kGet, kPost, kPut, kPatch, kDelete };

struct Route {
  Method method;
  const char* pattern;  // httplib's regex
  const char* label;    // the route in metrics and the request log
  Scope scope;
  Handler handler;
  bool open = false;    // kOpen: no key needed even when keys are configured
};
constexpr bool kOpen = true;

// Every API route: method, path, metrics label, the scope a key needs (or kOpen), handler. With keys configured
// every route needs one except the health probes (load balancers and orchestrators call them without a key); the
// dashboard's static files and /openapi.json (AddRoutes) are open too: they hold no data.
const Route kRoutes[] = {
    // native API
    {Method::kPost, "/v1/events", "/v1/events", Scope::kWrite, native::PostEvents},
    {Method::kGet, R"(/v1/recommend/([^/]+))", "/v1/recommend/{user}", Scope::kRead, native::Recommend},
    {Method::kGet, R"(/v1/users/([^/]+)/interests)", "/v1/users/{user}/interests", Scope::kRead, native::Interests},
    {Method::kGet, R"(/v1/users/([^/]+)/events)", "/v1/users/{user}/events", Scope::kRead, native::UserEvents},
    {Method::kGet, R"(/v1/users/([^/]+))", "/v1/users/{user}", Scope::kRead, native::GetUser},
    {Method::kGet, "/v1/popular", "/v1/popular", Scope::kRead, native::Popular},
    {Method::kGet, "/v1/latest", "/v1/latest", Scope::kRead, native::Latest},
    {Method::kGet, "/v1/users", "/v1/users", Scope::kRead, native::ListUsers},
    {Method::kGet, R"(/v1/stream/users/([^/]+))", "/v1/stream/users/{user}", Scope::kRead, stream::User},
    {Method::kDelete, R"(/v1/users/([^/]+))", "/v1/users/{user}", Scope::kAdmin, native::DeleteUser},
    {Method::kGet, R"(/v1/items/([^/]+)/similar)", "/v1/items/{item}/similar", Scope::kRead, native::Similar},
    {Method::kGet, R"(/v1/items/([^/]+))", "/v1/items/{item}", Scope::kRead, native::GetItem},
    {Method::kDelete, R"(/v1/items/([^/]+))", "/v1/items/{item}", Scope::kAdmin, native::DeleteItem},
    {Method::kPost, "/v1/items", "/v1/items", Scope::kWrite, native::PostItems},
    {Method::kPost, "/v1/feedback", "/v1/feedback", Scope::kWrite, native::Feedback},
    {Method::kPost, "/v1/models/retrain", "/v1/models/retrain", Scope::kAdmin, native::Retrain},
    {Method::kPost, R"(/v1/models/(v[0-9]+)/promote)", "/v1/models/{version}/promote", Scope::kAdmin, native::PromoteVersion},
    {Method::kGet, "/v1/models", "/v1/models", Scope::kRead, native::Models},
    {Method::kGet, "/v1/stats", "/v1/stats", Scope::kRead, native::Stats},
    // Gorse-compatible API (Gorse v0.4's server/rest.go, and v0.5's recommender routes that map onto vane)
    {Method::kPost, "/api/feedback", "/api/feedback", Scope::kWrite, gorse::PostFeedback},
    {Method::kPut, "/api/feedback", "/api/feedback", Scope::kWrite, gorse::PostFeedback},
    {Method::kGet, "/api/feedback/?", "/api/feedback", Scope::kRead, gorse::ListFeedback},
    {Method::kGet, R"(/api/feedback/([^/]+))", "/api/feedback/{type}", Scope::kRead, gorse::ListFeedback},
    {Method::kGet, R"(/api/feedback/([^/]+)/([^/]+))", "/api/feedback/{user}/{item}", Scope::kRead, gorse::UserItemFeedback},
    {Method::kDelete, R"(/api/feedback/([^/]+)/([^/]+))", "/api/feedback/{user}/{item}", Scope::kAdmin, gorse::DeleteUserItemFeedback},
    {Method::kGet, R"(/api/feedback/([^/]+)/([^/]+)/([^/]+))", "/api/feedback/{type}/{user}/{item}", Scope::kRead, gorse::TypedFeedback},
    {Method::kDelete, R"(/api/feedback/([^/]+)/([^/]+)/([^/]+))", "/api/feedback/{type}/{user}/{item}", Scope::kAdmin, gorse::DeleteTypedFeedback},
    {Method::kGet, R"(/api/recommend/([^/]+)(?:/([^/]*))?)", "/api/recommend/{user}", Scope::kRead, gorse::Recommend},
    {Method::kPost, R"(/api/session/recommend(?:/([^/]*))?)", "/api/session/recommend", Scope::kRead, gorse::SessionRecommend},
    {Method::kPost, "/api/item", "/api/item", Scope::kWrite, gorse::PostItem},
    {Method::kPost, "/api/items", "/api/items", Scope::kWrite, gorse::PostItems},
    {Method::kGet, "/api/items/?", "/api/items", Scope::kRead, gorse::ListItems},
    {Method::kGet, R"(/api/item/([^/]+)/neighbors(?:/([^/]*))?)", "/api/item/{item}/neighbors", Scope::kRead, gorse::ItemNeighbors},
    {Method::kGet, R"(/api/item/([^/]+)/feedback(?:/([^/]*))?)", "/api/item/{item}/feedback", Scope::kRead, gorse::ItemFeedback},
    {Method::kPut, R"(/api/item/([^/]+)/category/([^/]+))", "/api/item/{item}/category/{category}", Scope::kWrite, gorse::PutCategory},
    {Method::kDelete, R"(/api/item/([^/]+)/category/([^/]+))", "/api/item/{item}/category/{category}", Scope::kWrite, gorse::DeleteCategory},
    {Method::kGet, R"(/api/item/([^/]+))", "/api/item/{item}", Scope::kRead, gorse::GetItem},
    {Method::kPatch, R"(/api/item/([^/]+))", "/api/item/{item}", Scope::kWrite, gorse::PatchItem},
    {Method::kDelete, R"(/api/item/([^/]+))", "/api/item/{item}", Scope::kAdmin, gorse::DeleteItem},
    {Method::kPost, "/api/user", "/api/user", Scope::kWrite, gorse::PostUser},
    {Method::kPost, "/api/users", "/api/users", Scope::kWrite, gorse::PostUsers},
    {Method::kGet, "/api/users/?", "/api/users", Scope::kRead, gorse::ListUsers},
    {Method::kPatch, R"(/api/user/([^/]+))", "/api/user/{user}", Scope::kWrite, gorse::PatchUser},
    {Method::kGet, R"(/api/user/([^/]+))", "/api/user/{user}", Scope::kRead, gorse::GetUser},
    {Method::kDelete, R"(/api/user/([^/]+))", "/api/user/{user}", Scope::kAdmin, gorse::DeleteUser},
    {Method::kGet, R"(/api/user/([^/]+)/feedback(?:/([^/]*))?)", "/api/user/{user}/feedback", Scope::kRead, gorse::UserFeedback},
    {Method::kGet, R"(/api/user/([^/]+)/neighbors/?)", "/api/user/{user}/neighbors", Scope::kRead, gorse::UserNeighbors},
    {Method::kGet, R"(/api/popular(?:/([^/]*))?)", "/api/popular", Scope::kRead, gorse::Popular},
    {Method::kGet, R"(/api/latest(?:/([^/]*))?)", "/api/latest", Scope::kRead, gorse::Latest},
    {Method::kGet, R"(/api/non-personalized/([^/]+))", "/api/non-personalized/{name}", Scope::kRead, gorse::NonPersonalized},
    {Method::kGet, R"(/api/item-to-item/([^/]+)/([^/]+))", "/api/item-to-item/{name}/{item}", Scope::kRead, gorse::ItemToItem},
    {Method::kGet, R"(/api/user-to-user/([^/]+)/([^/]+))", "/api/user-to-user/{name}/{user}", Scope::kRead, gorse::UserToUser},
    {Method::kGet, R"(/api/collaborative-filtering/([^/]+)(?:/([^/]*))?)", "/api/collaborative-filtering/{user}", Scope::kRead, gorse::CollaborativeFiltering},
    {Method::kGet, "/api/health/live", "/api/health/live", Scope::kRead, gorse::HealthLive, kOpen},
    {Method::kGet, "/api/health/ready", "/api/health/ready", Scope::kRead, gorse::HealthReady, kOpen},
    // operations: the metrics name routes, users' traffic and model versions, so they need a read key
    {Method::kGet, "/metrics", "/metrics", Scope::kRead, MetricsPage},
};

int ScopeOf(const HttpOptions& opt, const std::string& key) {
  for (const auto& k : opt.keys)
    if (k.key == key) return static_cast<int>(k.scope);
  return -1;
}

// 401/403 when keys are configured and the request's key lacks the route's scope; true when it may go on.
bool Authorised(const HttpOptions& opt, const Route& r, const Req& req, Res& res) {
  if (opt.keys.empty() || r.open) return true;
  std::string key = req.get_header_value("X-API-Key");
  // Prometheus (and most HTTP tooling) sends credentials as "Authorization: Bearer KEY".
  if (const std::string auth = req.get_header_value("Authorization"); key.empty() && auth.starts_with("Bearer "))
    key = auth.substr(7);
  // A browser's EventSource cannot send headers: live streams also take the key as ?api_key=.
  if (key.empty() && std::string_view(r.label).starts_with("/v1/stream/")) key = req.get_param_value("api_key");
  const int have = ScopeOf(opt, key);
  if (have < 0) {
    SendJson(res, 401, json{{"error", {{"code", "unauthorized"}, {"message", "a valid X-API-Key header is required"}}}});
    return false;
  }
  if (have < static_cast<int>(r.scope)) {
    const char* need = r.scope == Scope::kWrite ? "write" : r.scope == Scope::kAdmin ? "admin" : "read";
    SendJson(res, 403, json{{"error", {{"code", "forbidden"},
                                       {"message", fmt::format("this key may not call {} (needs the {} scope)", r.label, need)}}}});
    return false;
  }
  return true;
}

// The listening socket takes SO_REUSEADDR only (a restart may bind over connections in TIME_WAIT): httplib's
// default adds SO_REUSEPORT, with which a second server on the same port also listens and the kernel splits the
// connections between the two.
void ExclusivePort(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
}

// The user and item ids in the path must follow the id rule (events/ids.h): 400 bad_id otherwise (an id that cannot
// have been stored); true when the request may go on. The label's placeholders name the path's groups in order.
bool PathIdValid(const Route& r, const Req& req, Res& res) {
  const std::string_view label(r.label);
  size_t group = 0;
  for (size_t at = label.find('{'); at != label.npos; at = label.find('{', at + 1)) {
    ++group;
    const std::string_view name = label.substr(at + 1, label.find('}', at) - at - 1);
    if ((name != "user" && name != "item") || req.matches.size() <= group) continue;
    Status s = CheckId(std::string(name), req.matches[group].str());
    if (s.ok()) continue;
    SendError(res, s.Prefixed(fmt::format("path parameter {}: ", name)));
    return false;
  }
  return true;
}

// CORS: a request from an allowed origin (HttpOptions::cors_origins) is answered with the headers that let the
// browser's page read the answer.
void Cors(const HttpOptions& opt, const Req& req, Res& res) {
  const std::string origin = req.get_header_value("Origin");
  if (origin.empty() || opt.cors_origins.empty()) return;
  const bool any = std::find(opt.cors_origins.begin(), opt.cors_origins.end(), "*") != opt.cors_origins.end();
  if (!any && std::find(opt.cors_origins.begin(), opt.cors_origins.end(), origin) == opt.cors_origins.end()) return;
  res.set_header("Access-Control-Allow-Origin", any ? "*" : origin);
  if (!any) res.set_header("Vary", "Origin");
  res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
  res.set_header("Access-Control-Allow-Headers", "Content-Type, X-API-Key, Authorization, X-API-Version, X-Vane-Position");
  res.set_header("Access-Control-Expose-Headers", "X-Vane-Position");
  res.set_header("Access-Control-Max-Age", "600");
}

// Node groups (docs/cluster.md): a request naming a user of another group is answered 307 with the same path and
// query on a live node of that group (503 group_unavailable when none is known); true when this node answers it.
bool UserGroupHere(const Ctx& c, const Route& r, const Req& req, Res& res) {
  if (c.service.options().groups <= 1) return true;
  const std::string_view label(r.label);
  size_t group = 0;
  for (size_t at = label.find('{'); at != label.npos; at = label.find('{', at + 1)) {
    ++group;
    if (label.substr(at, 6) != "{user}" || req.matches.size() <= group) continue;
    const int g = c.service.GroupOf(req.matches[group].str());
    if (g == c.service.options().group) return true;
    const std::string node = c.service.NodeOfGroup(g);
    if (node.empty()) {
      SendError(res, Status::Unavailable("group_unavailable",
                                         fmt::format("user '{}' belongs to node group {} and no node of it is live",
                                                     req.matches[group].str().substr(0, 200), g)));
      return false;
    }
    res.set_header("Location", node + req.target);
    res.set_header("X-Vane-Group", std::to_string(g));
    SendJson(res, 307, json{{"redirect", node + req.target}, {"group", g}});
    return false;
  }
  return true;
}

// Cluster mode: a read that carries a position token (header X-Vane-Position, or parameter `position`) is answered
// once this node has applied the writes it names (bounded by ServiceOptions::apply_wait, then 503
// position_not_reached; 400 bad_token for a token that does not read). Writes never wait.
bool PositionReached(const Ctx& c, const Route& r, const Req& req, Res& res) {
  if (r.method != Method::kGet) return true;
  std::string token = req.get_header_value("X-Vane-Position");
  if (token.empty() && req.has_param("position")) token = req.get_param_value("position");
  if (token.empty()) return true;
  if (Status s = c.service.WaitForPosition(token, c.service.options().apply_wait); !s.ok()) {
    SendError(res, s);
    return false;
  }
  return true;
}

// The handler as httplib calls it: scope check, request id, exceptions, metrics and the request log.
httplib::Server::Handler Wrap(const Ctx& c, const Route& r, std::atomic<uint64_t>& ids) {
  return [&c, &r, &ids](const Req& req, Res& res) {
    auto t0 = std::chrono::steady_clock::now();
    uint64_t id = ++ids;
    res.set_header("X-Request-Id", std::to_string(id));
    Cors(c.opt, req, res);
    if (req.body.size() > c.opt.max_body_bytes) {  // a chunked body, its size known once read (connection.cc)
      SendError(res, Status::TooLarge("payload_too_large", "the request body is larger than the limit"));
    } else if (Authorised(c.opt, r, req, res) && PathIdValid(r, req, res) && UserGroupHere(c, r, req, res) &&
               PositionReached(c, r, req, res)) {
      try {
        r.handler(c, req, res);
      } catch (const std::exception& e) {
        SendError(res, Status::Internal("internal", e.what()));
      }
    }
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    c.metrics.Observe(req.method, r.label, res.status, sec);
    if (c.opt.log_requests)  // never the key, never the body
      std::fprintf(stderr, "{\"request_id\":%llu,\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,\"ms\":%.3f}\n",
                   static_cast<unsigned long long>(id), req.method.c_str(), r.label, res.status, sec * 1e3);
  };
}

void AddRoutes(httplib::Server& svr, const Ctx& c, std::atomic<uint64_t>& ids) {
  for (const Route& r : kRoutes) {
    auto h = Wrap(c, r, ids);
    switch (r.method) {
      case Method::kGet: svr.Get(r.pattern, h); break;
      case Method::kPost: svr.Post(r.pattern, h); break;
      case Method::kPut: svr.Put(r.pattern, h); break;
      case Method::kPatch: svr.Patch(r.pattern, h); break;
      case Method::kDelete: svr.Delete(r.pattern, h); break;
    }
  }
  // The dashboard (web/, embedded at build time). The page holds no data: its API calls carry the key.
  for (const auto& f : vane_web::kFiles) {
    svr.Get(f.path, [&f](const Req&, Res& res) {
      res.set_header("Cache-Control", "no-cache");
      res.set_content(reinterpret_cast<const char*>(f.data), f.size, std::string(f.type) + "; charset=utf-8");
    });
  }
  svr.Get("/openapi.json", [](const Req&, Res& res) { res.set_content(kOpenApiJson, "application/json"); });
  // A browser's CORS preflight: no key (browsers send none with it), 204 with the CORS headers for allowed origins.
  svr.Options(".*", [&c](const Req& req, Res& res) {
    Cors(c.opt, req, res);
    res.status = 204;
  });
  // Requests no route took (an unknown path, or refused before routing by a limit of connection.cc): answered by
  // ErrorHandler, counted, and logged with their path (truncated, JSON-escaped) so that a client calling a route
  // vane lacks shows up.
  svr.set_error_handler([&c, &ids](const Req& req, Res& res) {
    const bool routed = !res.body.empty();  // a handler answered already (and Wrap counted it)
    ErrorHandler(req, res);
    if (routed) return;
    const char* label = res.status == 404 ? "(no route)" : "(refused)";
    c.metrics.Observe(req.method.size() <= 16 ? req.method : "(long)", label, res.status, 0);
    if (c.opt.log_requests)
      std::fprintf(stderr, "{\"request_id\":%llu,\"method\":%s,\"route\":\"%s\",\"path\":%s,\"status\":%d}\n",
                   static_cast<unsigned long long>(++ids), json(req.method.substr(0, 16)).dump(-1, ' ', false, json::error_handler_t::replace).c_str(),
                   label, json(req.path.substr(0, 200)).dump(-1, ' ', false, json::error_handler_t::replace).c_str(), res.status);
  });
}

void Configure(httplib::Server& svr, const HttpOptions& opt) {
  // Worker threads, the connection limit, deadlines and size limits: FrontServer (connection.cc).
  svr.set_payload_max_length(opt.max_body_bytes);
  // A body refused from its head alone (too large, compressed) is answered before the client sends it.
  svr.set_expect_100_continue_handler([](const Req&, Res& res) {
    auto e = CurrentConnectionError();
    if (!e) return 100;
    return res.status = e->status;
  });
  // httplib's default closes a keep-alive connection after 5 requests; each reconnect then waits for a free worker
  // (measured: p99 6.9 ms at 1,000 req/s with the handler's own p99 at 1.2 ms).
  svr.set_keep_alive_max_count(static_cast<size_t>(std::max(1, opt.keep_alive_max_requests)));
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the client's delayed ACK adds
  // about 40 ms to every keep-alive response (measured: p50 43 ms before, see BENCHMARKS.md).
  svr.set_tcp_nodelay(true);
}

}  // namespace

std::vector<RoutePolicy> RoutePolicies() {
  static constexpr const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  std::vector<RoutePolicy> out;
  for (const Route& r : kRoutes)
    out.push_back({kMethods[static_cast<int>(r.method)], r.label, r.open ? std::nullopt : std::optional(r.scope)});
  for (const auto& f : vane_web::kFiles) out.push_back({"GET", f.path, std::nullopt});
  out.push_back({"GET", "/openapi.json", std::nullopt});
  return out;
}

}  // namespace vane::http

namespace vane {

Status RunHttpServer(Service& service, const HttpOptions& opt, std::atomic<bool>& stop,
                     const std::function<void(int)>& on_listening) {
  http::Metrics metrics;
  http::FrontServer svr(opt, [&metrics] { metrics.Observe("", "(over capacity)", 503, 0); });
  std::atomic<uint64_t> request_ids{0};
  std::atomic<int> streams{0};
  http::StreamHub hub(service, opt, stop, streams);
  http::Ctx ctx{service, opt, stop, metrics, streams, &hub};
  http::Configure(svr, opt);
  http::AddRoutes(svr, ctx, request_ids);
  svr.set_socket_options(http::ExclusivePort);
  if (opt.keys.empty())
    std::fprintf(stderr, "warning: no API keys configured: every route is open (set keys in the configuration)\n");
  int port = opt.port;
  if (port == 0) {
    port = svr.bind_to_any_port(opt.host);
    if (port < 0) return Status::IoError("cannot bind " + opt.host);
  } else if (!svr.bind_to_port(opt.host, port)) {
    return Status::IoError(fmt::format("cannot bind {}:{} (in use?)", opt.host, port));
  }
  svr.WidenBacklog();
  if (service.options().shared_log && service.options().advertise_url.empty()) {
    // Cluster mode: other nodes redirect to this one by the URL it announces (--advertise where the loopback
    // address does not reach it).
    const std::string host = opt.host == "0.0.0.0" || opt.host.empty() ? "127.0.0.1" : opt.host;
    if (Status a = service.Announce(fmt::format("http://{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host, port));
        !a.ok())
      std::fprintf(stderr, "cluster: announcing this node failed (retried): %s\n", a.ToString().c_str());
  }
  std::atomic<bool> ended{false};
  std::thread watcher([&] {
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // httplib's stop() does nothing until listening has begun: a stop asked at once would otherwise be lost.
    while (!svr.is_running() && !ended.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    svr.stop();
  });
  if (on_listening) on_listening(port);
  bool ok = svr.listen_after_bind();
  ended.store(true);
  stop.store(true);  // a server that stopped on its own also ends the watcher and every live stream
  watcher.join();
  return ok ? Status::Ok() : Status::IoError("the HTTP server stopped with an error");
}

}  // namespace vane
