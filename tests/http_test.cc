// The HTTP front over a real loopback socket (cpp-httplib's client), on an in-memory store with injected faults:
// the one Status -> HTTP map, the JSON error bodies, key scopes and the route table.
#include "vane/serve/http.h"

#include <httplib.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "internal.h"  // src/serve/http: the status map under test
#include "test_util.h"

namespace vane {
namespace {

using json = nlohmann::json;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }
  void TearDown() override { Stop(); }

  void Start(std::vector<ApiKey> keys) {
    Dataset seed = testing::TwoTopicDataset();
    testing::Ev(seed, "seed", "r0", "view", 1000);
    ServiceOptions so;
    so.max_batch = 3;
    so.models_dir = (std::filesystem::temp_directory_path() / ("vane_http_test_" + std::to_string(::getpid()))).string();
    faults_ = new FaultStore(NewMemoryStore());
    auto svc = Service::Open(so, &seed, std::unique_ptr<Store>(faults_));
    ASSERT_TRUE(svc.ok()) << svc.status().ToString();
    svc_ = std::move(svc.value());
    ho_.port = 0;
    ho_.threads = 4;
    ho_.log_requests = false;
    ho_.keys = std::move(keys);
    std::promise<int> port;
    auto bound = port.get_future();
    stop_ = false;
    server_ = std::thread([&, p = std::move(port)]() mutable {
      Status s = RunHttpServer(*svc_, ho_, stop_, [&](int pt) { p.set_value(pt); });
      EXPECT_TRUE(s.ok()) << s.ToString();
    });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", bound.get());
  }
  void Stop() {
    stop_ = true;
    if (server_.joinable()) server_.join();
    client_.reset();
    svc_.reset();
  }
  // status, parsed body
  std::pair<int, json> Get(const std::string& path, httplib::Headers h = {}) {
    auto r = client_->Get(path, h);
    EXPECT_TRUE(r) << path;
    return {r ? r->status : 0, r ? json::parse(r->body, nullptr, false) : json()};
  }
  std::pair<int, json> Post(const std::string& path, const std::string& body, httplib::Headers h = {}) {
    auto r = client_->Post(path, h, body, "application/json");
    EXPECT_TRUE(r) << path;
    return {r ? r->status : 0, r ? json::parse(r->body, nullptr, false) : json()};
  }
  static std::string Code(const json& j) { return j["error"]["code"].get<std::string>(); }

  std::unique_ptr<Service> svc_;
  FaultStore* faults_ = nullptr;
  HttpOptions ho_;
  std::atomic<bool> stop_{false};
  std::thread server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST(HttpStatusMap, EveryCodeHasOneStatus) {
  using http::HttpStatus;
  EXPECT_EQ(HttpStatus(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatus(StatusCode::kConflict), 409);
  EXPECT_EQ(HttpStatus(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatus(StatusCode::kTooLarge), 413);
  EXPECT_EQ(HttpStatus(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatus(StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatus(StatusCode::kIoError), 500);
  EXPECT_EQ(HttpStatus(StatusCode::kNotImplemented), 501);
  EXPECT_EQ(HttpStatus(StatusCode::kUnavailable), 503);
}

TEST_F(HttpTest, ErrorsCarryTheStatusReasonAsTheirCode) {
  auto [s1, b1] = Get("/v1/users/nobody/interests");
  EXPECT_EQ(s1, 404);
  EXPECT_EQ(Code(b1), "unknown_user");
  auto [s2, b2] = Post("/v1/events", "{oops");
  EXPECT_EQ(s2, 400);
  EXPECT_EQ(Code(b2), "malformed_json");
  auto [s3, b3] = Post("/v1/events", R"([{"user":"u","item":"r0"},{"user":"u","item":"r1"},{"user":"u","item":"r2"},{"user":"u","item":"r3"}])");
  EXPECT_EQ(s3, 413);
  EXPECT_EQ(Code(b3), "batch_too_large");
  auto [s4, b4] = Get("/v1/recommend/u?n=abc");
  EXPECT_EQ(s4, 400);
  EXPECT_EQ(Code(b4), "bad_parameter");
  auto [s5, b5] = Post("/v1/models/retrain", "");
  EXPECT_EQ(s5, 501);
  EXPECT_EQ(Code(b5), "no_trainer");
  auto [s6, b6] = Get("/v1/nowhere");
  EXPECT_EQ(s6, 404);
  EXPECT_EQ(Code(b6), "not_found");
}

TEST_F(HttpTest, AStoreFailureIsA503AndTheServiceReportsNotReady) {
  auto [s0, b0] = Get("/api/health/ready");
  EXPECT_EQ(s0, 200);
  faults_->FailNext(FaultStore::Op::kAppend);
  auto [s1, b1] = Post("/v1/events", R"([{"user":"u","item":"r0","action":"view"}])");
  EXPECT_EQ(s1, 503);
  EXPECT_EQ(Code(b1), "store_unavailable");
  auto [s2, b2] = Get("/api/health/ready");
  EXPECT_EQ(s2, 503);
  EXPECT_EQ(b2["Ready"], false);
  auto [s3, b3] = Get("/v1/items/r0");
  EXPECT_EQ(s3, 200) << "reads go on";
}

TEST_F(HttpTest, MixedBatchesAnswerPerRecord) {
  auto [s, b] = Post("/v1/events", R"([{"user":"u","item":"r0","action":"view","ts":5000}, 7, {"user":"u","item":"zz"}])");
  EXPECT_EQ(s, 200);
  EXPECT_EQ(b["accepted"], 1);
  ASSERT_EQ(b["rejected"].size(), 2u);
  EXPECT_EQ(b["rejected"][0]["index"], 1);
  EXPECT_EQ(b["rejected"][0]["field"], "record");
  EXPECT_EQ(b["rejected"][1]["index"], 2);
  auto [s2, b2] = Get("/v1/users/u/events");
  EXPECT_EQ(s2, 200);
  EXPECT_EQ(b2["events"].size(), 1u);
}

TEST_F(HttpTest, FeedbackOfTheWrongTypeIsRefusedNamingTheField) {
  auto [s1, b1] = Post("/v1/feedback", R"({"user":"u","item":"r0","type":"click","origin":7})");
  EXPECT_EQ(s1, 400);
  EXPECT_EQ(Code(b1), "bad_feedback");
  EXPECT_NE(b1["error"]["message"].get<std::string>().find("origin"), std::string::npos);
  auto [s2, b2] = Post("/v1/feedback", R"({"user":["u"],"item":"r0","type":"click"})");
  EXPECT_EQ(s2, 400);
  auto [s3, b3] = Post("/v1/feedback", R"({"user":"u","item":"r0","type":"click","source":"covisit"})");
  EXPECT_EQ(s3, 200);
}

TEST_F(HttpTest, KeysAreCheckedAgainstEachRoutesScope) {
  Stop();
  Start({{"r", Scope::kRead}, {"w", Scope::kWrite}});
  EXPECT_EQ(Get("/v1/items/r0").first, 401);
  EXPECT_EQ(Get("/v1/items/r0", {{"X-API-Key", "r"}}).first, 200);
  auto [s, b] = Post("/v1/events", "[]", {{"X-API-Key", "r"}});
  EXPECT_EQ(s, 403);
  EXPECT_EQ(Code(b), "forbidden");
  EXPECT_EQ(Post("/v1/events", "[]", {{"X-API-Key", "w"}}).first, 200);
  auto d = client_->Delete("/v1/items/r0", {{"X-API-Key", "w"}});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, 403) << "deletion needs the admin scope";
}

TEST_F(HttpTest, GorseRoutesSpeakGorse) {
  auto [s, b] = Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"g1","ItemId":"h0","Timestamp":"2026-01-01T00:00:00Z"}])");
  EXPECT_EQ(s, 200);
  EXPECT_EQ(b["RowAffected"], 1);
  auto [s2, b2] = Get("/api/item/h0");
  EXPECT_EQ(s2, 200);
  EXPECT_EQ(b2["ItemId"], "h0");
  auto [s3, b3] = Get("/api/recommend/g1?n=2");
  EXPECT_EQ(s3, 200);
  EXPECT_EQ(b3.size(), 2u);
  EXPECT_TRUE(b3[0].is_string());
}

}  // namespace
}  // namespace vane
