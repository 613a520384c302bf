// The model reads events, not just items (slow label: each test trains a model until it has learnt a planted
// pattern): a search decides what comes next, the action changes the prediction, and the keyword head names the
// next item's keyword.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "model_test_util.h"
#include "vane/model/infer.h"
#include "vane/model/interest_text.h"
#include "vane/model/seq_model.h"

namespace vane {
namespace {

using testing::Small;

uint64_t Next(uint64_t& x) {
  x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x >> 33;
}

size_t ArgMax(const std::vector<float>& v) { return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin()); }

// Users search for "alpha" or "beta", then pick an item of that group; before the search they browsed at random.
// Only the query says which group comes next, so a model that reads searches must get the group right.
TEST(SeqModelEvents, ASearchDecidesWhatComesNext) {
  const uint32_t N = 16;  // items 0..7 alpha, 8..15 beta
  SeqSplit s;
  s.num_queries = 2;
  uint64_t x = 11;
  for (int u = 0; u < 300; ++u) {
    std::vector<uint32_t> q;
    for (int k = 0; k < 3; ++k) q.push_back(static_cast<uint32_t>(Next(x) % N));
    uint32_t g = static_cast<uint32_t>(Next(x) % 2);
    q.push_back(N + g);                                              // the search
    q.push_back(g * 8 + static_cast<uint32_t>(Next(x) % 8));         // an item of the searched group
    s.train.push_back(q);
    s.val_target.push_back(UINT32_MAX);
    s.test_target.push_back(UINT32_MAX);
  }
  ItemText text;
  text.vocab_size = 4;  // 0 "alpha", 1 "beta", 2/3 noise
  for (uint32_t i = 0; i < N; ++i) text.pieces.push_back({static_cast<int>(2 + i % 2)});
  text.query_pieces = {{0}, {1}};
  auto m = SeqModel::Train(s, N, Small(), nullptr, false, &text);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->num_queries(), 2u);
  std::vector<float> sc;
  for (uint32_t g = 0; g < 2; ++g) {
    std::vector<uint32_t> hist = {3, 12, 5, N + g};
    m->Score(hist, sc);
    ASSERT_EQ(sc.size(), N);
    size_t top = ArgMax(sc);
    EXPECT_EQ(top / 8, g) << "after searching group " << g;
  }
  // Plain C++ inference agrees, by token and by pieces (a query the serving side embeds from its text).
  SeqInference inf = SeqInference::FromModel(*m);
  for (uint32_t g = 0; g < 2; ++g) {
    SeqInference::State a, b;
    std::vector<uint32_t> hist = {3, 12, 5};
    for (uint32_t t : hist) {
      inf.Append(a, t);
      inf.Append(b, t);
    }
    inf.Append(a, N + g);
    std::vector<int> pieces = {static_cast<int>(g)};
    ASSERT_TRUE(inf.AppendQuery(b, pieces));
    hist.push_back(N + g);
    std::vector<float> ref, fa, fb;
    m->Score(hist, ref);
    inf.Score(a, fa);
    inf.Score(b, fb);
    for (size_t i = 0; i < N; ++i) {
      EXPECT_NEAR(fa[i], ref[i], 1e-4);
      EXPECT_NEAR(fb[i], ref[i], 1e-4);
    }
  }
  // A model whose searches have no text is refused with a clear error.
  auto bad = SeqModel::Train(s, N, Small(), nullptr, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("neither an item"), std::string::npos) << bad.status().ToString();
}

// After item 0, users who "liked" it go on to item 1, users who only "viewed" it go to item 2. The item alone does
// not say which: the action embedding must.
TEST(SeqModelEvents, TheActionChangesThePrediction) {
  const uint32_t N = 6;
  const uint8_t view = PackSide(1, 0), like = PackSide(2, 0);
  SeqSplit s;
  uint64_t x = 5;
  for (int u = 0; u < 300; ++u) {
    std::vector<uint32_t> q;
    std::vector<uint8_t> sd;
    for (int k = 0; k < 3; ++k) {
      q.push_back(3 + static_cast<uint32_t>(Next(x) % 3));
      sd.push_back(view);
    }
    bool liked = Next(x) % 2;
    q.push_back(0);
    sd.push_back(liked ? like : view);
    q.push_back(liked ? 1 : 2);
    sd.push_back(view);
    s.train.push_back(q);
    s.side.push_back(sd);
    s.val_target.push_back(UINT32_MAX);
    s.test_target.push_back(UINT32_MAX);
  }
  auto m = SeqModel::Train(s, N, Small(), nullptr, false);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<uint32_t> hist = {4, 3, 5, 0};
  std::vector<uint8_t> liked = {view, view, view, like}, viewed = {view, view, view, view};
  std::vector<float> a, b;
  m->Score(SeqInput{hist, liked}, a);
  m->Score(SeqInput{hist, viewed}, b);
  EXPECT_EQ(ArgMax(a), 1u);
  EXPECT_EQ(ArgMax(b), 2u);
  // Incremental inference reads the same side bytes; save/load keeps the side tables.
  SeqInference inf = SeqInference::FromModel(*m);
  SeqInference::State st;
  for (size_t k = 0; k < hist.size(); ++k) inf.Append(st, hist[k], liked[k]);
  std::vector<float> fast;
  inf.Score(st, fast);
  for (size_t i = 0; i < N; ++i) EXPECT_NEAR(fast[i], a[i], 1e-4);
  auto dir = (std::filesystem::temp_directory_path() / "vane_model_side_test").string();
  ASSERT_TRUE(m->Save(dir).ok());
  auto back = SeqModel::Load(dir);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::vector<float> c;
  back->Score(SeqInput{hist, liked}, c);
  for (size_t i = 0; i < N; ++i) EXPECT_FLOAT_EQ(c[i], a[i]);
  std::filesystem::remove_all(dir);
}

// Items 0..4 carry keyword "tent", 5..9 "kayak"; sequences stay in one group. The keyword head must name the
// group's keyword, in both inference paths and in the interest text.
TEST(SeqModelEvents, TheKeywordHeadNamesTheNextItemsKeyword) {
  const uint32_t N = 10;
  SeqSplit s;
  uint64_t x = 9;
  for (int u = 0; u < 200; ++u) {
    uint32_t base = (u % 2) ? 5 : 0;
    std::vector<uint32_t> q;
    for (int k = 0; k < 6; ++k) q.push_back(base + static_cast<uint32_t>(Next(x) % 5));
    s.train.push_back(q);
    s.val_target.push_back(UINT32_MAX);
    s.test_target.push_back(UINT32_MAX);
  }
  ItemKeywords kw;
  kw.names = {"tent", "kayak", "gear"};
  for (uint32_t i = 0; i < N; ++i) kw.ids.push_back({i < 5 ? 0 : 1, 2});
  SeqModelConfig c = Small();
  c.keyword_weight = 0.5f;
  auto m = SeqModel::Train(s, N, c, nullptr, false, nullptr, nullptr, &kw);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->keyword_names(), kw.names);
  std::vector<uint32_t> kayak_hist = {6, 8, 5};
  auto p = m->PredictKeywords(SeqInput{kayak_hist, {}});
  ASSERT_EQ(p.size(), 3u);
  // "gear" belongs to every item, so it is as likely as the group keyword; "tent" must be far behind "kayak".
  EXPECT_GT(p[1], 3 * p[0]);
  SeqInference inf = SeqInference::FromModel(*m);
  SeqInference::State st;
  for (uint32_t t : kayak_hist) inf.Append(st, t);
  std::vector<float> q;
  inf.Keywords(st, q);
  ASSERT_EQ(q.size(), 3u);
  for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(q[k], p[k], 1e-4);
  ModelInterest mi;
  AddModelKeywords(mi, p, m->keyword_names());
  EXPECT_NE(mi.text_en.find("kayak"), std::string::npos) << mi.text_en;
  EXPECT_EQ(mi.text_en.find("tent"), std::string::npos) << mi.text_en;
  EXPECT_NE(mi.text_zh.find("kayak"), std::string::npos) << mi.text_zh;
}

}  // namespace
}  // namespace vane
