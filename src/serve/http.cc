#include "vane/serve/http.h"

#include <httplib.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "vane/core/strings.h"
#include "vane_openapi.h"
#include "vane_web.h"

namespace vane {
namespace {

using json = nlohmann::json;

// Prometheus metrics: request counts by route and status, latency histograms by route.
class Metrics {
 public:
  static constexpr std::array<double, 12> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void Observe(const std::string& route, int status, double seconds) {
    std::lock_guard lock(mu_);
    ++count_[{route, status}];
    Hist& h = hist_[route];
    for (size_t b = 0; b < kBounds.size(); ++b)
      if (seconds <= kBounds[b]) ++h.buckets[b];
    ++h.count;
    h.sum += seconds;
  }
  std::string Text() const {
    std::lock_guard lock(mu_);
    std::string out = "# HELP vane_http_requests_total HTTP requests by route and status.\n"
                      "# TYPE vane_http_requests_total counter\n";
    for (const auto& [k, n] : count_)
      out += fmt::format("vane_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", k.first, k.second, n);
    out += "# HELP vane_http_request_seconds HTTP request latency by route.\n"
           "# TYPE vane_http_request_seconds histogram\n";
    for (const auto& [r, h] : hist_) {
      for (size_t b = 0; b < kBounds.size(); ++b)
        out += fmt::format("vane_http_request_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", r, kBounds[b], h.buckets[b]);
      out += fmt::format("vane_http_request_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", r, h.count);
      out += fmt::format("vane_http_request_seconds_sum{{route=\"{}\"}} {}\n", r, h.sum);
      out += fmt::format("vane_http_request_seconds_count{{route=\"{}\"}} {}\n", r, h.count);
    }
    return out;
  }

 private:
  struct Hist {
    std::array<uint64_t, kBounds.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> count_;
  std::map<std::string, Hist> hist_;
};

void SendJson(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  SendJson(res, status, json{{"error", {{"code", code}, {"message", message}}}});
}

template <typename T>
void Send(httplib::Response& res, const ApiResult<T>& r, int ok_status = 200) {
  if (r.ok()) SendJson(res, ok_status, *r.value);
  else SendError(res, r.error.status, r.error.code, r.error.message);
}

// Parses the body as JSON or answers 400 naming the problem.
bool ParseBody(const httplib::Request& req, httplib::Response& res, json& out) {
  out = json::parse(req.body, nullptr, false);
  if (out.is_discarded()) {
    SendError(res, 400, "malformed_json", req.body.empty() ? "the request body is empty; expected JSON" : "the request body is not valid JSON");
    return false;
  }
  return true;
}

bool ParseSize(const httplib::Request& req, const char* name, size_t def, size_t& out, httplib::Response& res) {
  out = def;
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  size_t pos = 0;
  try {
    long long x = std::stoll(v, &pos);
    if (pos != v.size() || x < 0) throw std::invalid_argument("");
    out = static_cast<size_t>(x);
    return true;
  } catch (...) {
    SendError(res, 400, "bad_parameter", fmt::format("parameter {} must be a non-negative integer, got '{}'", name, v));
    return false;
  }
}

// Gorse feedback types map to vane actions; unknown ones keep their name (the action registry decides).
std::string GorseAction(const std::string& t) {
  static const std::map<std::string, std::string> kMap = {{"star", "like"}, {"read", "view"}, {"watch", "view"}};
  auto it = kMap.find(t);
  return it == kMap.end() ? t : it->second;
}

json GorseItem(const json& v) {
  json g = {{"ItemId", v.value("id", "")}, {"IsHidden", !v.value("available", true)},
            {"Categories", v.value("categories", json::array())}, {"Comment", v.value("title", "")},
            {"Labels", json::array()}, {"Timestamp", ""}};
  if (v.contains("text") && v["text"].is_string() && !v["text"].get<std::string>().empty()) {
    for (const auto& l : SplitList(v["text"].get<std::string>())) g["Labels"].push_back(l);
  }
  return g;
}

// A Gorse Item (ItemId, IsHidden, Categories, Labels, Comment, Timestamp) as a vane item; "" when fine, else why not.
std::string FromGorseItem(const json& g, json& out) {
  if (!g.is_object()) return "expected a JSON object";
  auto id = g.find("ItemId");
  if (id == g.end() || !id->is_string() || id->get<std::string>().empty()) return "ItemId: missing or not a string";
  out = {{"id", id->get<std::string>()}};
  if (auto h = g.find("IsHidden"); h != g.end() && !h->is_null()) {
    if (!h->is_boolean()) return "IsHidden: expected a boolean";
    out["available"] = !h->get<bool>();
  }
  if (auto c = g.find("Categories"); c != g.end() && !c->is_null()) {
    if (!c->is_array()) return "Categories: expected an array of strings";
    out["categories"] = *c;
  }
  if (auto c = g.find("Comment"); c != g.end() && !c->is_null()) {
    if (!c->is_string()) return "Comment: expected a string";
    out["title"] = *c;
  }
  if (auto l = g.find("Labels"); l != g.end() && !l->is_null()) {
    std::string text;
    if (l->is_array()) {
      for (const auto& x : *l) {
        if (!x.is_string()) return "Labels: expected strings";
        text += (text.empty() ? "" : ",") + x.get<std::string>();
      }
    } else if (!l->is_object()) {
      return "Labels: expected an array of strings";
    }
    if (!text.empty()) out["text"] = text;
  }
  return "";
}

}  // namespace

Status RunHttpServer(Service& service, const HttpOptions& opt, const std::atomic<bool>& stop,
                     const std::function<void(int)>& on_listening) {
  httplib::Server svr;
  Metrics metrics;
  std::atomic<uint64_t> request_ids{0};
  svr.new_task_queue = [&] { return new httplib::ThreadPool(static_cast<size_t>(std::max(1, opt.threads))); };
  svr.set_payload_max_length(opt.max_body_bytes);
  // httplib's default closes a keep-alive connection after 5 requests; each reconnect then waits for a free worker
  // (measured: p99 6.9 ms at 1,000 req/s with the handler's own p99 at 1.2 ms).
  svr.set_keep_alive_max_count(static_cast<size_t>(std::max(1, opt.keep_alive_max_requests)));
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the client's delayed ACK adds
  // about 40 ms to every keep-alive response (measured: p50 43 ms before, see BENCHMARKS.md).
  svr.set_tcp_nodelay(true);

  // Each route: required scope, metrics label, handler.
  auto scope_of = [&](const std::string& key) -> int {
    for (const auto& k : opt.keys)
      if (k.key == key) return static_cast<int>(k.scope);
    return -1;
  };
  auto wrap = [&](std::string route, Scope need, auto fn) {
    return [&, route, need, fn](const httplib::Request& req, httplib::Response& res) {
      auto t0 = std::chrono::steady_clock::now();
      uint64_t id = ++request_ids;
      res.set_header("X-Request-Id", std::to_string(id));
      if (!opt.keys.empty()) {
        std::string key = req.get_header_value("X-API-Key");
        // A browser's EventSource cannot send headers: live streams also take the key as ?api_key=.
        if (key.empty() && route.starts_with("/v1/stream/")) key = req.get_param_value("api_key");
        int have = scope_of(key);
        if (have < 0) {
          SendError(res, 401, "unauthorized", "a valid X-API-Key header is required");
        } else if (have < static_cast<int>(need)) {
          SendError(res, 403, "forbidden",
                    fmt::format("this key may not call {} (needs the {} scope)", route,
                                need == Scope::kWrite ? "write" : need == Scope::kAdmin ? "admin" : "read"));
        }
      }
      if (res.status == -1 || res.body.empty()) {
        try {
          fn(req, res);
        } catch (const std::exception& e) {
          SendError(res, 500, "internal", e.what());
        }
      }
      double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      metrics.Observe(route, res.status, sec);
      if (opt.log_requests)  // never the key, never the body
        std::fprintf(stderr, "{\"request_id\":%llu,\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,\"ms\":%.3f}\n",
                     static_cast<unsigned long long>(id), req.method.c_str(), route.c_str(), res.status, sec * 1e3);
    };
  };

  // ---- native API ------------------------------------------------------------------------------------------
  svr.Post("/v1/events", wrap("/v1/events", Scope::kWrite, [&](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!ParseBody(req, res, body)) return;
             Send(res, service.IngestEvents(body.is_object() && body.contains("events") ? body["events"] : body));
           }));
  svr.Get(R"(/v1/recommend/([^/]+))", wrap("/v1/recommend/{user}", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            RecommendRequest rq;
            rq.user = req.matches[1];
            size_t n;
            if (!ParseSize(req, "n", 10, n, res)) return;
            rq.n = n;
            rq.item_type = req.get_param_value("type");
            rq.categories = SplitList(req.get_param_value("categories"));
            rq.exclude_ids = SplitList(req.get_param_value("exclude"));
            rq.slate_types = SplitList(req.get_param_value("slates"));
            rq.explain = req.get_param_value("explain") != "false";
            size_t now = 0;  // "as of" time (unix seconds) instead of the clock: reproducible answers
            if (!ParseSize(req, "now", 0, now, res)) return;
            rq.now = static_cast<Timestamp>(now);
            Send(res, service.Recommend(rq));
          }));
  svr.Get(R"(/v1/users/([^/]+)/interests)", wrap("/v1/users/{user}/interests", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            Send(res, service.Interests(req.matches[1]));
          }));
  svr.Get(R"(/v1/users/([^/]+)/events)", wrap("/v1/users/{user}/events", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            size_t n;
            if (!ParseSize(req, "n", 20, n, res)) return;
            Send(res, service.UserEvents(req.matches[1], n));
          }));
  svr.Get(R"(/v1/users/([^/]+))", wrap("/v1/users/{user}", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            Send(res, service.GetUser(req.matches[1]));
          }));
  // Popular or latest items: n and offset from the query; nullopt when a parameter was bad (answered already).
  auto item_list = [&](const httplib::Request& req, httplib::Response& res, Service::ListKind kind,
                       const std::string& category) -> std::optional<ApiResult<json>> {
    size_t n, offset;
    if (!ParseSize(req, "n", 10, n, res) || !ParseSize(req, "offset", 0, offset, res)) return std::nullopt;
    return service.ItemList(kind, category, n, offset);
  };
  auto native_list = [&](Service::ListKind kind) {
    return [&, kind](const httplib::Request& req, httplib::Response& res) {
      if (auto r = item_list(req, res, kind, req.get_param_value("category"))) Send(res, *r);
    };
  };
  svr.Get("/v1/popular", wrap("/v1/popular", Scope::kRead, native_list(Service::ListKind::kPopular)));
  svr.Get("/v1/latest", wrap("/v1/latest", Scope::kRead, native_list(Service::ListKind::kLatest)));
  svr.Get("/v1/users", wrap("/v1/users", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            size_t n;
            if (!ParseSize(req, "n", 20, n, res)) return;
            Send(res, service.ListUsers(req.get_param_value("q"), n));
          }));
  // Live view of one user (server-sent events): a "state" message (UserSnapshot) at once, after every change of
  // the user's state, and every 10 s (interests decay with time; this also finds closed connections).
  svr.Get(R"(/v1/stream/users/([^/]+))", wrap("/v1/stream/users/{user}", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            std::string user = req.matches[1];
            size_t n;
            if (!ParseSize(req, "n", 10, n, res)) return;
            auto first = service.UserSnapshot(user, n);
            if (!first.ok()) return Send(res, first);
            res.set_header("Cache-Control", "no-cache");
            res.set_header("X-Accel-Buffering", "no");
            struct StreamState {
              std::optional<json> pending;
              uint64_t sent_version = 0, seen_seq = 0;
              std::chrono::steady_clock::time_point sent_at;
            };
            auto st = std::make_shared<StreamState>();
            st->pending = std::move(*first.value);
            st->seen_seq = service.ChangeSeq();
            res.set_chunked_content_provider("text/event-stream", [&service, &stop, user, n, st](size_t, httplib::DataSink& sink) {
              if (stop) return false;
              if (!st->pending) {
                st->seen_seq = service.WaitForChange(st->seen_seq, std::chrono::milliseconds(1000));
                bool due = std::chrono::steady_clock::now() - st->sent_at >= std::chrono::seconds(10);
                if (service.UserChangeSeq(user) != st->sent_version || due) {
                  auto snap = service.UserSnapshot(user, n);
                  if (!snap.ok()) {  // the user was deleted: say so and end the stream
                    std::string msg = "event: gone\ndata: " + json{{"error", {{"code", snap.error.code}, {"message", snap.error.message}}}}.dump() + "\n\n";
                    sink.write(msg.data(), msg.size());
                    sink.done();
                    return true;
                  }
                  st->pending = std::move(*snap.value);
                } else {
                  return true;  // nothing new: wait again (a state goes out at least every 10 s)
                }
              }
              st->sent_version = st->pending->value("version", uint64_t{0});
              std::string msg = "event: state\ndata: " + st->pending->dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
              st->pending.reset();
              st->sent_at = std::chrono::steady_clock::now();
              return sink.write(msg.data(), msg.size());
            });
          }));
  svr.Delete(R"(/v1/users/([^/]+))", wrap("/v1/users/{user}", Scope::kAdmin, [&](const httplib::Request& req, httplib::Response& res) {
               Send(res, service.DeleteUser(req.matches[1]));
             }));
  svr.Get(R"(/v1/items/([^/]+)/similar)", wrap("/v1/items/{item}/similar", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            size_t n;
            if (!ParseSize(req, "n", 10, n, res)) return;
            Send(res, service.Similar(req.matches[1], n));
          }));
  svr.Get(R"(/v1/items/([^/]+))", wrap("/v1/items/{item}", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            Send(res, service.GetItem(req.matches[1]));
          }));
  svr.Delete(R"(/v1/items/([^/]+))", wrap("/v1/items/{item}", Scope::kAdmin, [&](const httplib::Request& req, httplib::Response& res) {
               Send(res, service.DeleteItem(req.matches[1]));
             }));
  svr.Post("/v1/items", wrap("/v1/items", Scope::kWrite, [&](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!ParseBody(req, res, body)) return;
             Send(res, service.PutItems(body));
           }));
  svr.Post("/v1/feedback", wrap("/v1/feedback", Scope::kWrite, [&](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!ParseBody(req, res, body)) return;
             Send(res, service.Feedback(body));
           }));
  svr.Post("/v1/models/retrain", wrap("/v1/models/retrain", Scope::kAdmin, [&](const httplib::Request&, httplib::Response& res) {
             Send(res, service.Retrain(), 202);
           }));
  svr.Get("/v1/models", wrap("/v1/models", Scope::kRead, [&](const httplib::Request&, httplib::Response& res) {
            SendJson(res, 200, service.Models());
          }));
  svr.Get("/v1/stats", wrap("/v1/stats", Scope::kRead, [&](const httplib::Request&, httplib::Response& res) {
            auto s = service.GetStats();
            SendJson(res, 200, json{{"events", s.events}, {"users", s.users}, {"items", s.items},
                                    {"accepted", s.accepted}, {"rejected", s.rejected}, {"duplicates", s.duplicates},
                                    {"store_bytes", s.store_bytes}, {"state_bytes", s.state_bytes},
                                    {"events_in_memory", s.events_in_memory},
                                    {"hot_state_bytes_per_user", s.hot_state_bytes_per_user},
                                    {"recovery_seconds", s.recovery_seconds}, {"recovered_events", s.recovered_events},
                                    {"model_version", s.model_version},
                                    {"online", service.OnlineStats()}});
          }));

  // ---- Gorse-compatible subset ---------------------------------------------------------------------------------
  auto gorse_feedback = [&](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!ParseBody(req, res, body)) return;
    if (!body.is_array()) return SendError(res, 400, "bad_request", "expected a JSON array of Feedback objects");
    json events = json::array();
    for (size_t k = 0; k < body.size(); ++k) {
      const json& f = body[k];
      if (!f.is_object()) return SendError(res, 400, "bad_feedback", fmt::format("feedback {}: expected a JSON object", k));
      json e = json::object();
      for (auto [from, to] : {std::pair{"UserId", "user"}, {"ItemId", "item"}}) {
        auto it = f.find(from);
        if (it == f.end() || !it->is_string())
          return SendError(res, 400, "bad_feedback", fmt::format("feedback {}: {} missing or not a string", k, from));
        e[to] = *it;
      }
      auto t = f.find("FeedbackType");
      if (t == f.end() || !t->is_string())
        return SendError(res, 400, "bad_feedback", fmt::format("feedback {}: FeedbackType missing or not a string", k));
      e["action"] = GorseAction(t->get<std::string>());
      if (auto v = f.find("Value"); v != f.end() && v->is_number()) e["value"] = *v;
      if (auto ts = f.find("Timestamp"); ts != f.end() && ts->is_string() && !ts->get<std::string>().empty()) e["ts"] = *ts;
      events.push_back(e);
    }
    auto r = service.IngestEvents(events);
    if (!r.ok()) return SendError(res, r.error.status, r.error.code, r.error.message);
    const json& v = *r.value;
    if (!v["rejected"].empty()) {
      const json& first = v["rejected"][0];
      return SendError(res, 400, "bad_feedback",
                       fmt::format("{} of {} feedback rejected; first: feedback {}: {}: {} ({} accepted)",
                                   v["rejected"].size(), body.size(), first["index"].get<size_t>(),
                                   first["field"].get<std::string>(), first["reason"].get<std::string>(),
                                   v["accepted"].get<size_t>()));
    }
    SendJson(res, 200, json{{"RowAffected", v["accepted"].get<size_t>() + v["duplicates"].get<size_t>()}});
  };
  svr.Post("/api/feedback", wrap("/api/feedback", Scope::kWrite, gorse_feedback));
  svr.Put("/api/feedback", wrap("/api/feedback", Scope::kWrite, gorse_feedback));
  // gorsejs asks /api/recommend/{user}/{category} (category may be empty: a trailing slash).
  svr.Get(R"(/api/recommend/([^/]+)(?:/([^/]*))?)", wrap("/api/recommend/{user}", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            size_t n, offset;
            if (!ParseSize(req, "n", 10, n, res) || !ParseSize(req, "offset", 0, offset, res)) return;
            RecommendRequest rq;
            rq.user = req.matches[1];
            rq.n = n + offset;
            rq.explain = false;
            if (req.matches.size() > 2 && req.matches[2].length() > 0) rq.categories = {req.matches[2].str()};
            else if (req.has_param("category") && !req.get_param_value("category").empty())
              rq.categories = {req.get_param_value("category")};
            auto r = service.Recommend(rq);
            if (!r.ok()) return SendError(res, r.error.status, r.error.code, r.error.message);
            const bool scored = req.get_header_value("X-API-Version") == "2";
            json out = json::array();
            const json& items = (*r.value)["items"];
            for (size_t k = offset; k < items.size(); ++k) {
              if (scored) out.push_back({{"Id", items[k]["id"]}, {"Score", items[k]["score"]}});
              else out.push_back(items[k]["id"]);
            }
            SendJson(res, 200, out);
          }));
  auto put_gorse_items = [&](const json& list, httplib::Response& res) {
    json items = json::array();
    for (size_t k = 0; k < list.size(); ++k) {
      json it;
      std::string why = FromGorseItem(list[k], it);
      if (!why.empty()) return SendError(res, 400, "bad_item", fmt::format("item {}: {}", k, why));
      items.push_back(it);
    }
    auto r = service.PutItems(items);
    if (!r.ok()) return SendError(res, r.error.status, r.error.code, r.error.message);
    SendJson(res, 200, json{{"RowAffected", items.size()}});
  };
  svr.Post("/api/item", wrap("/api/item", Scope::kWrite, [&](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!ParseBody(req, res, body)) return;
             put_gorse_items(json::array({body}), res);
           }));
  svr.Post("/api/items", wrap("/api/items", Scope::kWrite, [&](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!ParseBody(req, res, body)) return;
             if (!body.is_array()) return SendError(res, 400, "bad_request", "expected a JSON array of Item objects");
             put_gorse_items(body, res);
           }));
  svr.Get(R"(/api/item/([^/]+)/neighbors(?:/[^/]*)?)", wrap("/api/item/{item}/neighbors", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            size_t n;
            if (!ParseSize(req, "n", 10, n, res)) return;
            auto r = service.Similar(req.matches[1], n);
            if (!r.ok()) return SendError(res, r.error.status, r.error.code, r.error.message);
            json out = json::array();
            for (const auto& s : (*r.value)["similar"]) out.push_back({{"Id", s["id"]}, {"Score", s["score"]}});
            SendJson(res, 200, out);
          }));
  svr.Get(R"(/api/item/([^/]+))", wrap("/api/item/{item}", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            auto r = service.GetItem(req.matches[1]);
            if (!r.ok()) return SendError(res, r.error.status, r.error.code, r.error.message);
            SendJson(res, 200, GorseItem(*r.value));
          }));
  svr.Patch(R"(/api/item/([^/]+))", wrap("/api/item/{item}", Scope::kWrite, [&](const httplib::Request& req, httplib::Response& res) {
              json body;
              if (!ParseBody(req, res, body)) return;
              if (!body.is_object()) return SendError(res, 400, "bad_request", "expected a JSON object (ItemPatch)");
              auto cur = service.GetItem(req.matches[1]);
              if (!cur.ok()) return SendError(res, cur.error.status, cur.error.code, cur.error.message);
              json g = GorseItem(*cur.value);
              for (auto& [k, v] : body.items()) g[k] = v;
              g["ItemId"] = req.matches[1].str();
              put_gorse_items(json::array({g}), res);
            }));
  svr.Delete(R"(/api/item/([^/]+))", wrap("/api/item/{item}", Scope::kAdmin, [&](const httplib::Request& req, httplib::Response& res) {
               auto r = service.DeleteItem(req.matches[1]);
               if (!r.ok()) return SendError(res, r.error.status, r.error.code, r.error.message);
               SendJson(res, 200, json{{"RowAffected", 1}});
             }));
  auto gorse_user = [](const std::string& id, const json& rec) {
    json u = {{"UserId", id}, {"Labels", json::array()}, {"Comment", ""}, {"Subscribe", json::array()}};
    for (auto& [k, v] : rec.items()) u[k] = v;
    u["UserId"] = id;
    return u;
  };
  auto put_gorse_users = [&](const json& list, httplib::Response& res) {
    for (size_t k = 0; k < list.size(); ++k) {
      const json& u = list[k];
      if (!u.is_object() || !u.contains("UserId") || !u["UserId"].is_string() || u["UserId"].get<std::string>().empty())
        return SendError(res, 400, "bad_user", fmt::format("user {}: UserId missing or not a string", k));
    }
    for (const auto& u : list) {
      auto r = service.PutUserRecord(u["UserId"].get<std::string>(), u);
      if (!r.ok()) return SendError(res, r.error.status, r.error.code, r.error.message);
    }
    SendJson(res, 200, json{{"RowAffected", list.size()}});
  };
  svr.Post("/api/user", wrap("/api/user", Scope::kWrite, [&](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!ParseBody(req, res, body)) return;
             put_gorse_users(json::array({body}), res);
           }));
  svr.Post("/api/users", wrap("/api/users", Scope::kWrite, [&](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!ParseBody(req, res, body)) return;
             if (!body.is_array()) return SendError(res, 400, "bad_request", "expected a JSON array of User objects");
             put_gorse_users(body, res);
           }));
  svr.Patch(R"(/api/user/([^/]+))", wrap("/api/user/{user}", Scope::kWrite, [&](const httplib::Request& req, httplib::Response& res) {
              json body;
              if (!ParseBody(req, res, body)) return;
              if (!body.is_object()) return SendError(res, 400, "bad_request", "expected a JSON object (UserPatch)");
              auto cur = service.GetUserRecord(req.matches[1]);
              json u = gorse_user(req.matches[1], cur.ok() ? *cur.value : json::object());
              for (auto& [k, v] : body.items()) u[k] = v;
              u["UserId"] = req.matches[1].str();
              put_gorse_users(json::array({u}), res);
            }));
  svr.Get(R"(/api/user/([^/]+))", wrap("/api/user/{user}", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            auto r = service.GetUserRecord(req.matches[1]);
            if (!r.ok()) return SendError(res, r.error.status, r.error.code, r.error.message);
            SendJson(res, 200, gorse_user(req.matches[1], *r.value));
          }));
  svr.Delete(R"(/api/user/([^/]+))", wrap("/api/user/{user}", Scope::kAdmin, [&](const httplib::Request& req, httplib::Response& res) {
               auto r = service.DeleteUser(req.matches[1]);
               if (!r.ok()) return SendError(res, r.error.status, r.error.code, r.error.message);
               SendJson(res, 200, json{{"RowAffected", 1}});
             }));

  // ---- operations ------------------------------------------------------------------------------------------
  auto health = [&](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200, json{{"Ready", service.ready()}, {"DataStoreConnected", service.ready()}});
  };
  // Non-personalised lists: [{"Id", "Score"}] (popularity, or the creation time as unix seconds for "latest").
  auto gorse_list = [&](Service::ListKind kind) {
    return [&, kind](const httplib::Request& req, httplib::Response& res) {
      auto r = item_list(req, res, kind, req.matches.size() > 1 ? std::string(req.matches[1]) : "");
      if (!r) return;
      if (!r->ok()) return SendError(res, r->error.status, r->error.code, r->error.message);
      json out = json::array();
      for (const auto& x : (*r->value)["items"]) out.push_back({{"Id", x["id"]}, {"Score", x["score"]}});
      SendJson(res, 200, out);
    };
  };
  svr.Get(R"(/api/popular(?:/([^/]+))?)", wrap("/api/popular", Scope::kRead, gorse_list(Service::ListKind::kPopular)));
  svr.Get(R"(/api/latest(?:/([^/]+))?)", wrap("/api/latest", Scope::kRead, gorse_list(Service::ListKind::kLatest)));
  // A user's feedback, newest first (Gorse's Feedback objects; the FeedbackType is vane's action name).
  svr.Get(R"(/api/user/([^/]+)/feedback(?:/([^/]+))?)", wrap("/api/user/{user}/feedback", Scope::kRead, [&](const httplib::Request& req, httplib::Response& res) {
            size_t n;
            if (!ParseSize(req, "n", 100, n, res)) return;
            std::string type = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
            auto r = service.UserEvents(req.matches[1], type.empty() ? n : 1000);
            if (!r.ok()) return SendError(res, r.error.status, r.error.code, r.error.message);
            json out = json::array();
            for (const auto& e : (*r.value)["events"]) {
              if (e["item"].get<std::string>().empty()) continue;  // searches are not Gorse feedback
              if (!type.empty() && e["action"] != GorseAction(type) && e["action"] != type) continue;
              if (out.size() == n) break;
              out.push_back({{"FeedbackType", e["action"]}, {"UserId", std::string(req.matches[1])}, {"ItemId", e["item"]},
                             {"Value", e["value"]}, {"Timestamp", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(e["ts"].get<int64_t>())))}});
            }
            SendJson(res, 200, out);
          }));
  svr.Get("/api/health/live", wrap("/api/health/live", Scope::kRead, health));
  svr.Get("/api/health/ready", wrap("/api/health/ready", Scope::kRead, [&](const httplib::Request& r, httplib::Response& res) {
            health(r, res);
            if (!service.ready()) res.status = 503;
          }));
  svr.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    auto s = service.GetStats();
    std::string out = metrics.Text();
    out += fmt::format(
        "# TYPE vane_events_ingested_total counter\nvane_events_ingested_total {}\n"
        "# TYPE vane_events_rejected_total counter\nvane_events_rejected_total {}\n"
        "# TYPE vane_events gauge\nvane_events {}\n# TYPE vane_users gauge\nvane_users {}\n"
        "# TYPE vane_items gauge\nvane_items {}\n# TYPE vane_state_bytes gauge\nvane_state_bytes {}\n"
        "# TYPE vane_store_bytes gauge\nvane_store_bytes {}\n"
        "# TYPE vane_recovery_seconds gauge\nvane_recovery_seconds {}\n"
        "# TYPE vane_events_in_memory gauge\nvane_events_in_memory {}\n"
        "# TYPE vane_model_info gauge\nvane_model_info{{version=\"{}\"}} 1\n",
        s.accepted, s.rejected, s.events, s.users, s.items, s.state_bytes, s.store_bytes, s.recovery_seconds,
        s.events_in_memory, s.model_version);
    json online = service.OnlineStats();
    out += "# TYPE vane_online_ctr gauge\n";
    for (auto& [strategy, o] : online["by_strategy"].items())
      out += fmt::format("vane_online_ctr{{strategy=\"{}\"}} {}\n", strategy, o["ctr"].get<double>());
    out += "# TYPE vane_online_variant_ctr gauge\n";
    for (auto& [variant, o] : online["by_variant"].items())
      out += fmt::format("vane_online_variant_ctr{{variant=\"{}\"}} {}\n", variant, o["ctr"].get<double>());
    res.set_content(out, "text/plain; version=0.0.4");
  });
  // The dashboard (web/, embedded at build time). The page holds no data: its API calls carry the key.
  for (const auto& f : vane_web::kFiles) {
    svr.Get(f.path, [&f](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
      res.set_content(reinterpret_cast<const char*>(f.data), f.size, std::string(f.type) + "; charset=utf-8");
    });
  }
  svr.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kOpenApiJson, "application/json");
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      SendError(res, 413, "payload_too_large", "the request body is larger than the limit");
    else if (res.status == 404)
      SendError(res, 404, "not_found", "no route " + req.method + " " + req.path);
    else
      SendError(res, res.status, "http_error", "HTTP error " + std::to_string(res.status));
  });

  if (opt.keys.empty())
    std::fprintf(stderr, "warning: no API keys configured: every route is open (set keys in the configuration)\n");
  int port = opt.port;
  if (port == 0) {
    port = svr.bind_to_any_port(opt.host);
    if (port < 0) return Status::IoError("cannot bind " + opt.host);
  } else if (!svr.bind_to_port(opt.host, port)) {
    return Status::IoError(fmt::format("cannot bind {}:{} (in use?)", opt.host, port));
  }
  std::thread watcher([&] {
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    svr.stop();
  });
  if (on_listening) on_listening(port);
  bool ok = svr.listen_after_bind();
  const_cast<std::atomic<bool>&>(stop).store(true);
  watcher.join();
  return ok ? Status::Ok() : Status::IoError("the HTTP server stopped with an error");
}

}  // namespace vane
