// The model reads events, not just items: searches are positions (their query text is the input), each position
// carries its action and the time since the previous event, a keyword head predicts the next item's keywords, and
// subword embeddings can start from pre-trained word vectors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "test_util.h"
#include "vane/model/infer.h"
#include "vane/model/interest_text.h"
#include "vane/model/seq_model.h"
#include "vane/text/word_vectors.h"

namespace vane {
namespace {

SeqModelConfig Small() {
  SeqModelConfig c;
  c.dim = 16;
  c.layers = 1;
  c.heads = 2;
  c.max_len = 8;
  c.dropout = 0.0f;
  c.epochs = 40;
  c.batch = 32;
  c.lr = 1e-2f;
  c.warmup_steps = 5;
  c.patience = 40;
  c.eval_users = 0;
  c.threads = 1;
  c.side_dropout = 0.0f;
  return c;
}

uint64_t Next(uint64_t& x) {
  x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x >> 33;
}

size_t ArgMax(const std::vector<float>& v) { return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin()); }

TEST(GapBucket, BucketsAreOrderedAndBounded) {
  EXPECT_EQ(GapBucket(-5), 0);
  EXPECT_EQ(GapBucket(0), 1);
  EXPECT_EQ(GapBucket(9), 1);
  EXPECT_EQ(GapBucket(10), 2);
  EXPECT_EQ(GapBucket(59), 2);
  EXPECT_EQ(GapBucket(3599), 4);
  EXPECT_EQ(GapBucket(86400), 7);
  EXPECT_EQ(GapBucket(365LL * 86400), 9);
  EXPECT_EQ(PackSide(3, 4), (3 << 4) | 4);
  EXPECT_EQ(ActionSlot(0), 1);
  EXPECT_EQ(ActionSlot(40), 15);
}

TEST(MakeSeqSplit, SearchesArePositionsAndTargetsAreItems) {
  Dataset ds = testing::TwoTopicDataset();
  testing::Ev(ds, "u", "r0", "view", 1000);
  testing::Ev(ds, "u", "", "search", 1005, "hiking boots");
  testing::Ev(ds, "u", "h1", "view", 1100);
  testing::Ev(ds, "u", "h2", "cart", 5000);
  testing::Ev(ds, "u", "", "search", 5001, "alpine");
  testing::Ev(ds, "u", "h3", "purchase", 5002);
  const uint32_t N = static_cast<uint32_t>(ds.num_items());
  SeqSplit s = MakeSeqSplit(ds, true);
  ASSERT_EQ(s.train.size(), 1u);
  EXPECT_EQ(s.num_queries, 2u);
  // Items r0 h1 h2 h3: validation = h2, test = h3; train = r0, search, h1.
  std::vector<uint32_t> want = {ds.catalog.Find("r0")->v, N + 0, ds.catalog.Find("h1")->v};
  EXPECT_EQ(s.train[0], want);
  EXPECT_EQ(s.val_target[0], ds.catalog.Find("h2")->v);
  EXPECT_EQ(s.test_target[0], ds.catalog.Find("h3")->v);
  ASSERT_EQ(s.side[0].size(), 3u);
  // Actions vary, times are known: first event gap unknown, the search 5 s later (< 10 s), h1 95 s later (< 10 min).
  EXPECT_EQ(s.side[0][0], PackSide(ActionSlot(*ds.actions.Find("view")), 0));
  EXPECT_EQ(s.side[0][1], PackSide(ActionSlot(*ds.actions.Find("search")), 1));
  EXPECT_EQ(s.side[0][2], PackSide(ActionSlot(*ds.actions.Find("view")), 3));
  EXPECT_EQ(s.val_side[0], PackSide(ActionSlot(*ds.actions.Find("cart")), 5));  // 3,900 s: < 6 h
  // Without searches the sequence is the evaluator's item sequence.
  SeqSplit items = MakeSeqSplit(ds, false);
  EXPECT_EQ(items.train[0].size(), 2u);
  EXPECT_EQ(items.num_queries, 0u);
}

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

TEST(WordVectors, ReadsTheTextFormatAndKeepsOnlyWantedWords) {
  auto wv = text::LoadWordVectors(std::string(VANE_FIXTURES) + "/vectors/tiny.vec",
                                  [](const std::string& w) { return w != "unused"; });
  ASSERT_TRUE(wv.ok()) << wv.status().ToString();
  EXPECT_EQ(wv->dim, 4);
  EXPECT_EQ(wv->lines, 5u);
  EXPECT_EQ(wv->vectors.size(), 4u);
  EXPECT_EQ(wv->vectors.count("unused"), 0u);
  ASSERT_EQ(wv->vectors.count("越野"), 1u);
  EXPECT_FLOAT_EQ(wv->vectors.at("越野")[3], 1.0f);
}

TEST(WordVectors, MalformedFilesNameTheLineAndTheProblem) {
  auto all = [](const std::string&) { return true; };
  auto ragged = text::LoadWordVectors(std::string(VANE_FIXTURES) + "/vectors/ragged.vec", all);
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.status().message().find("ragged.vec:2: word 'beta' has 2 values, expected 3"), std::string::npos)
      << ragged.status().ToString();
  // A bad value is an error even in a line nobody wanted.
  auto notnum = text::LoadWordVectors(std::string(VANE_FIXTURES) + "/vectors/notnum.vec",
                                      [](const std::string& w) { return w == "alpha"; });
  ASSERT_FALSE(notnum.ok());
  EXPECT_NE(notnum.status().message().find("notnum.vec:2: value 2 of word 'beta' is not a number: 'x1'"),
            std::string::npos)
      << notnum.status().ToString();
  EXPECT_FALSE(text::LoadWordVectors("/nonexistent/x.vec", all).ok());
}

// Pre-trained vectors set the starting subword embeddings: two pieces with near-parallel vectors start near-parallel,
// at the random initialisation's scale; pieces without a vector keep the random start.
TEST(WordVectors, InitialiseTheSubwordTable) {
  SeqSplit s;
  for (int u = 0; u < 4; ++u) {
    s.train.push_back({0, 1, 2});
    s.val_target.push_back(UINT32_MAX);
    s.test_target.push_back(UINT32_MAX);
  }
  ItemText text;
  text.vocab_size = 4;
  text.pieces = {{0}, {1}, {2}};
  text.init_dim = 3;  // differs from the width: projected
  text.init = {1, 0, 0, /*1*/ 0.99f, 0.05f, 0, /*2*/ 0, 0, 1, /*3*/ 0, 0, 0};
  text.init_known = {1, 1, 1, 0};
  SeqModelConfig c = Small();
  c.epochs = 1;
  c.lr = 1e-12f;  // training leaves the table where it started
  auto m = SeqModel::Train(s, 3, c, nullptr, false, &text);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  SeqWeights w = m->Export();
  ASSERT_EQ(w.vocab, 4);
  auto row = [&](int p) { return std::vector<float>(w.sub.begin() + p * w.dim, w.sub.begin() + (p + 1) * w.dim); };
  auto cosine = [](const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      d += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return d / std::sqrt(na * nb);
  };
  EXPECT_GT(cosine(row(0), row(1)), 0.95);
  EXPECT_LT(std::abs(cosine(row(0), row(2))), 0.6);
  double sq = 0;
  for (float v : row(0)) sq += v * v;
  EXPECT_NEAR(std::sqrt(sq), 0.02 * std::sqrt(16.0), 1e-3);  // the random initialisation's row norm
}

}  // namespace
}  // namespace vane
