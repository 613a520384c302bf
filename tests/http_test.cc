// The HTTP front over a real loopback socket (cpp-httplib's client, and raw sockets where a client misbehaves), on an
// in-memory store with injected faults: the one Status -> HTTP map, the JSON error bodies, key scopes, the route
// table, and the limits that keep one request or a few slow clients from taking the server down.
#include "vane/serve/http.h"

#include <httplib.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>
#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gorse_common.h"  // src/serve/http: the status map, the route policies and Gorse's time format under test
#include "vane/core/strings.h"
#include "vane/events/ids.h"
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
    port_ = bound.get();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
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
  std::pair<int, json> Delete(const std::string& path, httplib::Headers h = {}) {
    auto r = client_->Delete(path, h);
    EXPECT_TRUE(r) << path;
    return {r ? r->status : 0, r ? json::parse(r->body, nullptr, false) : json()};
  }
  static std::string Code(const json& j) { return j["error"]["code"].get<std::string>(); }
  static std::string Message(const json& j) { return j["error"]["message"].get<std::string>(); }

  std::unique_ptr<Service> svc_;
  FaultStore* faults_ = nullptr;
  HttpOptions ho_;
  std::atomic<bool> stop_{false};
  std::thread server_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

// A client socket that sends exactly what it is told, when it is told.
class RawConn {
 public:
  explicit RawConn(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawConn() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // Reads until the server closes the connection, `until` appears, or `within` passes; what came, and whether the
  // connection was closed.
  std::pair<std::string, bool> Read(std::chrono::milliseconds within, const std::string& until = "") {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < end && (until.empty() || got.find(until) == std::string::npos)) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return {got, true};
      got.append(buf, static_cast<size_t>(n));
    }
    return {got, false};
  }

 private:
  int fd_;
  bool connected_ = false;
};

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

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
  // The ranking-stage controls: out of range, not a number, infinite, trailing text: refused naming the parameter.
  for (const char* q : {"long_tail=-1", "long_tail=abc", "diversity_weight=inf", "category_cap=0", "category_cap=2",
                        "category_cap=0.5x", "long_tail=nan"}) {
    auto [sc, bc] = Get(std::string("/v1/recommend/u?") + q);
    EXPECT_EQ(sc, 400) << q;
    EXPECT_EQ(Code(bc), "bad_parameter") << q;
    const std::string name = std::string(q).substr(0, std::string(q).find('='));
    EXPECT_NE(bc.dump().find(name), std::string::npos) << bc.dump();
  }
  auto [sc, bc] = Get("/v1/recommend/u?n=3&long_tail=0.2&diversity_weight=0.5&category_cap=0.5");
  EXPECT_EQ(sc, 200) << bc.dump();
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

// An id as a URL path segment: every byte but unreserved ASCII percent-encoded.
std::string PathEncode(const std::string& id) {
  std::string out;
  for (unsigned char c : id) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

TEST_F(HttpTest, IdsOutsideTheIdRuleAreRefusedWhereverTheyEnter) {
  const std::string huge(1 << 20, 'u');
  auto [s1, b1] = Post("/v1/events", json::array({{{"user", "a/b"}, {"item", "r0"}, {"action", "view"}},
                                                  {{"user", std::string("victim\0x", 8)}, {"item", "r0"}, {"action", "view"}},
                                                  {{"user", huge}, {"item", "r0"}, {"action", "view"}}})
                                          .dump());
  EXPECT_EQ(s1, 200);
  EXPECT_EQ(b1["accepted"], 0) << b1.dump().substr(0, 300);
  ASSERT_EQ(b1["rejected"].size(), 3u);
  for (const auto& r : b1["rejected"]) {
    EXPECT_EQ(r["field"], "user");
    EXPECT_NE(r["reason"].get<std::string>().find("bad id"), std::string::npos) << r.dump();
  }
  auto [s2, b2] = Post("/v1/events", R"([{"user":"u","item":"r0","action":"view","session":"s/1"},
                                          {"user":"u","item":"x\u0001","action":"view"}])");
  EXPECT_EQ(b2["rejected"].size(), 2u) << b2.dump();
  auto [s3, b3] = Post("/v1/items", R"({"id":"x/y","title":"t"})");
  EXPECT_EQ(s3, 400);
  EXPECT_EQ(Code(b3), "bad_id");
  auto [s4, b4] = Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"a/b","ItemId":"r0"}])");
  EXPECT_EQ(s4, 400);
  EXPECT_EQ(Code(b4), "bad_id");
  EXPECT_EQ(b4["error"]["field"], "UserId");
  auto [s5, b5] = Post("/api/item", R"({"ItemId":"x\u0000y"})");
  EXPECT_EQ(s5, 400);
  EXPECT_EQ(Code(b5), "bad_id");
  auto [s6, b6] = Post("/api/user", R"({"UserId":"a/b"})");
  EXPECT_EQ(s6, 400);
  EXPECT_EQ(Code(b6), "bad_id");
  auto [s7, b7] = Post("/v1/feedback", R"({"user":"u","item":"x\u0000","type":"click"})");
  EXPECT_EQ(s7, 400);
  EXPECT_EQ(Code(b7), "bad_id");
  auto [s8, b8] = Get("/v1/users/victim%00x");
  EXPECT_EQ(s8, 400) << "an id that cannot have been stored is a bad request";
  EXPECT_EQ(Code(b8), "bad_id");
  EXPECT_NE(Message(b8).find("path parameter user"), std::string::npos) << Message(b8);
  EXPECT_EQ(Get("/v1/users?q=a").second["users"].size(), 0u) << "nothing was stored";
}

TEST_F(HttpTest, EveryAcceptedIdIsAddressablePercentEncoded) {
  client_->set_url_encode(false);
  const std::vector<std::string> ids = {"hello world", "50%", "a?b=c", "c#d", "a+b", "x:y;z,w", "ünïcödé", "用户一号",
                                        "emoji 🙂", std::string(kMaxIdBytes, 'l')};
  for (const std::string& id : ids) {
    SCOPED_TRACE(id.substr(0, 40));
    auto [s0, b0] = Post("/v1/events", json::array({{{"user", id}, {"item", "r0"}, {"action", "view"}, {"ts", 5000}}}).dump());
    ASSERT_EQ(b0["accepted"], 1) << b0.dump();
    const std::string p = PathEncode(id);
    auto [s1, b1] = Get("/v1/users/" + p);
    EXPECT_EQ(s1, 200);
    EXPECT_EQ(b1["id"], id);
    auto [s2, b2] = Get("/v1/recommend/" + p + "?n=2");
    EXPECT_EQ(s2, 200);
    EXPECT_EQ(b2["known_user"], true);
    auto [s3, b3] = Get("/api/user/" + p);
    EXPECT_EQ(s3, 200);
    EXPECT_EQ(b3["UserId"], id);
    auto [s4, b4] = Delete("/v1/users/" + p);
    EXPECT_EQ(s4, 200);
    EXPECT_EQ(b4["deleted"], id);
    EXPECT_EQ(Get("/v1/users/" + p).first, 404);
  }
  auto [s5, b5] = Post("/v1/events", json::array({{{"user", std::string(kMaxIdBytes + 1, 'l')}, {"item", "r0"}, {"action", "view"}}}).dump());
  EXPECT_EQ(b5["rejected"].size(), 1u) << "one byte over the limit";
}

TEST_F(HttpTest, GorseFeedbackIsAllOrNothing) {
  auto [s1, b1] = Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"g9","ItemId":"r0"},
                                             {"FeedbackType":"like","UserId":"g9","ItemId":"r/1"}])");
  EXPECT_EQ(s1, 400);
  EXPECT_EQ(Code(b1), "bad_id");
  EXPECT_NE(Message(b1).find("feedback 1: ItemId"), std::string::npos) << Message(b1);
  EXPECT_EQ(Get("/api/user/g9").first, 404) << "the valid record of a refused batch was not stored";
  auto [s2, b2] = Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"g9","ItemId":"r0"},
                                             {"FeedbackType":"like","UserId":"g9","ItemId":"r1","Timestamp":"yesterday"}])");
  EXPECT_EQ(s2, 400);
  EXPECT_NE(Message(b2).find("feedback 1: Timestamp"), std::string::npos) << Message(b2);
  EXPECT_EQ(Get("/api/user/g9").first, 404);
  auto [s3, b3] = Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"g9","ItemId":"r0"},
                                             {"FeedbackType":"like","UserId":"g9","ItemId":"r1"}])");
  EXPECT_EQ(s3, 200);
  EXPECT_EQ(b3["RowAffected"], 2) << "the retried batch is stored once";
  EXPECT_EQ(Get("/v1/users/g9").second["events"], 2);
}

TEST_F(HttpTest, GorseFieldsAreTakenAsGorseTakesThemOrRefusedByName) {
  auto refused = [&](const char* route, const std::string& body, const char* field) {
    auto [s, b] = Post(route, body);
    EXPECT_EQ(s, 400) << body;
    EXPECT_EQ(b["error"]["field"], field) << b.dump();
  };
  refused("/api/feedback", R"([{"FeedbackType":"like","UserId":"g8","ItemId":"r0","Value":"3"}])", "Value");
  refused("/api/feedback", R"([{"FeedbackType":"like","UserId":"g8","ItemId":"r0","Timestamp":1700000000}])", "Timestamp");
  refused("/api/feedback", R"([{"FeedbackType":"like","UserId":7,"ItemId":"r0"}])", "UserId");
  refused("/api/item", R"({"ItemId":"gi","Timestamp":1700000000})", "Timestamp");
  refused("/api/item", R"({"ItemId":"gi","Categories":"Hiking"})", "Categories");
  refused("/api/item", R"({"ItemId":"gi","IsHidden":"no"})", "IsHidden");
  refused("/api/user", R"({"UserId":"gu","Comment":5})", "Comment");
  EXPECT_EQ(Get("/api/item/gi").first, 404);
  // Value (v0.5) and Comment are kept; null is absent, as Go's decoder takes it.
  auto [s1, b1] = Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"g8","ItemId":"r0","Value":4.5,
                                             "Timestamp":"2026-01-01T00:00:00Z","Comment":"from a test","Labels":null}])");
  EXPECT_EQ(s1, 200) << b1.dump();
  auto [s2, b2] = Get("/api/user/g8/feedback");
  ASSERT_EQ(b2.size(), 1u);
  EXPECT_EQ(b2[0]["Value"], 4.5);
  EXPECT_EQ(b2[0]["Comment"], "from a test");
  EXPECT_EQ(b2[0]["Timestamp"], "2026-01-01T00:00:00Z");
}

TEST_F(HttpTest, GorseItemsKeepTheirTimestampAndLabelsOfAnyShape) {
  auto [s1, b1] = Post("/api/items", R"([{"ItemId":"old","Timestamp":"2026-01-02T03:04:05Z","Labels":{"color":"red","size":[1,2]}},
                                         {"ItemId":"new","Timestamp":"2026-03-01T00:00:00Z","Labels":["tent"]}])");
  EXPECT_EQ(s1, 200) << b1.dump();
  auto [s2, b2] = Get("/api/item/old");
  EXPECT_EQ(b2["Timestamp"], "2026-01-02T03:04:05Z");
  EXPECT_EQ(b2["Labels"], json::parse(R"({"color":"red","size":[1,2]})"));
  auto [s3, b3] = Get("/api/item/new");
  EXPECT_EQ(b3["Labels"], json::parse(R"(["tent"])"));
  auto [s4, b4] = Get("/api/latest?n=2");
  ASSERT_EQ(b4.size(), 2u);
  EXPECT_EQ(b4[0]["Id"], "new") << "the item's Timestamp is its creation time";
  EXPECT_EQ(b4[1]["Id"], "old");
  auto patched = client_->Patch("/api/item/old", R"({"Comment":"patched"})", "application/json");
  ASSERT_TRUE(patched);
  EXPECT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(Get("/api/item/old").second["Timestamp"], "2026-01-02T03:04:05Z") << "a patch keeps the time";
}

// gorsejs asks /api/popular/?n=5 and /api/latest/?n=5 (a trailing slash, no category): 404 before.
TEST_F(HttpTest, GorseListsTakeATrailingSlash) {
  for (const char* path : {"/api/popular/?n=2", "/api/latest/?n=2", "/api/items/?n=2", "/api/users/?n=2", "/api/feedback/?n=2"}) {
    auto [s, b] = Get(path);
    EXPECT_EQ(s, 200) << path << " " << b.dump();
  }
  auto [s0, b0] = Get("/api/popular/Trail%20running?n=3");
  ASSERT_EQ(b0.size(), 1u) << b0.dump();
  EXPECT_EQ(b0[0]["Id"], "r0") << "the category from the path";
  EXPECT_EQ(Get("/api/popular/Hiking?n=3").second.size(), 0u);
  auto [s, b] = Get("/api/popular/No%20such?n=3");
  EXPECT_EQ(s, 404);
  EXPECT_EQ(Code(b), "unknown_category");
}

// Gorse's feedback types are kept as sent: "star" read back as "like" and "read" as "view" before.
TEST_F(HttpTest, GorseFeedbackTypesReadBackAsSent) {
  auto [s1, b1] = Post("/api/feedback", R"([{"FeedbackType":"star","UserId":"gs","ItemId":"h0","Timestamp":"2026-01-01T00:00:00Z"},
                                             {"FeedbackType":"read","UserId":"gs","ItemId":"h1","Timestamp":"2026-01-01T00:01:00Z"},
                                             {"FeedbackType":"like","UserId":"gs","ItemId":"h2","Timestamp":"2026-01-01T00:02:00Z"}])");
  ASSERT_EQ(s1, 200) << b1.dump();
  auto [s2, b2] = Get("/api/user/gs/feedback");
  ASSERT_EQ(b2.size(), 3u) << b2.dump();
  EXPECT_EQ(b2[0]["FeedbackType"], "like");
  EXPECT_EQ(b2[1]["FeedbackType"], "read");
  EXPECT_EQ(b2[2]["FeedbackType"], "star");
  EXPECT_EQ(Get("/api/user/gs/feedback/star").second.size(), 1u);
  EXPECT_EQ(Get("/api/user/gs/feedback/like").second.size(), 1u) << "star is not like";
  EXPECT_EQ(Get("/v1/users/gs/events").second["events"][2]["action"], "star") << "stored under its own name";
  // Gorse stores any type: one vane does not know becomes a neutral action of its own, and a vane alias ("buy"
  // names purchase) an action of its own counted as the one it named; both read back as sent.
  auto [s3, b3] = Post("/api/feedback", R"([{"FeedbackType":"teleport","UserId":"gs","ItemId":"h3","Timestamp":"2026-01-01T00:03:00Z"},
                                             {"FeedbackType":"buy","UserId":"gs","ItemId":"h4","Timestamp":"2026-01-01T00:04:00Z"}])");
  ASSERT_EQ(s3, 200) << b3.dump();
  EXPECT_EQ(Get("/api/user/gs/feedback/teleport").second.size(), 1u);
  auto [s4, b4] = Get("/api/feedback/buy/gs/h4");
  EXPECT_EQ(s4, 200);
  EXPECT_EQ(b4["FeedbackType"], "buy");
  EXPECT_EQ(Get("/api/user/gs/feedback/purchase").second.size(), 0u) << "buy is not purchase";
  // A type outside the id rule is refused with its field, and nothing of the batch is stored.
  auto [s5, b5] = Post("/api/feedback", json::array({{{"FeedbackType", "tele\u0001port"}, {"UserId", "gs"}, {"ItemId", "h0"}},
                                                     {{"FeedbackType", "like"}, {"UserId", "gs"}, {"ItemId", "r0"}}}).dump());
  EXPECT_EQ(s5, 400) << b5.dump();
  EXPECT_EQ(b5["error"]["field"], "FeedbackType");
  EXPECT_EQ(Get("/api/user/gs/feedback").second.size(), 5u);
  // The registry is bounded (ActionRegistry::kMaxActions): past it a new type is refused, naming the limit.
  int added = 0;
  std::pair<int, json> last;
  for (int k = 0; k < 80; ++k) {
    last = Post("/api/feedback", json::array({{{"FeedbackType", "t" + std::to_string(k)}, {"UserId", "gs"}, {"ItemId", "h0"},
                                               {"Timestamp", "2026-01-02T00:00:00Z"}}}).dump());
    if (last.first != 200) break;
    ++added;
  }
  EXPECT_GT(added, 10);
  EXPECT_LT(added, static_cast<int>(ActionRegistry::kMaxActions));
  EXPECT_EQ(last.first, 400);
  EXPECT_NE(Message(last.second).find("maximum of 64"), std::string::npos) << Message(last.second);
  EXPECT_EQ(Get("/api/health/ready").first, 200) << "still serving";
}

TEST(GorseFeedbackTypes, CountAsConfiguredAndSurviveAnAliasOfTheSameName) {
  ActionRegistry r = ActionRegistry::Preset("ecommerce").value();
  ASSERT_EQ(r.spec(*r.Find("read")).name, "view") << "an alias before";
  EXPECT_TRUE(r.AddNamed("read", "view").value());
  EXPECT_TRUE(r.AddNamed("star", "like").value());
  EXPECT_FALSE(r.AddNamed("star", "like").value()) << "already there";
  EXPECT_FALSE(r.AddNamed("like", "view").value()) << "an action of that name is left as it is";
  EXPECT_EQ(r.spec(*r.Find("read")).name, "read");
  EXPECT_EQ(r.spec(*r.Find("read")).weight, r.spec(*r.Find("view")).weight);
  EXPECT_EQ(r.spec(*r.Find("star")).weight, r.spec(*r.Find("like")).weight);
  EXPECT_EQ(r.spec(*r.Find("pv")).name, "view") << "other aliases stay";
  EXPECT_FALSE(r.AddNamed("x", "no-such-action").ok());
  EXPECT_TRUE(r.AddNeutral("teleport").value());
  EXPECT_FALSE(r.AddNeutral("Teleport").value()) << "names are case-insensitive";
  const ActionSpec& neutral = r.spec(*r.Find("teleport"));
  EXPECT_EQ(neutral.weight, 0.0f);
  EXPECT_FALSE(neutral.consumes);
  EXPECT_EQ(r.EffectiveWeight(*r.Find("teleport"), 3.0f, true), 0.0f) << "moves no interest";
  auto back = ActionRegistry::FromJson(r.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->spec(*back->Find("star")).name, "star") << "kept in the store's registry";
}

// A registry without "like" and "view" (implicit data: one "interact" action) still takes Gorse's default types:
// refusing to start (as before this fallback) would stop every server fed from a pairs file.
TEST(GorseFeedbackTypes, ARegistryWithoutLikeOrViewCountsThemAsItsOwnActions) {
  Dataset seed;
  seed.actions = ActionRegistry::Preset("implicit").value();
  seed.catalog.Upsert(testing::MakeItem("r0", "product", "trail shoes", {"Trail running"}));
  ServiceOptions so;
  so.models_dir = (std::filesystem::temp_directory_path() / ("vane_http_test_implicit_" + std::to_string(::getpid()))).string();
  auto svc = Service::Open(so, &seed, NewMemoryStore());
  ASSERT_TRUE(svc.ok()) << svc.status().ToString();
  const Result<RawEvent> events[] = {testing::RawEv("u", "r0", "star", 1000), testing::RawEv("u", "r0", "read", 1001)};
  auto r = (*svc)->IngestEvents(events);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted, 2u);
  auto back = (*svc)->UserEvents("u", 10);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].event.action, "read");
  EXPECT_EQ((*back)[1].event.action, "star");
}

// Cursor paging over users and items: every one once, in id order; bad cursors and sizes refused by name.
TEST_F(HttpTest, GorseUsersAndItemsPageWithCursors) {
  ASSERT_EQ(Post("/api/user", R"({"UserId":"only-a-record","Comment":"c"})").first, 200);
  ASSERT_EQ(Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"with-events","ItemId":"h0"}])").first, 200);
  std::vector<std::string> users;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    auto [s, b] = Get("/api/users?n=1&cursor=" + cursor);
    ASSERT_EQ(s, 200) << b.dump();
    ASSERT_LE(b["Users"].size(), 1u);
    for (const auto& u : b["Users"]) users.push_back(u["UserId"]);
    cursor = b["Cursor"];
    if (cursor.empty()) break;
  }
  EXPECT_EQ(users, (std::vector<std::string>{"only-a-record", "seed", "with-events"}));
  EXPECT_EQ(Get("/api/users?n=10").second["Users"][0]["Comment"], "c");
  std::vector<std::string> items;
  cursor.clear();
  for (int page = 0; page < 100; ++page) {
    auto [s, b] = Get("/api/items?n=5&Cursor=" + cursor);  // gorsejs's spelling
    ASSERT_EQ(s, 200);
    for (const auto& it : b["Items"]) items.push_back(it["ItemId"]);
    cursor = b["Cursor"];
    if (cursor.empty()) break;
  }
  EXPECT_EQ(items, (std::vector<std::string>{"h0", "h1", "h2", "h3", "h4", "pg0", "pg1", "r0", "r1", "r2", "r3", "r4"}));
  auto [s1, b1] = Get("/api/items?cursor=a%2Fb");
  EXPECT_EQ(s1, 400);
  EXPECT_EQ(Code(b1), "bad_cursor");
  auto [s2, b2] = Get("/api/users?cursor=%01");
  EXPECT_EQ(s2, 400);
  EXPECT_EQ(Code(b2), "bad_cursor");
  EXPECT_EQ(Get("/api/items?cursor=zzz").second["Items"].size(), 0u) << "after the last id: an empty page";
  for (const char* bad : {"/api/items?n=-1", "/api/items?n=0", "/api/items?n=1001", "/api/users?n=99999999999999999999",
                          "/api/users?n=abc", "/api/feedback?n=-1"}) {
    auto [s, b] = Get(bad);
    EXPECT_EQ(s, 400) << bad;
    EXPECT_EQ(Code(b), "bad_parameter") << bad;
  }
}

TEST_F(HttpTest, GorseFeedbackReadsAndDeletions) {
  ASSERT_EQ(Post("/api/user", R"({"UserId":"gf","Comment":"kept"})").first, 200);
  ASSERT_EQ(Post("/api/feedback", R"([{"FeedbackType":"star","UserId":"gf","ItemId":"h0","Timestamp":"2026-01-01T00:00:00Z","Comment":"first"},
                                      {"FeedbackType":"read","UserId":"gf","ItemId":"h0","Timestamp":"2026-01-01T00:01:00Z"},
                                      {"FeedbackType":"read","UserId":"gf","ItemId":"h1","Timestamp":"2026-01-01T00:02:00Z"}])").first, 200);
  ASSERT_EQ(Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"gf2","ItemId":"h0","Timestamp":"2026-01-01T00:03:00Z"}])").first, 200);
  auto [s1, b1] = Get("/api/feedback/star/gf/h0");
  ASSERT_EQ(s1, 200);
  EXPECT_EQ(b1["FeedbackType"], "star");
  EXPECT_EQ(b1["Comment"], "first");
  EXPECT_EQ(b1["Timestamp"], "2026-01-01T00:00:00Z");
  auto [s2, b2] = Get("/api/feedback/gf/h0");
  EXPECT_EQ(b2.size(), 2u) << b2.dump();
  auto [s3, b3] = Get("/api/feedback/like/gf/h0");
  EXPECT_EQ(s3, 404);
  EXPECT_EQ(Code(b3), "unknown_feedback");
  auto [s4, b4] = Get("/api/item/h0/feedback");
  EXPECT_EQ(b4.size(), 3u) << b4.dump();
  EXPECT_EQ(b4[0]["UserId"], "gf2") << "newest first";
  EXPECT_EQ(Get("/api/item/h0/feedback/read").second.size(), 1u);
  EXPECT_EQ(Get("/api/item/nothing/feedback").first, 404);
  // The log, paged by position, by type.
  std::vector<std::string> reads;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto [s, b] = Get("/api/feedback/read?n=1&cursor=" + cursor);
    ASSERT_EQ(s, 200) << b.dump();
    for (const auto& f : b["Feedback"]) reads.push_back(f["ItemId"]);
    cursor = b["Cursor"];
    if (cursor.empty()) break;
  }
  EXPECT_EQ(reads, (std::vector<std::string>{"h0", "h1"}));
  auto [s5, b5] = Get("/api/feedback?cursor=-3");
  EXPECT_EQ(s5, 400);
  EXPECT_EQ(Code(b5), "bad_cursor");
  EXPECT_EQ(Get("/api/feedback?cursor=999999999").second["Feedback"].size(), 0u) << "past the end: empty";
  // Deletion: that feedback goes, the rest of the user (events, record) stays.
  auto [s6, b6] = Delete("/api/feedback/read/gf/h0");
  ASSERT_EQ(s6, 200) << b6.dump();
  EXPECT_EQ(b6["RowAffected"], 1);
  EXPECT_EQ(Get("/api/feedback/read/gf/h0").first, 404);
  auto [s7, b7] = Get("/api/user/gf/feedback");
  ASSERT_EQ(b7.size(), 2u) << b7.dump();
  EXPECT_EQ(b7[1]["Comment"], "first") << "a kept event keeps its comment";
  EXPECT_EQ(Get("/api/user/gf").second["Comment"], "kept");
  auto [s8, b8] = Delete("/api/feedback/gf/h0");
  EXPECT_EQ(b8["RowAffected"], 1);
  EXPECT_EQ(Get("/api/user/gf/feedback").second.size(), 1u);
  auto [s9, b9] = Delete("/api/feedback/gf/h0");
  EXPECT_EQ(s9, 404);
  EXPECT_EQ(Code(b9), "unknown_feedback");
  EXPECT_EQ(Delete("/api/feedback/star/a%2Fb/h0").first, 404) << "a '/' in an id splits the path: no such route";
  EXPECT_EQ(Delete("/api/feedback/star/..%2F..%2Fv1%2Fusers%2Fgf/h0").first, 404);
  EXPECT_EQ(Code(Delete("/api/feedback/star/gf/x%00y").second), "bad_id");
}

TEST_F(HttpTest, GorseCategoriesNeighboursSessionsAndWriteBack) {
  auto put = client_->Put("/api/item/r0/category/Sale", "", "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(Get("/api/item/r0").second["Categories"], json::parse(R"(["Trail running","Sale"])"));
  EXPECT_EQ(json::parse(client_->Put("/api/item/r0/category/Sale", "", "application/json")->body)["RowAffected"], 0)
      << "already there";
  EXPECT_EQ(Delete("/api/item/r0/category/Sale").second["RowAffected"], 1);
  EXPECT_EQ(Get("/api/item/r0").second["Categories"], json::parse(R"(["Trail running"])"));
  EXPECT_EQ(Delete("/api/item/nothing/category/Sale").first, 404);
  // Neighbours of one category only.
  auto [s1, b1] = Get("/api/item/r0/neighbors/Hiking?n=3");
  ASSERT_EQ(s1, 200);
  for (const auto& x : b1) EXPECT_EQ(x["Id"].get<std::string>()[0], 'h') << b1.dump();
  // Users like a user.
  ASSERT_EQ(Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"a1","ItemId":"h0"},{"FeedbackType":"like","UserId":"a1","ItemId":"h1"},
                                      {"FeedbackType":"like","UserId":"a2","ItemId":"h0"}])").first, 200);
  ASSERT_EQ(Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"a2","ItemId":"h1"},
                                      {"FeedbackType":"like","UserId":"a3","ItemId":"r3"}])").first, 200);
  auto [s2, b2] = Get("/api/user/a1/neighbors");
  ASSERT_EQ(s2, 200);
  ASSERT_GE(b2.size(), 1u);
  EXPECT_EQ(b2[0]["Id"], "a2");
  EXPECT_NEAR(b2[0]["Score"].get<double>(), 1.0, 1e-9) << "the same two items";
  for (const auto& x : b2) EXPECT_NE(x["Id"], "a3") << "nothing shared";
  EXPECT_EQ(Get("/api/user/nobody/neighbors").first, 404);
  EXPECT_EQ(Get("/api/user-to-user/neighbors/a1").second, b2);
  EXPECT_EQ(Get("/api/user-to-user/other/a1").first, 404);
  EXPECT_EQ(Code(Get("/api/item-to-item/other/r0").second), "unknown_recommender");
  EXPECT_EQ(Get("/api/non-personalized/latest?n=2").first, 200);
  EXPECT_EQ(Get("/api/collaborative-filtering/a1?n=2").second.size(), 2u);
  // Session recommendations: like the session's items, without them, nothing stored.
  auto [s3, b3] = Post("/api/session/recommend?n=3", R"([{"FeedbackType":"like","UserId":"anon","ItemId":"h0"}])");
  ASSERT_EQ(s3, 200) << b3.dump();
  ASSERT_EQ(b3.size(), 3u);
  for (const auto& x : b3) EXPECT_NE(x["Id"], "h0");
  EXPECT_EQ(b3[0]["Id"].get<std::string>()[0], 'h') << b3.dump();
  EXPECT_EQ(Get("/api/user/anon").first, 404);
  EXPECT_EQ(Post("/api/session/recommend", R"({"not":"a list"})").first, 400);
  EXPECT_EQ(Post("/api/session/recommend", R"([{"FeedbackType":"like","UserId":"anon","ItemId":7}])").second["error"]["field"], "ItemId");
  EXPECT_EQ(Post("/api/session/recommend?n=1000&offset=1", "[]").first, 400);
  // Write-back: the answer recorded as feedback of that type, dated ahead by the delay.
  auto [s4, b4] = Get("/api/recommend/a3?n=2&write-back-type=read&write-back-delay=5m");
  ASSERT_EQ(s4, 200) << b4.dump();
  auto [s5, b5] = Get("/api/user/a3/feedback/read");
  ASSERT_EQ(b5.size(), 2u);
  EXPECT_EQ(std::set<json>({b5[0]["ItemId"], b5[1]["ItemId"]}), std::set<json>({b4[0], b4[1]}));
  auto bad = [&](const std::string& q, const char* says) {
    auto [s, b] = Get("/api/recommend/a3?n=2&" + q);
    EXPECT_EQ(s, 400) << q;
    EXPECT_NE(Message(b).find(says), std::string::npos) << Message(b);
  };
  bad("write-back-type=tele%01port", "FeedbackType");  // any type Gorse would store is written back; this one breaks the id rule
  bad("write-back-type=read&write-back-delay=soon", "write-back-delay must be a duration");
  bad("write-back-type=read&write-back-delay=2h", "beyond the clock-error bound");
  bad("write-back-delay=1m", "without write-back-type");
}

TEST_F(HttpTest, CorsAnswersAllowedOriginsOnly) {
  Stop();
  ho_.cors_origins = {"https://shop.example"};
  Start({{"r", Scope::kRead}});
  auto pre = client_->Options("/api/popular", {{"Origin", "https://shop.example"}, {"Access-Control-Request-Method", "GET"},
                                               {"Access-Control-Request-Headers", "X-API-Key"}});
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204) << "a preflight carries no key";
  EXPECT_EQ(pre->get_header_value("Access-Control-Allow-Origin"), "https://shop.example");
  EXPECT_NE(pre->get_header_value("Access-Control-Allow-Headers").find("X-API-Key"), std::string::npos);
  auto get = client_->Get("/api/popular", {{"Origin", "https://shop.example"}, {"X-API-Key", "r"}});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->get_header_value("Access-Control-Allow-Origin"), "https://shop.example");
  EXPECT_EQ(get->get_header_value("Vary"), "Origin");
  auto other = client_->Get("/api/popular", {{"Origin", "https://evil.example"}, {"X-API-Key", "r"}});
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin")) << "another origin gets no CORS header";
  auto refused = client_->Get("/api/popular", {{"Origin", "https://shop.example"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401) << "CORS lets a page read answers; it does not open the API";
  EXPECT_EQ(refused->get_header_value("Access-Control-Allow-Origin"), "https://shop.example") << "the page can read why";
}

TEST_F(HttpTest, GorseTtlsLeaveOldItemsAndFeedbackOut) {
  Stop();
  ho_.gorse_item_ttl_s = 30 * 86400;
  ho_.gorse_feedback_ttl_s = 30 * 86400;
  ho_.gorse_default_n = 2;
  Start({});
  const std::string fresh = http::gorse::GorseTime(svc_->Now() - 86400), stale = http::gorse::GorseTime(svc_->Now() - 90 * 86400);
  ASSERT_EQ(Post("/api/items", json::array({{{"ItemId", "fresh"}, {"Timestamp", fresh}}, {{"ItemId", "stale"}, {"Timestamp", stale}}}).dump()).first, 200);
  auto [s1, b1] = Get("/api/latest?n=5");
  ASSERT_EQ(s1, 200);
  std::set<std::string> ids;
  for (const auto& x : b1) ids.insert(x["Id"]);
  EXPECT_TRUE(ids.count("fresh"));
  EXPECT_FALSE(ids.count("stale")) << b1.dump();
  ASSERT_EQ(Post("/api/feedback", json::array({{{"FeedbackType", "like"}, {"UserId", "t"}, {"ItemId", "h0"}, {"Timestamp", fresh}},
                                               {{"FeedbackType", "star"}, {"UserId", "t"}, {"ItemId", "h1"}, {"Timestamp", stale}}}).dump()).first, 200);
  auto [s2, b2] = Get("/api/user/t/feedback");
  ASSERT_EQ(b2.size(), 1u) << b2.dump();
  EXPECT_EQ(b2[0]["ItemId"], "h0");
  EXPECT_EQ(Get("/api/feedback/star/t/h1").first, 404);
  EXPECT_EQ(Get("/api/latest/").second.size(), 2u) << "default_n";
  EXPECT_EQ(Get("/api/items").second["Items"].size(), 2u) << "default_n";
  // Both personalised routes leave expired items out (the same ranking and page: RankedPage).
  for (const char* route : {"/api/recommend/t?n=100", "/api/collaborative-filtering/t?n=100"}) {
    auto [s3, b3] = Get(route);
    ASSERT_EQ(s3, 200) << route;
    std::set<std::string> got;
    for (const auto& x : b3) got.insert(x.is_string() ? x.get<std::string>() : x["Id"].get<std::string>());
    EXPECT_TRUE(got.count("fresh")) << route << " " << b3.dump();
    EXPECT_FALSE(got.count("stale")) << route << " " << b3.dump();
  }
}

TEST(GoDurations, ParseAsGoWritesThem) {
  EXPECT_EQ(ParseDuration("10s"), 10.0);
  EXPECT_EQ(ParseDuration("1h30m"), 5400.0);
  EXPECT_EQ(ParseDuration("1.5h"), 5400.0);
  EXPECT_EQ(ParseDuration("250ms"), 0.25);
  EXPECT_EQ(ParseDuration("0"), 0.0);
  for (const char* bad : {"", "10", "s", "10x", "1h-3m", "h1", "1..5s"}) EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
}

TEST_F(HttpTest, EveryBatchRouteHoldsTheBatchLimit) {
  // max_batch is 3 here.
  auto [s1, b1] = Post("/api/users", R"([{"UserId":"b1"},{"UserId":"b2"},{"UserId":"b3"},{"UserId":"b4"}])");
  EXPECT_EQ(s1, 413);
  EXPECT_EQ(Code(b1), "batch_too_large");
  EXPECT_EQ(Get("/api/user/b1").first, 404) << "nothing stored";
  EXPECT_EQ(Post("/api/items", R"([{"ItemId":"b1"},{"ItemId":"b2"},{"ItemId":"b3"},{"ItemId":"b4"}])").first, 413);
  EXPECT_EQ(Post("/api/feedback", R"([{"FeedbackType":"like","UserId":"b","ItemId":"r0"},{"FeedbackType":"like","UserId":"b","ItemId":"r1"},
                                      {"FeedbackType":"like","UserId":"b","ItemId":"r2"},{"FeedbackType":"like","UserId":"b","ItemId":"r3"}])").first, 413);
  EXPECT_EQ(Post("/v1/items", R"([{"id":"b1"},{"id":"b2"},{"id":"b3"},{"id":"b4"}])").first, 413);
  EXPECT_EQ(Post("/api/users", R"([{"UserId":"b1"},{"UserId":"b2"},{"UserId":"b3"}])").first, 200);
}

TEST_F(HttpTest, HealthIsOpenAndMetricsNeedAReadKey) {
  Stop();
  Start({{"r", Scope::kRead}});
  EXPECT_EQ(Get("/api/health/live").first, 200) << "load balancers probe without a key";
  EXPECT_EQ(Get("/api/health/ready").first, 200);
  EXPECT_EQ(Get("/metrics").first, 401);
  auto m = client_->Get("/metrics", {{"X-API-Key", "r"}});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  auto bearer = client_->Get("/metrics", {{"Authorization", "Bearer r"}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200) << "Prometheus sends the key as a bearer token";
  EXPECT_EQ(Get("/openapi.json").first, 200) << "holds no data";
}

// The policy of every route (docs/http_api.md has the same table): a route added without a decision fails here.
TEST_F(HttpTest, EveryRouteHasADeliberateKeyPolicy) {
  Stop();
  Start({{"r", Scope::kRead}, {"w", Scope::kWrite}, {"a", Scope::kAdmin}});
  struct Want {
    const char* method;
    const char* label;
    const char* path;  // an instance of the route
    const char* policy;
  };
  const std::vector<Want> table = {
      {"POST", "/v1/events", "/v1/events", "write"},
      {"GET", "/v1/recommend/{user}", "/v1/recommend/u", "read"},
      {"GET", "/v1/users/{user}/interests", "/v1/users/u/interests", "read"},
      {"GET", "/v1/users/{user}/events", "/v1/users/u/events", "read"},
      {"GET", "/v1/users/{user}", "/v1/users/u", "read"},
      {"GET", "/v1/popular", "/v1/popular", "read"},
      {"GET", "/v1/latest", "/v1/latest", "read"},
      {"GET", "/v1/users", "/v1/users", "read"},
      {"GET", "/v1/stream/users/{user}", "/v1/stream/users/nobody", "read"},
      {"DELETE", "/v1/users/{user}", "/v1/users/u", "admin"},
      {"GET", "/v1/items/{item}/similar", "/v1/items/r0/similar", "read"},
      {"GET", "/v1/items/{item}", "/v1/items/r0", "read"},
      {"DELETE", "/v1/items/{item}", "/v1/items/nothing", "admin"},
      {"POST", "/v1/items", "/v1/items", "write"},
      {"POST", "/v1/feedback", "/v1/feedback", "write"},
      {"POST", "/v1/models/retrain", "/v1/models/retrain", "admin"},
      {"POST", "/v1/models/{version}/promote", "/v1/models/v9/promote", "admin"},
      {"GET", "/v1/models", "/v1/models", "read"},
      {"GET", "/v1/stats", "/v1/stats", "read"},
      {"POST", "/api/feedback", "/api/feedback", "write"},
      {"PUT", "/api/feedback", "/api/feedback", "write"},
      {"GET", "/api/recommend/{user}", "/api/recommend/u", "read"},
      {"POST", "/api/item", "/api/item", "write"},
      {"POST", "/api/items", "/api/items", "write"},
      {"GET", "/api/item/{item}/neighbors", "/api/item/r0/neighbors", "read"},
      {"GET", "/api/item/{item}", "/api/item/r0", "read"},
      {"PATCH", "/api/item/{item}", "/api/item/nothing", "write"},
      {"DELETE", "/api/item/{item}", "/api/item/nothing", "admin"},
      {"POST", "/api/user", "/api/user", "write"},
      {"POST", "/api/users", "/api/users", "write"},
      {"PATCH", "/api/user/{user}", "/api/user/u", "write"},
      {"GET", "/api/user/{user}", "/api/user/u", "read"},
      {"DELETE", "/api/user/{user}", "/api/user/nobody", "admin"},
      {"GET", "/api/popular", "/api/popular", "read"},
      {"GET", "/api/latest", "/api/latest", "read"},
      {"GET", "/api/user/{user}/feedback", "/api/user/u/feedback", "read"},
      {"GET", "/api/feedback", "/api/feedback", "read"},
      {"GET", "/api/feedback/{type}", "/api/feedback/like", "read"},
      {"GET", "/api/feedback/{user}/{item}", "/api/feedback/u/r0", "read"},
      {"DELETE", "/api/feedback/{user}/{item}", "/api/feedback/nobody/r0", "admin"},
      {"GET", "/api/feedback/{type}/{user}/{item}", "/api/feedback/like/u/r0", "read"},
      {"DELETE", "/api/feedback/{type}/{user}/{item}", "/api/feedback/like/nobody/r0", "admin"},
      {"POST", "/api/session/recommend", "/api/session/recommend", "read"},
      {"GET", "/api/items", "/api/items", "read"},
      {"GET", "/api/item/{item}/feedback", "/api/item/r0/feedback", "read"},
      {"PUT", "/api/item/{item}/category/{category}", "/api/item/nothing/category/c", "write"},
      {"DELETE", "/api/item/{item}/category/{category}", "/api/item/nothing/category/c", "write"},
      {"GET", "/api/users", "/api/users", "read"},
      {"GET", "/api/user/{user}/neighbors", "/api/user/u/neighbors", "read"},
      {"GET", "/api/non-personalized/{name}", "/api/non-personalized/popular", "read"},
      {"GET", "/api/item-to-item/{name}/{item}", "/api/item-to-item/neighbors/r0", "read"},
      {"GET", "/api/user-to-user/{name}/{user}", "/api/user-to-user/neighbors/u", "read"},
      {"GET", "/api/collaborative-filtering/{user}", "/api/collaborative-filtering/u", "read"},
      {"GET", "/api/health/live", "/api/health/live", "open"},
      {"GET", "/api/health/ready", "/api/health/ready", "open"},
      {"GET", "/metrics", "/metrics", "read"},
      {"GET", "/openapi.json", "/openapi.json", "open"},
      {"GET", "/", "/", "open"},  // the dashboard's page and files
  };
  auto name = [](const std::optional<Scope>& s) {
    return !s ? "open" : *s == Scope::kRead ? "read" : *s == Scope::kWrite ? "write" : "admin";
  };
  std::set<std::pair<std::string, std::string>> served, listed;
  for (const auto& p : http::RoutePolicies()) {
    served.insert({p.method, p.label});
    if (p.label.starts_with("/assets/")) {
      EXPECT_FALSE(p.scope.has_value()) << p.label;
      continue;
    }
    auto w = std::find_if(table.begin(), table.end(), [&](const Want& x) { return p.method == x.method && p.label == x.label; });
    ASSERT_NE(w, table.end()) << p.method << " " << p.label << " has no policy in this test (nor in docs/http_api.md)";
    EXPECT_STREQ(name(p.scope), w->policy) << p.method << " " << p.label;
  }
  auto call = [&](const Want& w, const char* key) {
    httplib::Headers h;
    if (key) h.emplace("X-API-Key", key);
    const std::string m = w.method;
    auto r = m == "GET"     ? client_->Get(w.path, h)
             : m == "POST"  ? client_->Post(w.path, h, "[]", "application/json")
             : m == "PUT"   ? client_->Put(w.path, h, "[]", "application/json")
             : m == "PATCH" ? client_->Patch(w.path, h, "{}", "application/json")
                            : client_->Delete(w.path, h);
    return r ? r->status : 0;
  };
  for (const Want& w : table) {
    SCOPED_TRACE(std::string(w.method) + " " + w.path);
    listed.insert({w.method, w.label});
    const std::string policy = w.policy;
    if (policy == "open") {
      EXPECT_NE(call(w, nullptr), 401);
      continue;
    }
    EXPECT_EQ(call(w, nullptr), 401);
    const char* enough = policy == "read" ? "r" : policy == "write" ? "w" : "a";
    const int with_key = call(w, enough);
    EXPECT_NE(with_key, 401);
    EXPECT_NE(with_key, 403);
    if (policy != "read") {
      EXPECT_EQ(call(w, policy == "write" ? "r" : "w"), 403);
    }
  }
  for (const auto& l : listed) EXPECT_TRUE(served.count(l)) << l.first << " " << l.second << " is not served";
}

TEST(HttpLimits, NestingDepthCountsBracketsOutsideStrings) {
  EXPECT_EQ(http::NestingDepth(R"({"a":[1,{"b":[]}]})", 64), 4u);
  EXPECT_EQ(http::NestingDepth(R"(["[[[[", "\"[[", {}])", 64), 2u);
  EXPECT_EQ(http::NestingDepth("", 64), 0u);
  EXPECT_EQ(http::NestingDepth(Nested(100000), 64), 65u) << "stops counting past the limit";
}

// 80,000 levels in one event's context (or a Gorse user's Labels) used to overflow the stack when the value was
// printed back; 5,000 levels were answered 413 payload_too_large.
TEST_F(HttpTest, DeeplyNestedBodiesAreRefusedAsTooDeep) {
  for (size_t depth : {size_t{80000}, size_t{5000}, size_t{65}}) {
    auto [s1, b1] = Post("/v1/events", R"([{"user":"u","item":"r0","action":"view","context":)" + Nested(depth) + "}]");
    EXPECT_EQ(s1, 400) << depth;
    EXPECT_EQ(Code(b1), "too_deep") << depth;
    EXPECT_NE(b1["error"]["message"].get<std::string>().find("64"), std::string::npos) << "names the limit";
    auto [s2, b2] = Post("/api/user", R"({"UserId":"deep","Labels":)" + Nested(depth) + "}");
    EXPECT_EQ(s2, 400) << depth;
    EXPECT_EQ(Code(b2), "too_deep") << depth;
  }
  // Sent as curl sends by default (a form type): the same answer, not httplib's 413 for forms over 8 KiB.
  auto form = client_->Post("/v1/events", "[" + Nested(5000) + "]", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 400);
  EXPECT_EQ(Code(json::parse(form->body, nullptr, false)), "too_deep");
  auto big = client_->Post("/api/user", R"({"UserId":"big","Comment":")" + std::string(20000, 'a') + R"("})",
                           "application/x-www-form-urlencoded");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 200) << big->body;
  auto [s3, b3] = Post("/api/user", R"({"UserId":"deep","Labels":)" + Nested(63) + "}");
  EXPECT_EQ(s3, 200) << "64 levels in all are allowed: " << b3.dump();
  EXPECT_EQ(Get("/api/health/live").first, 200) << "the server is still up";
}

// httplib checked a declared Content-Length only: a chunked body of any size was read and stored.
TEST_F(HttpTest, AChunkedBodyOverTheLimitIsRefused) {
  Stop();
  ho_.max_body_bytes = 64 << 10;
  Start({});
  std::string chunk(16 << 10, ' ');
  size_t sent = 0;
  auto r = client_->Post("/v1/events", [&](size_t, httplib::DataSink& sink) {
    if (sent >= (4u << 20)) {
      sink.done();
      return true;
    }
    sent += chunk.size();
    return sink.write(chunk.data(), chunk.size());
  }, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Code(json::parse(r->body, nullptr, false)), "payload_too_large");
  // A chunked body under the limit is fine.
  bool once = false;
  auto ok = client_->Post("/v1/events", [&](size_t, httplib::DataSink& sink) {
    if (once) {
      sink.done();
      return true;
    }
    once = true;
    const std::string body = R"([{"user":"u","item":"r0","action":"view"}])";
    return sink.write(body.data(), body.size());
  }, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(Get("/api/health/live").first, 200);
}

// A Content-Length of 10^15 used to be read (and dropped) until the read timeout before the 413.
TEST_F(HttpTest, AnAbsurdContentLengthIsRefusedAtOnce) {
  for (const char* expect : {"", "Expect: 100-continue\r\n"}) {
    RawConn c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(std::string("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n") + expect +
                       "Content-Length: 1000000000000000\r\n\r\n[{\"user\":"));
    auto [got, closed] = c.Read(std::chrono::milliseconds(2000));
    EXPECT_TRUE(got.starts_with("HTTP/1.1 413")) << expect << got.substr(0, 200);
    EXPECT_NE(got.find("payload_too_large"), std::string::npos) << got.substr(0, 400);
    EXPECT_TRUE(closed) << "the unread body ends the connection";
  }
  EXPECT_EQ(Get("/api/health/live").first, 200);
}

TEST_F(HttpTest, CompressedBodiesAreRefused) {
  RawConn c(port_);
  ASSERT_TRUE(c.Send("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd"));
  auto [got, closed] = c.Read(std::chrono::milliseconds(2000));
  EXPECT_TRUE(got.starts_with("HTTP/1.1 415")) << got.substr(0, 200);
  EXPECT_NE(got.find("unsupported_encoding"), std::string::npos) << got.substr(0, 400);
}

// One header byte at a time used to keep a worker forever (httplib's read timeout restarts with every byte).
TEST_F(HttpTest, ASlowRequestHeadIsCutAtItsDeadline) {
  Stop();
  ho_.header_timeout_s = 1;
  Start({});
  RawConn c(port_);
  ASSERT_TRUE(c.Send("GET /api/health/live HTTP/1.1\r\n"));
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  std::string got;
  for (int i = 0; i < 40 && !closed; ++i) {
    c.Send("X");
    std::tie(got, closed) = c.Read(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(closed) << "still open after 8 s";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  EXPECT_TRUE(got.empty() || got.starts_with("HTTP/1.1 408")) << got.substr(0, 200);
}

TEST_F(HttpTest, ASlowBodyIsCutAtItsDeadline) {
  Stop();
  ho_.body_timeout_s = 1;
  Start({});
  RawConn c(port_);
  ASSERT_TRUE(c.Send("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[{"));
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  std::string got, more;
  for (int i = 0; i < 20 && !closed; ++i) {
    c.Send(" ");
    std::tie(more, closed) = c.Read(std::chrono::milliseconds(300));
    got += more;
  }
  EXPECT_TRUE(closed) << "still open after 6 s";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  EXPECT_TRUE(got.starts_with("HTTP/1.1 408")) << got.substr(0, 200);
  EXPECT_NE(got.find("body_timeout"), std::string::npos) << got.substr(0, 400);
}

TEST_F(HttpTest, AnOversizedHeadIsRefused) {
  RawConn c(port_);
  ASSERT_TRUE(c.Send("GET /api/health/live HTTP/1.1\r\n"));
  std::string line = "X-Filler: " + std::string(1000, 'x') + "\r\n";
  for (int i = 0; i < 100; ++i) c.Send(line);
  auto [got, closed] = c.Read(std::chrono::milliseconds(2000));
  EXPECT_TRUE(got.starts_with("HTTP/1.1 431")) << got.substr(0, 200);
  EXPECT_NE(got.find("header_too_large"), std::string::npos) << got.substr(0, 400);
}

// Connections beyond the limit (threads: 4 here) used to queue silently behind idle ones; now they are answered 503
// at once, while health probes are still answered.
TEST_F(HttpTest, ConnectionsOverTheLimitAreRefusedButHealthAnswers) {
  Stop();
  ho_.idle_timeout_s = 30;
  Start({});
  std::vector<std::unique_ptr<RawConn>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<RawConn>(port_));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  RawConn over(port_);
  ASSERT_TRUE(over.Send("GET /v1/items/r0 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto [got, closed] = over.Read(std::chrono::milliseconds(3000));
  EXPECT_TRUE(got.starts_with("HTTP/1.1 503")) << got.substr(0, 200);
  EXPECT_NE(got.find("Retry-After: 1"), std::string::npos) << got.substr(0, 400);
  EXPECT_NE(got.find("over_capacity"), std::string::npos) << got.substr(0, 400);
  EXPECT_TRUE(closed);
  RawConn probe(port_);
  ASSERT_TRUE(probe.Send("GET /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto [health, _] = probe.Read(std::chrono::milliseconds(3000), "}");
  EXPECT_TRUE(health.starts_with("HTTP/1.1 200")) << health.substr(0, 200);
  EXPECT_NE(health.find("\"Ready\":true"), std::string::npos) << health.substr(0, 400);
  idle.clear();  // their workers come back
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(Get("/v1/items/r0").first, 200);
}

TEST_F(HttpTest, AnIdleConnectionIsClosed) {
  Stop();
  ho_.idle_timeout_s = 1;
  Start({});
  RawConn c(port_);
  ASSERT_TRUE(c.Send("GET /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto [got, closed] = c.Read(std::chrono::milliseconds(4000));
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200")) << got.substr(0, 200);
  EXPECT_TRUE(closed) << "kept open past the idle timeout";
}

// Each live stream holds a worker: they are capped (half the 4 workers here), and each ends after max_stream_s.
TEST_F(HttpTest, LiveStreamsAreCappedAndEnd) {
  Stop();
  ho_.max_stream_s = 2;
  ho_.max_streams = 2;
  Start({});
  ASSERT_EQ(Post("/v1/events", R"([{"user":"s","item":"r0","action":"view"}])").first, 200);
  const std::string get = "GET /v1/stream/users/s HTTP/1.1\r\nHost: x\r\n\r\n";
  RawConn a(port_), b(port_), c(port_);
  ASSERT_TRUE(a.Send(get) && b.Send(get));
  EXPECT_NE(a.Read(std::chrono::milliseconds(3000), "event: state").first.find("event: state"), std::string::npos);
  EXPECT_NE(b.Read(std::chrono::milliseconds(3000), "event: state").first.find("event: state"), std::string::npos);
  ASSERT_TRUE(c.Send(get));
  auto [third, _] = c.Read(std::chrono::milliseconds(3000), "}}");
  EXPECT_TRUE(third.starts_with("HTTP/1.1 503")) << third.substr(0, 200);
  EXPECT_NE(third.find("too_many_streams"), std::string::npos) << third.substr(0, 400);
  auto [rest, closed] = a.Read(std::chrono::milliseconds(15000));
  EXPECT_TRUE(closed) << "the stream ends (its connection closes) after max_stream_s: " << rest.substr(0, 200);
  // Streams hold no worker: with 4 workers, 2 open streams and their slots freed, ordinary requests are served and
  // new streams open again.
  RawConn d(port_);
  ASSERT_TRUE(d.Send(get));
  auto [fourth, d_closed] = d.Read(std::chrono::milliseconds(3000), "event: state");
  EXPECT_NE(fourth.find("event: state"), std::string::npos) << fourth.substr(0, 400);
}

TEST_F(HttpTest, StreamsHoldNoWorker) {
  Stop();
  ho_.max_streams = 20;  // five times the 4 workers
  Start({});
  ASSERT_EQ(Post("/v1/events", R"([{"user":"s","item":"r0","action":"view"}])").first, 200);
  const std::string get = "GET /v1/stream/users/s HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<std::unique_ptr<RawConn>> streams;
  for (int i = 0; i < 12; ++i) {  // one at a time: each hands its worker back before the next arrives
    streams.push_back(std::make_unique<RawConn>(port_));
    ASSERT_TRUE(streams.back()->Send(get));
    auto [first, closed] = streams.back()->Read(std::chrono::milliseconds(10000), "event: state");
    ASSERT_NE(first.find("event: state"), std::string::npos) << "stream " << i << ": " << first.substr(0, 200);
    EXPECT_EQ(first.find("Content-Length"), std::string::npos) << first.substr(0, 300);
  }
  EXPECT_EQ(Get("/v1/popular?n=1").first, 200) << "a request is served while 12 streams are open on 4 workers";
  ASSERT_EQ(Post("/v1/events", R"([{"user":"s","item":"r1","action":"click"}])").first, 200);
  for (auto& s : streams) {  // the change reaches every stream (its second state message)
    auto [next, closed] = s->Read(std::chrono::milliseconds(10000), "event: state");
    EXPECT_NE(next.find("event: state"), std::string::npos) << next.substr(0, 200);
  }
}

}  // namespace
}  // namespace vane
