// The converters on real public datasets (not in the repository): each test is skipped when its files under
// ../shared/datasets are absent. Slow label: they read up to a million events each.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "formats_test_util.h"
#include "vane/events/formats.h"

namespace vane {
namespace {

using testing::ExpectConsistent;
using testing::Quiet;

const std::string kShared = std::string(VANE_SHARED_DATASETS) + "/";

bool Have(const std::string& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

TEST(FormatsRealDataTest, Ml1mSasRec) {
  std::string p = kShared + "ml-1m/ml-1m_sasrec.txt";
  if (!Have(p)) GTEST_SKIP() << p << " absent";
  Dataset ds;
  ImportReport r;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(LoadDataset(Format::kPairs, p, Quiet(), ds, r).ok());
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("ml-1m_sasrec.txt loaded in %.3f s\n", sec);
  EXPECT_EQ(ds.num_users(), 6040u);
  EXPECT_EQ(ds.num_items(), 3416u);
  EXPECT_EQ(ds.events.size(), 999611u);
  EXPECT_EQ(r.rejected, 0u);
  EXPECT_EQ(r.items_created, 0u);
  for (size_t i = 0; i < ds.num_items(); ++i) {
    const Item& it = ds.catalog.item(ItemIdx(static_cast<uint32_t>(i)));
    ASSERT_FALSE(it.title.empty()) << it.id;
    ASSERT_FALSE(it.categories.empty()) << it.id;
  }
}

TEST(FormatsRealDataTest, S3RecBeauty) {
  std::string p = kShared + "s3rec-beauty/Beauty.txt";
  if (!Have(p)) GTEST_SKIP() << p << " absent";
  Dataset ds;
  ImportReport r;
  ASSERT_TRUE(LoadDataset(Format::kSequences, p, Quiet(), ds, r).ok());
  EXPECT_EQ(ds.num_users(), 22363u);
  EXPECT_EQ(ds.num_items(), 12101u);
  EXPECT_EQ(ds.events.size(), 198502u);
  EXPECT_EQ(r.items_created, 0u);  // every item has an attribute entry
  EXPECT_GT(ds.catalog.category_vocab().size(), 100u);
}

TEST(FormatsRealDataTest, OtherSamples) {
  struct Case {
    Format f;
    std::string path;
    size_t users, items, events;  // events = accepted + duplicates (exact repeats are dropped)
  };
  std::vector<Case> cases = {
      {Format::kMovieLens100k, kShared + "ml-100k", 943, 1682, 100000},
      {Format::kMovieLensCsv, kShared + "ml-latest-small", 610, 9724, 100836},
      {Format::kPairs, kShared + "amazon-beauty-bert4rec/beauty.txt", 40226, 54542, 353962},
      {Format::kYoochoose, kShared + "yoochoose-rsc15-100k-sample/yoochoose-clicks-100k_train_full.txt", 17794,
       2933, 70278},
      // SOURCE.md says 12,390 views; the file holds 12,391 data rows (its last line has no final newline).
      {Format::kDiginetica, kShared + "diginetica-sample-srgnn", 0, 7139, 12391},
      {Format::kTaobao, kShared + "taobao-behavior-zh-tianchi216549", 3990, 165, 40000},
  };
  for (const Case& c : cases) {
    if (!Have(c.path)) continue;
    SCOPED_TRACE(c.path);
    Dataset ds;
    ImportReport r;
    ASSERT_TRUE(LoadDataset(c.f, c.path, Quiet(), ds, r).ok());
    EXPECT_EQ(r.rejected, 0u);
    EXPECT_EQ(r.accepted + r.duplicates, c.events);
    std::printf("%s: %zu users, %zu items, %zu events, %llu duplicates\n", c.path.c_str(), ds.num_users(),
                ds.num_items(), ds.events.size(), static_cast<unsigned long long>(r.duplicates));
    if (c.users) {
      EXPECT_EQ(ds.num_users(), c.users);
    }
    EXPECT_EQ(ds.num_items(), c.items);
    ExpectConsistent(ds);
  }
}

}  // namespace
}  // namespace vane
