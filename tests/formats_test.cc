#include "vane/events/formats.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "formats_test_util.h"

namespace vane {
namespace {

using testing::ExpectConsistent;
using testing::Quiet;

const std::string kFix = std::string(VANE_FIXTURES) + "/formats/";

void ExpectCountsAddUp(const ImportReport& r) {
  EXPECT_EQ(r.accepted + r.rejected + r.duplicates, r.records_read);
}

const Item& ItemOf(const Dataset& ds, std::string_view id) {
  auto idx = ds.catalog.Find(id);
  EXPECT_TRUE(idx.has_value()) << id;
  static const Item kNone;
  return idx ? ds.catalog.item(*idx) : kNone;
}

std::string ActionName(const Dataset& ds, const Event& e) { return ds.actions.spec(e.action).name; }

TEST(FormatsTest, ParseFormatNames) {
  for (const std::string& n : FormatNames()) EXPECT_TRUE(ParseFormat(n).ok()) << n;
  EXPECT_EQ(FormatNames().size(), 9u);
  EXPECT_EQ(ParseFormat("ml-100k").value(), Format::kMovieLens100k);
  EXPECT_EQ(ParseFormat("ml-1m").value(), Format::kMovieLens1m);
  EXPECT_EQ(ParseFormat("pairs").value(), Format::kPairs);
  EXPECT_EQ(ParseFormat("sequences").value(), Format::kSequences);
  EXPECT_EQ(ParseFormat("taobao").value(), Format::kTaobao);
  auto bad = ParseFormat("csv-ish");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("known: vane, ml-100k"), std::string::npos);
}

TEST(FormatsTest, VaneFolder) {
  Dataset ds;
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kVane, kFix + "vane", Quiet(), ds, r).ok());
  EXPECT_EQ(ds.name, "vane");
  EXPECT_EQ(ds.actions.preset(), "ecommerce");
  EXPECT_TRUE(ds.has_timestamps);
  EXPECT_EQ(r.records_read, 10u);  // 3 items + 7 events
  EXPECT_EQ(r.accepted, 9u);
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.items_created, 1u);  // p9 is not in items.jsonl
  ExpectCountsAddUp(r);
  ASSERT_EQ(ds.events.size(), 6u);
  EXPECT_EQ(ds.num_items(), 4u);  // catalogue items without events are kept
  EXPECT_EQ(ActionName(ds, ds.events[1]), "cart");
  EXPECT_EQ(ActionName(ds, ds.events[2]), "purchase");
  EXPECT_EQ(ActionName(ds, ds.events[3]), "search");
  EXPECT_EQ(ItemOf(ds, "p2").title, "登山鞋");
  EXPECT_EQ(r.issues.at(0).field, "action");
  ExpectConsistent(ds);
}

TEST(FormatsTest, VaneKeepsConfiguredActionsAndSingleFile) {
  Dataset ds;
  ds.actions = ActionRegistry::Preset("video").value();
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kVane, kFix + "vane/events.jsonl", Quiet(), ds, r).ok());
  EXPECT_EQ(ds.actions.preset(), "video");
  // video has no cart/purchase: those events are rejected as unknown actions, not silently remapped.
  EXPECT_EQ(r.rejected_by_reason.at("action: unknown action"), 3u);
  EXPECT_EQ(ds.num_items(), 4u);  // items.jsonl beside the file is joined
}

TEST(FormatsTest, MovieLens100k) {
  Dataset ds;
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kMovieLens100k, kFix + "ml-100k", Quiet(), ds, r).ok());
  EXPECT_EQ(ds.name, "ml-100k");
  EXPECT_EQ(ds.actions.preset(), "implicit");
  EXPECT_EQ(r.records_read, 5u);
  EXPECT_EQ(r.accepted, 4u);
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.issues.at(0).field, "record");
  EXPECT_EQ(r.issues.at(0).line, 5u);
  EXPECT_EQ(r.items_created, 0u);
  ExpectCountsAddUp(r);
  EXPECT_EQ(ds.num_users(), 2u);
  EXPECT_EQ(ds.num_items(), 3u);  // only rated movies enter the catalogue
  const Item& toy = ItemOf(ds, "10");
  EXPECT_EQ(toy.type, "movie");
  EXPECT_EQ(toy.title, "Toy Film (1995)");
  EXPECT_EQ(toy.categories, (std::vector<std::string>{"Animation", "Children's", "Comedy"}));
  EXPECT_EQ(toy.created, 788918400);
  EXPECT_EQ(ItemOf(ds, "20").title, "Caf\xC3\xA9 Noir (1996)");  // latin-1 -> UTF-8
  EXPECT_EQ(ItemOf(ds, "30").categories, (std::vector<std::string>{"Action", "Sci-Fi"}));
  ASSERT_EQ(ds.events.size(), 4u);
  EXPECT_EQ(ActionName(ds, ds.events[0]), "interact");
  EXPECT_TRUE(ds.events[0].has_value);
  EXPECT_FLOAT_EQ(ds.events[0].value, 4);
  EXPECT_FLOAT_EQ(ds.events[3].value, 1);
  EXPECT_EQ(ds.events[0].ts, 881250949);
  ExpectConsistent(ds);
}

TEST(FormatsTest, MovieLensCsv) {
  Dataset ds;
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kMovieLensCsv, kFix + "ml-latest/ratings.csv", Quiet(), ds, r).ok());
  EXPECT_EQ(ds.name, "ml-latest");
  EXPECT_EQ(r.records_read, 6u);
  EXPECT_EQ(r.accepted, 4u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.issues.at(0).field, "value");
  ExpectCountsAddUp(r);
  EXPECT_EQ(ds.num_users(), 2u);
  EXPECT_EQ(ds.num_items(), 3u);
  EXPECT_EQ(ItemOf(ds, "2").title, "Good, the Bad (1966)");
  EXPECT_EQ(ItemOf(ds, "3").title, "Quote \"Q\" (2001)");
  EXPECT_TRUE(ItemOf(ds, "3").categories.empty());  // "(no genres listed)"
  EXPECT_EQ(ItemOf(ds, "1").categories, (std::vector<std::string>{"Adventure", "Animation", "Children"}));
  EXPECT_EQ(ItemOf(ds, "1").text, "funny, pixar");  // tags to text, case-insensitive de-duplication
  EXPECT_EQ(ItemOf(ds, "2").text, "spaghetti western, classic");
  EXPECT_FLOAT_EQ(ds.events[1].value, 3.5f);
  ExpectConsistent(ds);
}

TEST(FormatsTest, MovieLens1m) {
  Dataset ds;
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kMovieLens1m, kFix + "ml-1m", Quiet(), ds, r).ok());
  EXPECT_EQ(r.accepted, 4u);
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.issues.at(0).reason, "wrong field count: expected 4 fields, got 2");
  ExpectCountsAddUp(r);
  EXPECT_EQ(ds.num_users(), 2u);
  EXPECT_EQ(ds.num_items(), 3u);
  EXPECT_EQ(ItemOf(ds, "661").categories, (std::vector<std::string>{"Animation", "Children's", "Musical"}));
  EXPECT_EQ(ItemOf(ds, "1193").title, "One Flew Over the Nest (1975)");
  EXPECT_EQ(ds.events[0].ts, 978300760);
  EXPECT_FLOAT_EQ(ds.events[0].value, 5);
}

TEST(FormatsTest, PairsWithSasRecMapping) {
  Dataset ds;
  ImportReport r;
  LoadOptions opt = Quiet();
  ASSERT_TRUE(LoadDataset(Format::kPairs, kFix + "ml-1m/pairs.txt", opt, ds, r).ok());
  EXPECT_EQ(ds.name, "pairs");
  EXPECT_FALSE(ds.has_timestamps);
  EXPECT_EQ(r.accepted, 7u);
  EXPECT_EQ(r.items_created, 0u);
  ExpectCountsAddUp(r);
  EXPECT_EQ(ds.num_users(), 3u);
  EXPECT_EQ(ds.num_items(), 4u);
  EXPECT_EQ(ItemOf(ds, "1").title, "One Flew Over the Nest (1975)");  // sas 1 -> MovieID 1193
  EXPECT_EQ(ItemOf(ds, "4").title, "Am\xC3\xA9lie Test (2001)");
  EXPECT_EQ(ItemOf(ds, "4").categories, (std::vector<std::string>{"Comedy", "Romance"}));
  EXPECT_EQ(ItemOf(ds, "4").type, "movie");
  // Synthetic times: base + position * step, per user.
  EXPECT_EQ(ds.events[0].ts, opt.synthetic_base);
  EXPECT_EQ(ds.events[2].ts, opt.synthetic_base + 2 * opt.synthetic_step);
  EXPECT_EQ(ds.events[3].ts, opt.synthetic_base);
  EXPECT_EQ(ds.events[6].ts, opt.synthetic_base);
  auto seqs = ds.UserItemSequences();
  ASSERT_EQ(seqs.size(), 3u);
  EXPECT_EQ(seqs[1].size(), 3u);
  EXPECT_EQ(ds.catalog.item(seqs[1][2]).id, "1");
  ExpectConsistent(ds);
}

TEST(FormatsTest, PlainPairs) {
  Dataset ds;
  ImportReport r;
  LoadOptions opt = Quiet();
  ASSERT_TRUE(LoadDataset(Format::kPairs, kFix + "pairs/plain.txt", opt, ds, r).ok());
  EXPECT_EQ(r.records_read, 6u);
  EXPECT_EQ(r.accepted, 5u);  // a repeated item later in the sequence is not a duplicate
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.issues.at(0).line, 5u);
  EXPECT_EQ(r.items_created, 3u);
  EXPECT_EQ(ds.num_users(), 2u);
  EXPECT_EQ(ds.events[4].ts, opt.synthetic_base + opt.synthetic_step);
  EXPECT_EQ(LoadDataset(Format::kPairs, kFix + "pairs", opt, ds, r).code(), StatusCode::kInvalidArgument);
}

TEST(FormatsTest, MaxEvents) {
  Dataset ds;
  ImportReport r;
  LoadOptions opt = Quiet();
  opt.max_events = 2;
  ASSERT_TRUE(LoadDataset(Format::kPairs, kFix + "ml-1m/pairs.txt", opt, ds, r).ok());
  EXPECT_EQ(ds.events.size(), 2u);
  Dataset ds2;
  ImportReport r2;
  ASSERT_TRUE(LoadDataset(Format::kSequences, kFix + "sequences/Toy.txt", opt, ds2, r2).ok());
  EXPECT_EQ(ds2.events.size(), 2u);
  Dataset ds3;
  ImportReport r3;
  ASSERT_TRUE(LoadDataset(Format::kVane, kFix + "vane", opt, ds3, r3).ok());
  EXPECT_EQ(ds3.events.size(), 2u);
}

TEST(FormatsTest, Sequences) {
  Dataset ds;
  ImportReport r;
  LoadOptions opt = Quiet();
  ASSERT_TRUE(LoadDataset(Format::kSequences, kFix + "sequences/Toy.txt", opt, ds, r).ok());
  EXPECT_EQ(ds.name, "Toy");
  EXPECT_FALSE(ds.has_timestamps);
  EXPECT_EQ(r.records_read, 10u);
  EXPECT_EQ(r.accepted, 9u);
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.issues.at(0).line, 3u);
  EXPECT_EQ(r.items_created, 0u);
  ExpectCountsAddUp(r);
  EXPECT_EQ(ds.num_users(), 3u);
  EXPECT_EQ(ds.num_items(), 4u);
  EXPECT_EQ(ItemOf(ds, "1").categories, (std::vector<std::string>{"attr:1", "attr:2"}));
  EXPECT_EQ(ItemOf(ds, "3").categories, (std::vector<std::string>{"attr:3", "attr:4", "attr:5"}));
  EXPECT_TRUE(ItemOf(ds, "4").categories.empty());
  EXPECT_EQ(ds.events[8].ts, opt.synthetic_base + 3 * opt.synthetic_step);
  ExpectConsistent(ds);
}

TEST(FormatsTest, YoochooseChallengeLayout) {
  Dataset ds;
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kYoochoose, kFix + "yoochoose", Quiet(), ds, r).ok());
  EXPECT_EQ(ds.actions.preset(), "ecommerce");
  EXPECT_EQ(r.records_read, 7u);
  EXPECT_EQ(r.accepted, 5u);
  EXPECT_EQ(r.rejected, 2u);
  EXPECT_EQ(r.issues.at(0).field, "ts");
  EXPECT_EQ(r.issues.at(1).field, "record");
  ExpectCountsAddUp(r);
  EXPECT_EQ(ds.num_users(), 2u);
  EXPECT_EQ(ds.sessions.size(), 2u);
  EXPECT_EQ(ds.num_items(), 4u);
  EXPECT_EQ(ds.events[0].ts, 1396867869);
  EXPECT_EQ(ActionName(ds, ds.events[0]), "click");
  EXPECT_EQ(ItemOf(ds, "214536506").categories, (std::vector<std::string>{"special offer"}));
  EXPECT_EQ(ItemOf(ds, "214662742").categories, (std::vector<std::string>{"cat:3"}));
  EXPECT_EQ(ItemOf(ds, "214536502").categories, (std::vector<std::string>{"brand:2053816390"}));
  EXPECT_TRUE(ItemOf(ds, "214536500").categories.empty());
  ExpectConsistent(ds);
}

TEST(FormatsTest, YoochoosePreparedTsv) {
  Dataset ds;
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kYoochoose, kFix + "yoochoose/prepared.txt", Quiet(), ds, r).ok());
  EXPECT_EQ(r.accepted, 3u);
  EXPECT_EQ(ds.num_users(), 2u);
  EXPECT_EQ(ds.events[0].ts, 1396860669);
  EXPECT_EQ(ds.users.Name(ds.events[2].user.v), "2");
}

// Found by fuzz/formats_fuzz.cc: a time of 1e300 was converted to int64 (undefined behaviour) instead of refused.
TEST(FormatsTest, YoochoosePreparedTsvRefusesTimesBeyondInt64) {
  const auto dir = std::filesystem::temp_directory_path() / "vane_formats_yoochoose_huge";
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "prepared.txt").string();
  {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("SessionId\tItemId\tTime\n1\t10\t1e300\n1\t11\t-1e19\n2\t12\t1396860669.5\n", f);
    std::fclose(f);
  }
  Dataset ds;
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kYoochoose, file, Quiet(), ds, r).ok());
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.rejected, 2u);
  ASSERT_FALSE(r.issues.empty());
  EXPECT_EQ(r.issues[0].field, "ts");
  ExpectCountsAddUp(r);
  ASSERT_EQ(ds.events.size(), 1u);
  EXPECT_EQ(ds.events[0].ts, 1396860669);
  std::filesystem::remove_all(dir);
}

TEST(FormatsTest, Diginetica) {
  Dataset ds;
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kDiginetica, kFix + "diginetica", Quiet(), ds, r).ok());
  EXPECT_EQ(r.accepted, 4u);
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.issues.at(0).field, "ts");
  ExpectCountsAddUp(r);
  ASSERT_EQ(ds.events.size(), 4u);
  EXPECT_EQ(ds.users.Name(ds.events[0].user.v), "s1");   // NA user: the session stands in
  EXPECT_EQ(ds.users.Name(ds.events[2].user.v), "278");
  EXPECT_EQ(ds.events[0].ts, 1462752000 + 526);
  EXPECT_EQ(ds.events[3].ts, 1462838400 + 1);
  EXPECT_EQ(ds.sessions.size(), 2u);
  EXPECT_EQ(ActionName(ds, ds.events[0]), "view");
}

TEST(FormatsTest, Taobao) {
  Dataset ds;
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kTaobao, kFix + "taobao/UserBehavior.csv", Quiet(), ds, r).ok());
  EXPECT_EQ(ds.actions.preset(), "ecommerce");
  EXPECT_EQ(r.accepted, 5u);
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_NE(r.issues.at(0).reason.find("unknown action: 'refund'"), std::string::npos);
  EXPECT_EQ(r.items_created, 0u);
  ExpectCountsAddUp(r);
  ASSERT_EQ(ds.events.size(), 5u);
  std::vector<std::string> actions;
  for (const Event& e : ds.events) actions.push_back(ActionName(ds, e));
  EXPECT_EQ(actions, (std::vector<std::string>{"view", "cart", "purchase", "like", "view"}));
  EXPECT_EQ(ds.num_items(), 2u);
  const Item& phone = ItemOf(ds, "9001");
  EXPECT_EQ(phone.title, "VIVOX100 Pro 128GB 蓝色");
  EXPECT_EQ(phone.type, "product");
  EXPECT_EQ(phone.categories, (std::vector<std::string>{"电子产品"}));
  EXPECT_FALSE(ds.catalog.keywords(*ds.catalog.Find("9002")).empty());
  bool has_brand = false;
  for (const auto& [k, v] : ItemOf(ds, "9002").attributes) has_brand |= k == "brand" && v == "全友";
  EXPECT_TRUE(has_brand);
}

TEST(FormatsTest, MissingPaths) {
  Dataset ds;
  ImportReport r;
  EXPECT_EQ(LoadDataset(Format::kMovieLens100k, kFix + "nowhere", Quiet(), ds, r).code(), StatusCode::kNotFound);
  Status s = LoadDataset(Format::kMovieLens1m, kFix + "sequences", Quiet(), ds, r);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("ratings.dat"), std::string::npos);
}

}  // namespace
}  // namespace vane
