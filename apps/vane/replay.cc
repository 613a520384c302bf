// vane replay: plays a dataset into a running `vane serve` over HTTP with the leave-one-out protocol of `vane eval`
// and scores what the server answers — the accuracy a user of the server gets.
//
// Phase one sends every event before each user's validation target, in the order `vane eval` ingests them (time
// order; file order for order-only data), in batches. Phase two, per evaluated user: sends the user's events from the
// validation target up to the test target, then asks GET /v1/recommend/{user}?n=N&now=<test target time> and ranks
// the test target in the answer. The server should start with the catalogue only (`vane serve --catalogue-only`)
// and the blend `vane eval --save-blend` chose on the same data (`--blend`). docs/evaluation.md.
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "vane/core/progress.h"
#include "vane/eval/evaluator.h"
#include "vane/serve/service.h"

namespace vane::cli {

namespace {

using json = nlohmann::json;

struct ReplayArgs {
  DataFlags data;
  std::string server = "http://127.0.0.1:8087", api_key, json_out, compare, dump;
  size_t n = 20, batch = 1000, max_users = 0;
};

json EventJson(const Dataset& ds, const Event& e) {
  json j = {{"user", ds.users.Name(e.user.v)}, {"action", ds.actions.spec(e.action).name}, {"ts", e.ts}};
  if (e.item.valid()) j["item"] = ds.catalog.item(e.item).id;
  if (e.query != kNoQuery) j["query"] = ds.queries.Name(e.query);
  if (e.has_value) j["value"] = e.value;
  if (e.session != kNoSession) j["session"] = ds.sessions.Name(e.session);
  return j;
}

class Client {
 public:
  Client(const std::string& url, const std::string& key) : http_(url) {
    http_.set_read_timeout(60, 0);
    // A cluster with node groups redirects a user's reads to a node of the user's group (docs/cluster.md).
    http_.set_follow_location(true);
    if (!key.empty()) headers_.emplace("X-API-Key", key);
  }
  // Posts events; every one must be accepted or recognised as a duplicate.
  Status Post(const json& events) {
    auto r = http_.Post("/v1/events", headers_, events.dump(), "application/json");
    if (!r) return Status::Unavailable("cannot reach the server: " + httplib::to_string(r.error()));
    if (r->status != 200) return Status::Internal(fmt::format("POST /v1/events: HTTP {}: {}", r->status, r->body.substr(0, 300)));
    // Cluster mode: reads carry the furthest position written so far, so any node answers with every event sent.
    position_ = MergePositions(position_, r->get_header_value("X-Vane-Position"));
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j["rejected"].empty())
      return Status::Internal("the server rejected replayed events: " + r->body.substr(0, 300));
    return Status::Ok();
  }
  Result<std::vector<std::string>> Recommend(const std::string& user, size_t n, Timestamp now) {
    std::string path = fmt::format("/v1/recommend/{}?n={}&now={}&explain=false", httplib::detail::encode_query_param(user), n, now);
    httplib::Headers headers = headers_;
    if (!position_.empty()) headers.emplace("X-Vane-Position", position_);
    auto r = http_.Get(path, headers);
    if (!r) return Status::Unavailable("cannot reach the server: " + httplib::to_string(r.error()));
    if (r->status != 200) return Status::Internal(fmt::format("GET {}: HTTP {}: {}", path, r->status, r->body.substr(0, 300)));
    json j = json::parse(r->body, nullptr, false);
    std::vector<std::string> ids;
    if (!j.is_discarded())
      for (const auto& x : j["items"]) ids.push_back(x.value("id", ""));
    return ids;
  }

 private:
  httplib::Client http_;
  httplib::Headers headers_;
  std::string position_;
};

struct Served {
  size_t users = 0, hits10 = 0, hits20 = 0;
  double ndcg10 = 0, mrr = 0;
};

Status SendHistory(const Dataset& ds, const LooPlan& plan, Client& client, size_t batch, bool quiet) {
  size_t total = 0;
  for (uint32_t idx : plan.order) total += plan.phase[idx] == 0;
  Progress bar("replay: history", total, "events", false);
  if (quiet) bar.Finish();
  json events = json::array();
  size_t sent = 0;
  for (uint32_t idx : plan.order) {
    if (plan.phase[idx] != 0) continue;
    events.push_back(EventJson(ds, ds.events[idx]));
    if (events.size() == batch) {
      VANE_RETURN_IF_ERROR(client.Post(events));
      sent += events.size();
      events = json::array();
      if (!quiet) bar.Update(sent);
    }
  }
  if (!events.empty()) VANE_RETURN_IF_ERROR(client.Post(events));
  bar.Finish();
  return Status::Ok();
}

Result<Served> AskPerUser(const Dataset& ds, const LooPlan& plan, Client& client, size_t n, bool quiet,
                          std::ostream* dump) {
  std::vector<std::vector<uint32_t>> middle(ds.num_users());  // each user's phase-1 events, in order
  for (uint32_t idx : plan.order)
    if (plan.phase[idx] == 1) middle[ds.events[idx].user.v].push_back(idx);
  Served s;
  Progress bar("replay: users", plan.test.size(), "users", false);
  if (quiet) bar.Finish();
  for (uint32_t t : plan.test) {
    const Event& target = ds.events[t];
    json events = json::array();
    for (uint32_t idx : middle[target.user.v]) events.push_back(EventJson(ds, ds.events[idx]));
    if (!events.empty()) VANE_RETURN_IF_ERROR(client.Post(events));
    VANE_ASSIGN_OR_RETURN(auto ids, client.Recommend(ds.users.Name(target.user.v), n, target.ts));
    const std::string& want = ds.catalog.item(target.item).id;
    ++s.users;
    if (dump) {
      auto pos = std::find(ids.begin(), ids.end(), want);
      json line = {{"user", ds.users.Name(target.user.v)}, {"target", want},
                   {"rank", pos == ids.end() ? json(nullptr) : json(pos - ids.begin() + 1)}, {"top", ids}};
      *dump << line.dump() << "\n";
    }
    for (size_t k = 0; k < ids.size(); ++k) {
      if (ids[k] != want) continue;
      if (k < 10) {
        ++s.hits10;
        s.ndcg10 += 1.0 / std::log2(static_cast<double>(k) + 2.0);
      }
      if (k < 20) ++s.hits20;
      s.mrr += 1.0 / static_cast<double>(k + 1);
      break;
    }
    if (!quiet) bar.Update(s.users);
  }
  bar.Finish();
  return s;
}

// The blend figures of a `vane eval --json` report, for the side-by-side line.
std::optional<std::pair<double, double>> EvalBlend(const std::string& path) {
  std::ifstream in(path);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  if (!j.is_object() || !j.contains("test") || !j["test"].is_object() || !j["test"].contains("blend")) return std::nullopt;
  const json& b = j["test"]["blend"];
  return std::make_pair(b.value("hr@10", 0.0), b.value("ndcg@10", 0.0));
}

int RunReplay(const ReplayArgs& a) {
  Dataset ds;
  if (Status s = Load(a.data, ds); !s.ok()) return Fail(s);
  auto plan = PlanLeaveOneOut(ds, a.max_users);
  if (!plan.ok()) return Fail(plan.status());
  Client client(a.server, a.api_key);
  if (Status s = SendHistory(ds, *plan, client, a.batch, a.data.quiet); !s.ok()) return Fail(s);
  std::ofstream dump;
  if (!a.dump.empty()) dump.open(a.dump);
  auto served = AskPerUser(ds, *plan, client, a.n, a.data.quiet, dump.is_open() ? &dump : nullptr);
  if (!served.ok()) return Fail(served.status());
  const Served& s = *served;
  const double u = std::max<double>(1, static_cast<double>(s.users));
  json j = {{"dataset", ds.name}, {"server", a.server}, {"users", s.users}, {"n", a.n}, {"hr@10", s.hits10 / u},
            {"ndcg@10", s.ndcg10 / u}, {"hr@20", s.hits20 / u}, {"mrr@n", s.mrr / u}};
  std::cout << fmt::format("served by {} | {} users | hr@10 {:.4f} ndcg@10 {:.4f} hr@20 {:.4f} mrr@{} {:.4f}\n", a.server,
                           s.users, s.hits10 / u, s.ndcg10 / u, s.hits20 / u, a.n, s.mrr / u);
  if (!a.compare.empty()) {
    auto e = EvalBlend(a.compare);
    if (!e) return Fail(Status::InvalidArgument(a.compare + ": not a `vane eval --json` report with a blend"));
    auto rel = [](double x, double y) { return y > 0 ? (x - y) / y * 100 : 0.0; };
    std::cout << fmt::format("vane eval blend      | hr@10 {:.4f} ndcg@10 {:.4f} | served - eval: hr@10 {:+.1f}% ndcg@10 {:+.1f}%\n",
                             e->first, e->second, rel(s.hits10 / u, e->first), rel(s.ndcg10 / u, e->second));
    j["eval"] = {{"hr@10", e->first}, {"ndcg@10", e->second}};
  }
  if (!a.json_out.empty())
    if (Status w = WriteText(a.json_out, j.dump(2) + "\n"); !w.ok()) return Fail(w);
  return 0;
}

}  // namespace

Command AddReplayCommand(CLI::App& app) {
  auto a = std::make_shared<ReplayArgs>();
  CLI::App* cmd = app.add_subcommand(
      "replay", "play a dataset into a running `vane serve` with the leave-one-out protocol and score its answers");
  AddDataFlags(cmd, a->data);
  cmd->add_option("--server", a->server, "the server's base URL")->capture_default_str();
  cmd->add_option("--api-key", a->api_key, "a key with the write scope, when the server has keys");
  cmd->add_option("-n", a->n, "recommendations asked per user (hr@10 needs >= 10)")->check(CLI::Range(10, 1000))->capture_default_str();
  cmd->add_option("--batch", a->batch, "events per POST in phase one")->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--max-users", a->max_users, "replay a seeded sample of users (0 = all), as `vane eval --max-users`");
  cmd->add_option("--compare", a->compare, "a `vane eval --json` report of the same data: print both side by side");
  cmd->add_option("--json", a->json_out, "write the served figures as JSON to this file");
  cmd->add_option("--dump-lists", a->dump, "write each user's served list as JSON lines (as `vane eval --strict --dump-lists`)");
  return {cmd, [a] { return RunReplay(*a); }};
}

}  // namespace vane::cli
