// POST /v1/events's fast path (serve/http/event_body.h) against the full path it stands in for (nlohmann's parse +
// EventRecords): whenever the fast path answers, its records equal the full path's, on generated bodies in the
// common shape, hand-written edge cases, the fuzz corpus of event records, and random byte mutations of them all.
#include "event_body.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vane/serve/json.h"

namespace vane::http {
namespace {

using nlohmann::json;

// A record as text: every field and flag (values bitwise), or the error with its field.
std::string Describe(const Result<RawEvent>& r) {
  if (!r.ok()) return "error " + r.status().field() + ": " + r.status().message();
  const RawEvent& e = r.value();
  uint64_t bits = 0;
  std::memcpy(&bits, &e.value, 8);
  return fmt::format("user={:?} item={:?} query={:?} action={:?} session={:?} context={:?} ts={}/{} value={:x}/{}",
                     e.user, e.item, e.query, e.action, e.session, e.context, e.ts, e.has_ts, bits, e.has_value);
}

// The full path's records; nullopt where it answers an error for the whole body (malformed, not an array).
std::optional<std::vector<std::string>> FullPath(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& r : EventRecords(j)) out.push_back(Describe(r));
  return out;
}

// Checks the contract on one body; returns whether the fast path answered.
bool Agrees(const std::string& body) {
  auto fast = FastEventRecords(body);
  if (!fast) return false;
  auto full = FullPath(body);
  EXPECT_TRUE(full.has_value()) << "the fast path read a body the full path refuses: " << body;
  if (!full) return true;
  std::vector<std::string> mine;
  for (const auto& r : *fast) mine.push_back(Describe(r));
  EXPECT_EQ(mine, *full) << body;
  return true;
}

std::string RandomString(std::mt19937& rng) {
  static const char* pieces[] = {"a", "Z", "7", "-", " ", "\\\"", "\\\\", "\\n", "\\u00e9", "\\u4e2d", "é", "鞋",
                                 "\\ud83d\\ude00", "/", "\\/", "\\t", "\\u0000"};
  std::string s;
  for (int k = 0, n = static_cast<int>(rng() % 6); k < n; ++k) s += pieces[rng() % std::size(pieces)];
  return "\"" + s + "\"";
}

// Numbers; `exotic` adds negative zeros and numbers past 64 bits or past double (left to the full path).
std::string RandomNumber(std::mt19937& rng, bool integer, bool exotic = false) {
  static const char* ints[] = {"0", "1", "-1", "42", "1700000000", "-1700000000", "9223372036854775807",
                               "-9223372036854775808", "18446744073709551615", "123456789012", "-0"};
  static const char* reals[] = {"0.5", "-2.25", "1e300", "1E3", "3.141592653589793", "2.5e-7", "0.1", "-1e-300"};
  static const char* odd[] = {"-0.0", "100000000000000000000", "-0e5", "1e400"};
  if (exotic && rng() % 3 == 0) return odd[rng() % std::size(odd)];
  return integer || rng() % 2 ? ints[rng() % std::size(ints)] : reals[rng() % std::size(reals)];
}

// A body in the common shape: ids as strings or integers, optional members, nulls, unknown members.
std::string CommonBody(std::mt19937& rng, int n, bool exotic = false) {
  std::string body = "[";
  for (int k = 0; k < n; ++k) {
    std::vector<std::string> m;
    m.push_back("\"user\":" + (rng() % 3 ? RandomString(rng) : RandomNumber(rng, true)));
    if (rng() % 4) m.push_back("\"item\":" + (rng() % 3 ? RandomString(rng) : RandomNumber(rng, true)));
    else if (rng() % 2) m.push_back("\"item\":null");
    if (rng() % 2) m.push_back("\"action\":" + RandomString(rng));
    if (rng() % 3) m.push_back(fmt::format("\"ts\":{}", static_cast<int64_t>(rng()) - (1 << 30)));
    if (rng() % 3 == 0) m.push_back("\"value\":" + RandomNumber(rng, false, exotic));
    if (rng() % 4 == 0) m.push_back("\"query\":" + RandomString(rng));
    if (rng() % 4 == 0) m.push_back("\"session\":" + (rng() % 2 ? RandomString(rng) : RandomNumber(rng, true)));
    if (rng() % 4 == 0) m.push_back("\"context\":" + RandomString(rng));
    if (rng() % 5 == 0) m.push_back("\"extra\":{\"a\":[1,{\"b\":null}],\"c\":\"d\"}");
    std::shuffle(m.begin(), m.end(), rng);
    body += (k ? ",{" : "{") + fmt::format("{}", fmt::join(m, rng() % 2 ? "," : " , ")) + "}";
  }
  return body + "]";
}

TEST(EventBody, TheCommonShapeIsReadAsTheFullPathReadsIt) {
  std::mt19937 rng(17);
  int fast = 0;
  for (int k = 0; k < 400; ++k) fast += Agrees(CommonBody(rng, 1 + static_cast<int>(rng() % 20)));
  EXPECT_EQ(fast, 400) << "every body of the common shape takes the fast path";
  int exotic = 0;
  for (int k = 0; k < 400; ++k) exotic += Agrees(CommonBody(rng, 1 + static_cast<int>(rng() % 20), true));
  EXPECT_GT(exotic, 0);
  EXPECT_LT(exotic, 400) << "some values are left to the full path";
  EXPECT_TRUE(Agrees(R"([{"user":"u1","item":"i1","action":"view","ts":1700000000}])"));
  EXPECT_TRUE(Agrees(R"([{"user":12,"item":34,"value":2.5,"context":"mobile"},{"user":"x"}])"));
  EXPECT_TRUE(Agrees("[]"));
  EXPECT_TRUE(Agrees(R"([{"user":null,"item":"i"}])")) << "a missing user is the cleaner's error, not the parser's";
}

TEST(EventBody, EverythingElseIsLeftToTheFullPath) {
  for (const char* body : {
           "", "   ", "{", "[", "[{]", "[{\"user\":\"a\"},]", "[1,2]", "[\"a\"]", "[[]]", "{\"user\":\"a\"}",
           R"({"events":[{"user":"a"}]})", R"([{"user":"a","user":"b"}])", R"([{"user":true}])",
           R"([{"user":1.5}])", R"([{"user":{"id":1}}])", R"([{"ts":"2024-01-01T00:00:00Z","user":"a"}])",
           R"([{"ts":1.5,"user":"a"}])", R"([{"ts":18446744073709551615,"user":"a"}])", R"([{"value":"3","user":"a"}])",
           R"([{"context":{"page":"p","a":1},"user":"a"}])", R"([{"context":[1,2],"user":"a"}])",
           R"([{"action":5,"user":"a"}])", R"([{"query":["x"],"user":"a"}])", "[{\"user\":\"\xff\"}]",
           R"([{"user":"a"}] x)", R"([{"user":100000000000000000000000}])"}) {
    EXPECT_FALSE(FastEventRecords(body).has_value()) << body;
  }
}

// The fuzz corpus of event records and random byte mutations of it and of generated bodies: never a disagreement.
TEST(EventBody, MutatedBodiesNeverDisagree) {
  std::vector<std::string> seeds;
  std::mt19937 rng(23);
  for (int k = 0; k < 30; ++k) seeds.push_back(CommonBody(rng, 3));
  const std::filesystem::path corpus = std::filesystem::path(VANE_FIXTURES) / ".." / ".." / "fuzz" / "corpus" / "json_records";
  for (const auto& e : std::filesystem::directory_iterator(corpus)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream b;
    b << in.rdbuf();
    seeds.push_back(b.str());
    seeds.push_back("[" + b.str() + "]");
  }
  ASSERT_GT(seeds.size(), 40u);
  int fast = 0;
  for (const std::string& seed : seeds) {
    fast += Agrees(seed);
    for (int k = 0; k < 200; ++k) {
      std::string m = seed;
      if (m.empty()) continue;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int x = 0; x < edits; ++x) {
        size_t at = rng() % m.size();
        switch (rng() % 3) {
          case 0: m[at] = static_cast<char>(rng() % 256); break;
          case 1: m.erase(at, 1); break;
          default: m.insert(at, 1, "{}[]\",:0-.e\\nu"[rng() % 14]);
        }
        if (m.empty()) break;
      }
      fast += Agrees(m);
    }
  }
  EXPECT_GT(fast, 500) << "the mutations exercised the fast path";
}

}  // namespace
}  // namespace vane::http
