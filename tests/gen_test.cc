#include "vane/gen/generator.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "vane/events/actions.h"
#include "vane/text/segmenter.h"
#include "vane/text/tokenize.h"

namespace vane::gen {
namespace {

GenOptions Small(uint64_t seed = 7) {
  GenOptions o;
  o.seed = seed;
  o.users = 60;
  o.items_per_topic = 12;
  o.pages_per_topic = 2;
  o.sessions_per_user = 3;
  return o;
}

bool HasCjkBytes(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0xE3) return true;  // lead byte of U+3000.. (CJK) in UTF-8
  return false;
}

std::string Fingerprint(const Generated& g) {
  std::string s;
  for (const Item& it : g.items) s += it.id + "|" + it.title + "|" + it.text + "|" + std::to_string(it.created) +
                                      (it.available ? "1" : "0") + "\n";
  for (size_t i = 0; i < g.events.size(); ++i) {
    const RawEvent& e = g.events[i];
    const TruthRow& r = g.truth[i];
    s += e.user + "|" + e.item + "|" + e.query + "|" + e.action + "|" + std::to_string(e.ts) + "|" +
         std::to_string(e.value) + "|" + e.session + "|" + r.intent + (r.noise ? "n" : "") +
         (r.switch_point ? "s" : "") + std::to_string(r.segment) + "\n";
  }
  for (const auto& lt : g.long_term)
    for (const auto& t : lt) s += t + ",";
  return s;
}

TEST(GenTest, TopicsCoverFiveDomains) {
  const auto& topics = BuiltinTopics();
  std::map<std::string, int> per_domain;
  std::set<std::string> names;
  for (const Topic& t : topics) {
    ++per_domain[t.domain];
    EXPECT_TRUE(names.insert(t.name_en).second) << t.name_en;
    EXPECT_FALSE(t.name_zh.empty());
    EXPECT_GE(t.words_en.size(), 6u) << t.name_en;
    EXPECT_GE(t.words_zh.size(), 5u) << t.name_en;
    for (const auto& w : t.words_zh) {
      EXPECT_TRUE(text::IsValidUtf8(w));
      EXPECT_TRUE(HasCjkBytes(w)) << w;
    }
  }
  EXPECT_EQ(per_domain.size(), 5u);
  for (const char* d : {"ecommerce", "video", "social", "news", "travel"}) EXPECT_GE(per_domain[d], 4) << d;
}

// Searches are matched to items by token overlap (English words; Chinese dictionary words, or character bigrams
// without a dictionary), so no token may be shared by two topics: not in their words, not in their names. Checked
// for both Chinese tokenisations.
TEST(GenTest, TopicWordsDoNotOverlap) {
  for (bool bigrams : {false, true}) {
    SCOPED_TRACE(bigrams ? "character bigrams" : "dictionary words");
    text::TokenizeOptions opt;
    opt.zh_bigrams = bigrams;
    std::unordered_map<std::string, std::string> owner;
    for (const Topic& t : BuiltinTopics()) {
      std::unordered_set<std::string> mine;
      auto add = [&](const std::string& s) {
        for (const auto& tok : text::Tokenize(s, opt)) mine.insert(tok);
      };
      for (const auto& w : t.words_en) add(w);
      for (const auto& w : t.words_zh) add(w);
      add(t.name_en);
      add(t.name_zh);
      for (const auto& w : t.words_en) EXPECT_EQ(text::Tokenize(w).size(), 1u) << "'" << w << "' is not one token";
      if (!bigrams && text::DefaultSegmenter()) {  // each Chinese word is one keyword
        for (const auto& w : t.words_zh) EXPECT_EQ(text::Tokenize(w, opt), std::vector<std::string>{w});
      }
      for (const auto& tok : mine) {
        auto [it, inserted] = owner.emplace(tok, t.name_en);
        EXPECT_TRUE(inserted) << "token '" << tok << "' shared by " << it->second << " and " << t.name_en;
      }
    }
  }
}

TEST(GenTest, DeterministicGivenSeed) {
  Generated a = Generate(Small(11));
  Generated b = Generate(Small(11));
  Generated c = Generate(Small(12));
  EXPECT_EQ(Fingerprint(a), Fingerprint(b));
  EXPECT_NE(Fingerprint(a), Fingerprint(c));
}

TEST(GenTest, CountsAndIds) {
  GenOptions o = Small();
  Generated g = Generate(o);
  const size_t n_topics = g.topics.size();
  EXPECT_EQ(g.items.size(), n_topics * static_cast<size_t>(o.items_per_topic + o.pages_per_topic));
  EXPECT_EQ(g.long_term.size(), static_cast<size_t>(o.users));
  for (const auto& lt : g.long_term) {
    EXPECT_GE(lt.size(), 1u);
    EXPECT_LE(lt.size(), 3u);
  }
  std::unordered_set<std::string> ids;
  size_t unavailable = 0;
  for (const Item& it : g.items) {
    EXPECT_TRUE(ids.insert(it.id).second) << it.id;
    EXPECT_TRUE(it.id.rfind("i-", 0) == 0 || it.id.rfind("p-", 0) == 0) << it.id;
    EXPECT_EQ(it.type == "page", it.id.rfind("p-", 0) == 0) << it.id;
    EXPECT_EQ(it.categories.size(), 1u);
    EXPECT_LT(it.created, o.start);
    EXPECT_TRUE(HasCjkBytes(it.title)) << it.title;
    EXPECT_TRUE(text::IsValidUtf8(it.title) && text::IsValidUtf8(it.text));
    if (!it.available) ++unavailable;
    bool has_price = false;
    for (const auto& [k, v] : it.attributes) has_price |= k == "price";
    EXPECT_EQ(has_price, it.type == "product" || it.type == "trip") << it.id;
  }
  EXPECT_GT(unavailable, 0u);
  EXPECT_LT(unavailable, g.items.size() / 5);
  std::set<std::string> users;
  for (const RawEvent& e : g.events) users.insert(e.user);
  EXPECT_EQ(users.size(), static_cast<size_t>(o.users));
}

TEST(GenTest, EveryEcommerceTopicHasPagesAndProducts) {
  Generated g = Generate(Small());
  for (const Topic& t : g.topics) {
    if (t.domain != "ecommerce") continue;
    int pages = 0, products = 0;
    for (const Item& it : g.items) {
      if (it.categories.empty() || it.categories[0] != t.name_en) continue;
      pages += it.type == "page";
      products += it.type == "product";
    }
    EXPECT_GE(pages, 1) << t.name_en;
    EXPECT_GE(products, 1) << t.name_en;
  }
}

TEST(GenTest, EventsSortedAlignedAndValid) {
  GenOptions o = Small();
  Generated g = Generate(o);
  ASSERT_FALSE(g.events.empty());
  ASSERT_EQ(g.events.size(), g.truth.size());
  auto reg = ActionRegistry::Preset("ecommerce");
  ASSERT_TRUE(reg.ok());
  std::unordered_map<std::string, const Item*> items;
  for (const Item& it : g.items) items[it.id] = &it;
  std::set<std::string> topic_names;
  for (const Topic& t : g.topics) topic_names.insert(t.name_en);
  for (size_t i = 0; i < g.events.size(); ++i) {
    const RawEvent& e = g.events[i];
    const TruthRow& r = g.truth[i];
    if (i > 0) {
      EXPECT_LE(g.events[i - 1].ts, e.ts) << i;
    }
    EXPECT_EQ(e.user, r.user) << i;
    EXPECT_TRUE(topic_names.count(r.intent)) << r.intent;
    EXPECT_TRUE(reg->Find(e.action).has_value()) << e.action;
    EXPECT_TRUE(e.has_ts);
    EXPECT_GE(e.ts, o.start);
    EXPECT_EQ(e.session.rfind(e.user + "-s", 0), 0u) << e.session;
    if (e.action == "search") {
      EXPECT_FALSE(e.query.empty());
      EXPECT_TRUE(e.item.empty());
      EXPECT_FALSE(r.noise);
    } else {
      EXPECT_TRUE(e.query.empty());
      ASSERT_TRUE(items.count(e.item)) << "unknown item '" << e.item << "'";
      const std::string& cat = items[e.item]->categories[0];
      if (r.noise) {
        EXPECT_NE(cat, r.intent) << i;
      } else {
        EXPECT_EQ(cat, r.intent) << i;
      }
    }
    if (e.action == "dwell") {
      EXPECT_TRUE(e.has_value);
      EXPECT_GT(e.value, 0);
    }
  }
}

TEST(GenTest, NoiseShareMatchesOption) {
  for (double noise : {0.0, 0.1, 0.25}) {
    GenOptions o = Small();
    o.noise = noise;
    Generated g = Generate(o);
    size_t n = 0;
    for (const TruthRow& r : g.truth) n += r.noise;
    double share = static_cast<double>(n) / static_cast<double>(g.truth.size());
    EXPECT_NEAR(share, noise, 0.025) << "noise=" << noise;
  }
}

TEST(GenTest, NegativeShareMatchesOption) {
  for (double neg : {0.0, 0.05, 0.15}) {
    GenOptions o = Small();
    o.negative_share = neg;
    Generated g = Generate(o);
    size_t n = 0;
    for (size_t i = 0; i < g.events.size(); ++i) {
      const std::string& a = g.events[i].action;
      if (a == "dislike" || a == "skip" || a == "hide" || a == "remove_from_cart") {
        ++n;
        EXPECT_FALSE(g.truth[i].noise);
      }
    }
    double share = static_cast<double>(n) / static_cast<double>(g.events.size());
    EXPECT_NEAR(share, neg, 0.02) << "negative_share=" << neg;
  }
}

TEST(GenTest, SwitchPointsChangeIntent) {
  GenOptions o = Small();
  Generated g = Generate(o);
  // Per user, in time order.
  std::unordered_map<std::string, const TruthRow*> last;
  size_t switches = 0;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < g.truth.size(); ++i) {
    const TruthRow& r = g.truth[i];
    auto it = last.find(r.user);
    if (it == last.end()) {
      EXPECT_FALSE(r.switch_point) << "first event of " << r.user;
      EXPECT_EQ(r.segment, 0u);
    } else {
      const TruthRow& p = *it->second;
      if (r.segment != p.segment) {
        EXPECT_EQ(r.segment, p.segment + 1);
        EXPECT_TRUE(r.switch_point) << i;
        EXPECT_NE(r.intent, p.intent) << i;
        ++switches;
      } else {
        EXPECT_FALSE(r.switch_point) << i;
        EXPECT_EQ(r.intent, p.intent) << i;
      }
    }
    last[r.user] = &r;
  }
  EXPECT_GE(switches, static_cast<size_t>(o.users) * static_cast<size_t>(o.sessions_per_user - 1));
}

TEST(GenTest, ChineseQueriesFollowZhShare) {
  GenOptions o = Small();
  o.zh_share = 0.5;
  Generated g = Generate(o);
  size_t zh = 0, en = 0;
  for (const RawEvent& e : g.events) {
    if (e.action != "search") continue;
    (HasCjkBytes(e.query) ? zh : en)++;
  }
  EXPECT_GT(zh, 0u);
  EXPECT_GT(en, 0u);

  o.zh_share = 0.0;
  Generated g0 = Generate(o);
  size_t searches = 0;
  for (const RawEvent& e : g0.events) {
    if (e.action != "search") continue;
    ++searches;
    EXPECT_FALSE(HasCjkBytes(e.query)) << e.query;
  }
  EXPECT_GT(searches, 0u);
}

// A search's words come from its intent topic, and the item viewed right after usually carries one of them.
TEST(GenTest, QueriesUseIntentTopicWords) {
  Generated g = Generate(Small());
  std::unordered_map<std::string, const Topic*> topic;
  for (const Topic& t : g.topics) topic[t.name_en] = &t;
  for (size_t i = 0; i < g.events.size(); ++i) {
    if (g.events[i].action != "search") continue;
    const Topic& t = *topic[g.truth[i].intent];
    bool found = false;
    for (const auto& w : t.words_en) found |= g.events[i].query.find(w) != std::string::npos;
    for (const auto& w : t.words_zh) found |= g.events[i].query.find(w) != std::string::npos;
    EXPECT_TRUE(found) << g.events[i].query << " for " << t.name_en;
  }
}

TEST(GenTest, WriteGeneratedRoundTrip) {
  Generated g = Generate(Small());
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("vane_gen_test_" + std::to_string(::getpid()))).string() + "/out";
  ASSERT_TRUE(WriteGenerated(g, dir).ok());
  auto read = [&](const std::string& name) {
    std::vector<nlohmann::json> rows;
    std::ifstream in(dir + "/" + name);
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << line;
      rows.push_back(std::move(j));
    }
    return rows;
  };
  auto items = read("items.jsonl");
  auto events = read("events.jsonl");
  auto truth = read("truth.jsonl");
  ASSERT_EQ(items.size(), g.items.size());
  ASSERT_EQ(events.size(), g.events.size());
  ASSERT_EQ(truth.size(), g.truth.size());
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i]["id"], g.items[i].id);
    EXPECT_EQ(items[i]["title"], g.items[i].title);
    EXPECT_EQ(items[i]["available"], g.items[i].available);
    EXPECT_EQ(items[i]["created"], g.items[i].created);
    EXPECT_EQ(items[i]["categories"][0], g.items[i].categories[0]);
    EXPECT_TRUE(items[i]["attributes"].contains("domain"));
    EXPECT_TRUE(items[i]["attributes"].contains("category_zh"));
  }
  for (size_t i = 0; i < events.size(); ++i) {
    const RawEvent& e = g.events[i];
    EXPECT_EQ(events[i]["user"], e.user);
    EXPECT_EQ(events[i]["action"], e.action);
    EXPECT_EQ(events[i]["ts"], e.ts);
    EXPECT_EQ(events[i]["session"], e.session);
    EXPECT_EQ(events[i].value("item", std::string()), e.item);
    EXPECT_EQ(events[i].contains("query"), e.action == "search");
    EXPECT_EQ(events[i].contains("value"), e.has_value);
    if (e.has_value) {
      EXPECT_DOUBLE_EQ(events[i]["value"].get<double>(), e.value);
    }
    if (e.action == "search") {
      EXPECT_EQ(events[i]["query"], e.query);
    }
  }
  for (size_t i = 0; i < truth.size(); ++i) {
    EXPECT_EQ(truth[i]["user"], g.truth[i].user);
    EXPECT_EQ(truth[i]["intent"], g.truth[i].intent);
    EXPECT_EQ(truth[i]["noise"], g.truth[i].noise);
    EXPECT_EQ(truth[i]["switch"], g.truth[i].switch_point);
    EXPECT_EQ(truth[i]["segment"], g.truth[i].segment);
  }
  // UTF-8 is written as is, not as \u escapes.
  std::ifstream in(dir + "/items.jsonl");
  std::string first;
  std::getline(in, first);
  EXPECT_TRUE(HasCjkBytes(first));
  EXPECT_EQ(first.find("\\u"), std::string::npos);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

TEST(GenTest, WriteGeneratedReportsIoError) {
  Generated g = Generate(Small());
  const std::string file = (std::filesystem::temp_directory_path() /
                            ("vane_gen_block_" + std::to_string(::getpid()))).string();
  { std::ofstream(file) << "x"; }
  Status s = WriteGenerated(g, file + "/sub");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(file), std::string::npos) << s.message();
  std::filesystem::remove(file);
}

TEST(GenTest, DegenerateOptionsDoNotCrash) {
  GenOptions o;
  o.users = 2;
  o.items_per_topic = 0;
  o.pages_per_topic = 0;
  o.events_per_intent_min = 1;
  o.events_per_intent_max = 1;
  Generated g = Generate(o);
  EXPECT_TRUE(g.items.empty());
  for (const RawEvent& e : g.events) EXPECT_EQ(e.action, "search");
  o.users = 0;
  EXPECT_TRUE(Generate(o).events.empty());
}

TEST(GenTest, DefaultOptionsScale) {
  Generated g = Generate(GenOptions{});
  EXPECT_EQ(g.items.size(), g.topics.size() * 33u);
  EXPECT_GT(g.events.size(), 5000u);
  size_t searches = 0;
  for (const RawEvent& e : g.events) searches += e.action == "search";
  double share = static_cast<double>(searches) / static_cast<double>(g.events.size());
  EXPECT_GT(share, 0.05);
  EXPECT_LT(share, 0.35);
}

}  // namespace
}  // namespace vane::gen
