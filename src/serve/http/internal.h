// Internal to the HTTP front (src/serve/http/): the handler signature, the helpers every route file shares, and
// the handlers the route table (server.cc) names. Not a public header: nothing outside src/serve/http includes it.
#pragma once

#include <httplib.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "vane/serve/http.h"
#include "vane/serve/json.h"
#include "vane/serve/service.h"

namespace vane::http {

using json = nlohmann::json;
using Req = httplib::Request;
using Res = httplib::Response;

// Prometheus metrics: request counts by method, route and status code, latency histograms by method and route.
// Thread-safe.
class Metrics {
 public:
  static constexpr std::array<double, 12> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void Observe(const std::string& method, const std::string& route, int status, double seconds);
  std::string Text() const;

 private:
  struct Hist {
    std::array<uint64_t, kBounds.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> count_;
  std::map<std::pair<std::string, std::string>, Hist> hist_;
};

// Live streams after their first answer (stream_hub.cc): one thread serves every open stream's socket, so a stream
// holds no worker. Add takes the socket (and what is still to be written to it: the head and first message).
class StreamHub {
 public:
  StreamHub(Service& service, const HttpOptions& opt, const std::atomic<bool>& stop, std::atomic<int>& open);
  ~StreamHub();
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;
  // `version` is the user's change sequence the first message showed; the stream's slot (`open`) is released
  // when the hub closes it.
  void Add(int fd, std::string unsent, std::string user, size_t n, uint64_t version);

 private:
  struct Stream;
  void Run();
  void Wake();
  bool Step(Stream& s, short revents, bool changed, std::chrono::steady_clock::time_point now);

  Service& service_;
  const HttpOptions& opt_;
  const std::atomic<bool>& stop_;
  std::atomic<int>& open_;
  std::atomic<bool> quit_{false};
  int wake_[2] = {-1, -1};
  std::mutex mu_;
  std::vector<std::unique_ptr<Stream>> incoming_;  // under mu_
  std::vector<int> incoming_fds_;                  // under mu_
  std::thread hub_, watcher_;
};
// One server-sent event.
std::string StreamMessage(const char* event, const json& data);

// What every handler may use.
struct Ctx {
  Service& service;
  const HttpOptions& opt;
  const std::atomic<bool>& stop;
  Metrics& metrics;
  std::atomic<int>& streams;  // live streams open now
  StreamHub* hub;             // null where no socket server runs (the route then refuses)
};
using Handler = void (*)(const Ctx&, const Req&, Res&);

// ---- errors.cc: the one Status -> HTTP mapping ----
int HttpStatus(StatusCode code);
// {"error": {"code": <reason>, "message"}} with the status's HTTP code.
void SendError(Res& res, const Status& s);
void SendJson(Res& res, int status, const json& j);
// The Result's value rendered by `render`, or its error.
template <typename T, typename F>
void Reply(Res& res, const Result<T>& r, F render, int ok_status = 200) {
  if (r.ok()) SendJson(res, ok_status, render(r.value()));
  else SendError(res, r.status());
}
// Cluster mode: a write's position token as the X-Vane-Position header (nothing when empty: not in cluster mode).
inline void SetPosition(Res& res, const std::string& position) {
  if (!position.empty()) res.set_header("X-Vane-Position", position);
}
// The deepest nesting of JSON request bodies (arrays and objects): deeper ones are refused before parsing.
constexpr size_t kMaxJsonDepth = 64;
// The deepest nesting of arrays and objects in `text` (outside strings); counting stops once past `limit`.
size_t NestingDepth(std::string_view text, size_t limit);
// Parses the body as JSON; nullopt after answering 400 (malformed_json; too_deep past kMaxJsonDepth).
std::optional<json> ParseBody(const Req& req, Res& res);
// A non-negative integer query parameter (`def` when absent); nullopt after answering 400 (bad_parameter).
std::optional<size_t> ParseSize(const Req& req, const char* name, size_t def, Res& res);
// A number in [lo, hi] (def when absent); otherwise a 400 bad_parameter naming it is sent and nullopt returned.
std::optional<float> ParseUnitFloat(const Req& req, const char* name, float def, float lo, float hi, Res& res);
// The error page of routes that do not exist and of httplib's own refusals (413 and the like).
void ErrorHandler(const Req& req, Res& res);

// ---- connection.cc: client sockets, their deadlines and limits ----
class Admission;
// httplib's server with its connection handling replaced (see connection.cc): the connection limit with its 503,
// the deadlines and the size limits of HttpOptions.
class FrontServer final : public httplib::Server {
 public:
  // `on_refused` is called for each connection answered 503 for being over the limit.
  FrontServer(const HttpOptions& opt, std::function<void()> on_refused);
  // Serves the requests of one connection (at most max_requests) and closes it.
  void Serve(int fd, size_t max_requests);
  // Once bound: room for a burst of connections waiting to be accepted (httplib listens with a backlog of 5; past
  // it, a client's connection attempt is dropped and retried only after a second or more).
  void WidenBacklog();

 private:
  bool process_and_close_socket(socket_t sock) override;
  static void Close(int fd, bool linger);
  const HttpOptions& opt_;
  Admission* admission_ = nullptr;  // owned by httplib while it listens
};
// Why the calling worker's current request could not be read (a deadline passed, a limit was exceeded), if so.
struct ConnectionError {
  int status;
  const char* code;
  const char* message;
};
std::optional<ConnectionError> CurrentConnectionError();
// Hands the calling worker's connection over once the current response is written: httplib's bytes for it (head
// and body) are kept instead of sent and `take` gets the socket and them, from the worker, after the handler
// returns; the worker serves nothing more on it (fd -1: the response failed, the connection is closed and nothing
// is handed over). False outside a connection's worker (`take` is never called).
bool HandOffConnection(std::function<void(int fd, std::string unsent)> take);

// ---- native_routes.cc ----
namespace native {
void PostEvents(const Ctx&, const Req&, Res&);
void Recommend(const Ctx&, const Req&, Res&);
void Interests(const Ctx&, const Req&, Res&);
void UserEvents(const Ctx&, const Req&, Res&);
void GetUser(const Ctx&, const Req&, Res&);
void DeleteUser(const Ctx&, const Req&, Res&);
void ListUsers(const Ctx&, const Req&, Res&);
void Popular(const Ctx&, const Req&, Res&);
void Latest(const Ctx&, const Req&, Res&);
void Similar(const Ctx&, const Req&, Res&);
void GetItem(const Ctx&, const Req&, Res&);
void DeleteItem(const Ctx&, const Req&, Res&);
void PostItems(const Ctx&, const Req&, Res&);
void Feedback(const Ctx&, const Req&, Res&);
void Retrain(const Ctx&, const Req&, Res&);
void PromoteVersion(const Ctx&, const Req&, Res&);
void Models(const Ctx&, const Req&, Res&);
void Stats(const Ctx&, const Req&, Res&);
// Popular or latest items with n and offset from the query (shared with the Gorse lists); nullopt when a
// parameter was bad (answered already).
std::optional<Result<std::vector<ScoredItem>>> ItemList(const Ctx& c, const Req& req, Res& res, Service::ListKind kind,
                                                        const std::string& category);
}  // namespace native

// ---- stream_routes.cc ----
namespace stream {
void User(const Ctx&, const Req&, Res&);
}

// ---- gorse_routes.cc ----
namespace gorse {
void PostFeedback(const Ctx&, const Req&, Res&);
void Recommend(const Ctx&, const Req&, Res&);
void PostItem(const Ctx&, const Req&, Res&);
void PostItems(const Ctx&, const Req&, Res&);
void ItemNeighbors(const Ctx&, const Req&, Res&);
void GetItem(const Ctx&, const Req&, Res&);
void PatchItem(const Ctx&, const Req&, Res&);
void DeleteItem(const Ctx&, const Req&, Res&);
void PostUser(const Ctx&, const Req&, Res&);
void PostUsers(const Ctx&, const Req&, Res&);
void PatchUser(const Ctx&, const Req&, Res&);
void GetUser(const Ctx&, const Req&, Res&);
void DeleteUser(const Ctx&, const Req&, Res&);
void Popular(const Ctx&, const Req&, Res&);
void Latest(const Ctx&, const Req&, Res&);
void UserFeedback(const Ctx&, const Req&, Res&);
void HealthLive(const Ctx&, const Req&, Res&);
void HealthReady(const Ctx&, const Req&, Res&);
// gorse_list_routes.cc: cursor-paged users and items, categories, neighbours, the v0.5 recommender routes
void ListUsers(const Ctx&, const Req&, Res&);
void ListItems(const Ctx&, const Req&, Res&);
void PutCategory(const Ctx&, const Req&, Res&);
void DeleteCategory(const Ctx&, const Req&, Res&);
void UserNeighbors(const Ctx&, const Req&, Res&);
void NonPersonalized(const Ctx&, const Req&, Res&);
void ItemToItem(const Ctx&, const Req&, Res&);
void UserToUser(const Ctx&, const Req&, Res&);
void CollaborativeFiltering(const Ctx&, const Req&, Res&);
// gorse_feedback_routes.cc: feedback reads and deletions, session recommendations
void ListFeedback(const Ctx&, const Req&, Res&);
void UserItemFeedback(const Ctx&, const Req&, Res&);
void TypedFeedback(const Ctx&, const Req&, Res&);
void DeleteUserItemFeedback(const Ctx&, const Req&, Res&);
void DeleteTypedFeedback(const Ctx&, const Req&, Res&);
void ItemFeedback(const Ctx&, const Req&, Res&);
void SessionRecommend(const Ctx&, const Req&, Res&);
}  // namespace gorse

// ---- metrics.cc ----
void MetricsPage(const Ctx&, const Req&, Res&);

// ---- server.cc ----
// The key policy of every route the server answers (docs/http_api.md has the table): method, route label, and the
// scope a key needs when keys are configured (nullopt: open to all).
struct RoutePolicy {
  std::string method, label;
  std::optional<Scope> scope;
};
std::vector<RoutePolicy> RoutePolicies();

}  // namespace vane::http
