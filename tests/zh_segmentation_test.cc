// Chinese segmentation measured against the hand-segmented gold set (tests/fixtures/zh_seg/), and the keywords the
// demo catalogue shows checked word by word against the gold vocabulary. The dictionary tests need jieba's
// dictionary (python3-jieba, or $VANE_ZH_DICT) and skip with a message without it.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "vane/eval/capture.h"
#include "vane/gen/generator.h"
#include "vane/text/seg_eval.h"
#include "vane/text/segmenter.h"
#include "vane/text/tokenize.h"

namespace vane::text {
namespace {

const char* kNoDictionary =
    "no Chinese dictionary (install python3-jieba or set VANE_ZH_DICT): the segmentation figures are not checked";

// The frozen held-out part (README.md there): measured and reported on its own, never part of AllGold().
const char* kHeldOut = VANE_FIXTURES "/zh_seg/gold_heldout.txt";

// The demo catalogue's part and the dev part (every gold file but the held-out one).
std::vector<GoldEntry> AllGold() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(VANE_FIXTURES "/zh_seg"))
    if (e.path().extension() == ".txt" && e.path() != std::filesystem::path(kHeldOut))
      files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<GoldEntry> all;
  for (const auto& f : files) {
    auto g = LoadGold(f);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    if (g.ok()) all.insert(all.end(), g->begin(), g->end());
  }
  return all;
}

TokenizeOptions EveryWord(bool bigrams) {
  TokenizeOptions o;
  o.drop_stopwords = false;
  o.min_word_len = 1;
  o.zh_bigrams = bigrams;
  return o;
}

SegReport Score(const std::vector<GoldEntry>& gold, bool bigrams) {
  auto opt = EveryWord(bigrams);
  auto rep = ScoreSegmentation(gold, [&](std::string_view s) { return Tokenize(s, opt); });
  EXPECT_TRUE(rep.ok()) << rep.status().ToString();
  return rep.ok() ? *rep : SegReport{};
}

TEST(ZhGold, FixtureIsLargeAndCoversTitlesQueriesAndTheDemo) {
  auto gold = AllGold();
  size_t queries = 0, titles = 0, demo = 0;
  for (const auto& e : gold) {
    queries += e.group.find("query") != std::string::npos;
    titles += e.group.find("title") != std::string::npos;
    demo += e.group.rfind("demo", 0) == 0;
    EXPECT_TRUE(HasHan(e.text)) << "line " << e.line << ": " << e.text;
  }
  EXPECT_GE(gold.size(), 200u);
  EXPECT_GE(queries, 50u);
  EXPECT_GE(titles, 100u);
  EXPECT_GE(demo, 50u);
}

TEST(ZhGold, MarkedTextParsing) {
  std::string text;
  std::vector<std::string> words;
  ASSERT_TRUE(ParseMarked("华为/智能/手表 蓝牙/通话，好", text, words).ok());
  EXPECT_EQ(text, "华为智能手表 蓝牙通话，好");
  EXPECT_EQ(words, (std::vector<std::string>{"华为", "智能", "手表", "蓝牙", "通话", "好"}));
  EXPECT_FALSE(ParseMarked("华为//手表", text, words).ok());
  EXPECT_FALSE(ParseMarked("/手表", text, words).ok());
  EXPECT_FALSE(ParseMarked("手表/", text, words).ok());
  EXPECT_FALSE(ParseMarked("手表/ 蓝牙", text, words).ok());
  EXPECT_FALSE(ParseMarked("\xC3", text, words).ok());
  EXPECT_FALSE(ParseMarked("，", text, words).ok());
}

TEST(ZhGold, ScoringIsSpanBased) {
  std::vector<GoldEntry> gold(1);
  ASSERT_TRUE(ParseMarked("北京/大学/生", gold[0].text, gold[0].words).ok());
  auto rep = ScoreSegmentation(gold, [](std::string_view) { return std::vector<std::string>{"北京", "大学生"}; });
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->all.gold, 3u);
  EXPECT_EQ(rep->all.system, 2u);
  EXPECT_EQ(rep->all.correct, 1u);  // 大学生 spans 大学 + 生: no credit for either
  // Dropped text costs recall; a token that is not in the text cannot be placed.
  auto part = ScoreSegmentation(gold, [](std::string_view) { return std::vector<std::string>{"北京"}; });
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->all.correct, 1u);
  EXPECT_EQ(part->all.system, 1u);
  auto bad = ScoreSegmentation(gold, [](std::string_view) { return std::vector<std::string>{"上海"}; });
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
  // Overlapping tokens (bigrams) are placed one character apart: 北京 京大 大学 学生 -> 北京 and 大学 are right.
  auto bi = ScoreSegmentation(gold, [](std::string_view) {
    return std::vector<std::string>{"北京", "京大", "大学", "学生"};
  });
  ASSERT_TRUE(bi.ok());
  EXPECT_EQ(bi->all.system, 4u);
  EXPECT_EQ(bi->all.correct, 2u);
}

TEST(ZhGold, DictionarySegmentationMeetsTheTarget) {
  if (!DefaultSegmenter()) GTEST_SKIP() << kNoDictionary;
  auto gold = AllGold();
  SegReport rep = Score(gold, false);
  for (const auto& [g, s] : rep.by_group)
    std::cout << fmt::format("  {:18} P {:.3f} R {:.3f} ({} gold words)\n", g, s.precision(), s.recall(), s.gold);
  std::cout << fmt::format("  all: P {:.3f} R {:.3f} over {} gold words\n", rep.all.precision(), rep.all.recall(),
                           rep.all.gold);
  EXPECT_GE(rep.all.precision(), 0.90);
  EXPECT_GE(rep.all.recall(), 0.90);
  EXPECT_GT(rep.all.gold, 800u);
  // The dev part (without the demo catalogue's own word lists): the .90 target, and a floor just under today's
  // .957 / .946 (BENCHMARKS.md section 13) so that it cannot get worse unnoticed.
  SegScore general;
  for (const auto& [g, s] : rep.by_group) {
    if (g.rfind("demo", 0) == 0) continue;
    general.gold += s.gold;
    general.system += s.system;
    general.correct += s.correct;
  }
  EXPECT_GT(general.gold, 500u);
  EXPECT_GE(general.precision(), 0.95);
  EXPECT_GE(general.recall(), 0.94);
}

// The held-out part, which no rule or dictionary word was chosen on: its figures are reported here, with a floor just
// under today's (BENCHMARKS.md section 13) so that they cannot get worse unnoticed.
TEST(ZhGold, HeldOutPart) {
  auto gold = LoadGold(kHeldOut);
  ASSERT_TRUE(gold.ok()) << gold.status().ToString();
  EXPECT_GE(gold->size(), 200u);
  for (const auto& e : *gold) EXPECT_EQ(e.group.rfind("demo", 0), std::string::npos) << "line " << e.line;
  if (!DefaultSegmenter()) GTEST_SKIP() << kNoDictionary;
  SegReport rep = Score(*gold, false);
  std::cout << fmt::format("  held-out: P {:.3f} R {:.3f} over {} gold words\n", rep.all.precision(),
                           rep.all.recall(), rep.all.gold);
  EXPECT_GT(rep.all.gold, 900u);
  EXPECT_GE(rep.all.precision(), 0.90);  // .911 measured
  EXPECT_GE(rep.all.recall(), 0.89);     // .895 measured: under the .90 target
}

// The negative control: character bigrams, the old tokenisation, do not reach the target on the same gold set.
TEST(ZhGold, BigramsMissTheTarget) {
  SegReport rep = Score(AllGold(), true);
  EXPECT_LT(rep.all.precision(), 0.90);
  EXPECT_GT(rep.all.system, 0u);
}

// Every Chinese keyword of the demo data (the catalogue `vane demo` loads: items and searches; the interest graph's
// and the model's keywords are drawn from this vocabulary) is a word of the gold set.
class ZhDemo : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!DefaultSegmenter()) GTEST_SKIP() << kNoDictionary;
    gen::GenOptions go;  // the demo's data: seed 42, 300 users
    gen::Generated g = gen::Generate(go);
    ImportReport report;
    ASSERT_TRUE(BuildGeneratedDataset(g, ds_, report).ok());
  }
  std::vector<std::string> HanKeywords() const {
    std::vector<std::string> out;
    const Vocab& v = ds_.catalog.keyword_vocab();
    for (uint32_t k = 0; k < v.size(); ++k)
      if (HasHan(v.Name(k))) out.emplace_back(v.Name(k));
    return out;
  }
  Dataset ds_;
};

TEST_F(ZhDemo, EveryChineseKeywordIsAGoldWord) {
  auto vocab = GoldVocabulary(AllGold());
  auto kws = HanKeywords();
  std::vector<std::string> bad;
  for (const auto& k : kws)
    if (!vocab.count(k)) bad.push_back(k);
  EXPECT_GE(kws.size(), 150u);  // the demo's 25 topics have 150 Chinese words
  EXPECT_TRUE(bad.empty()) << bad.size() << " of " << kws.size()
                           << " keywords are not gold words: " << fmt::format("{}", fmt::join(bad, " "));
}

TEST_F(ZhDemo, NoCharacterFragmentsAmongKeywords) {
  auto kws = HanKeywords();
  for (const char* frag : {"机安", "录片", "子烧", "拌机", "术馆"})
    EXPECT_EQ(std::find(kws.begin(), kws.end(), frag), kws.end()) << frag;
  EXPECT_NE(std::find(kws.begin(), kws.end(), "纪录片"), kws.end());
  EXPECT_NE(std::find(kws.begin(), kws.end(), "美术馆"), kws.end());
}

// The negative control: the same check on the old tokenisation (character bigrams) finds fragments.
TEST(ZhDemoBigrams, TheOldTokenisationFailsTheCheck) {
  SetDefaultSegmenter(nullptr);  // this process only (ctest runs each test on its own)
  gen::Generated g = gen::Generate(gen::GenOptions{});
  Dataset ds;
  ImportReport report;
  ASSERT_TRUE(BuildGeneratedDataset(g, ds, report).ok());
  auto vocab = GoldVocabulary(AllGold());
  const Vocab& v = ds.catalog.keyword_vocab();
  size_t han = 0, bad = 0;
  bool fragment = false;
  for (uint32_t k = 0; k < v.size(); ++k) {
    if (!HasHan(v.Name(k))) continue;
    ++han;
    bad += !vocab.count(std::string(v.Name(k)));
    fragment |= v.Name(k) == "录片";
  }
  EXPECT_GT(han, 150u);
  EXPECT_GT(bad, 20u);  // 47 measured
  EXPECT_TRUE(fragment);
}

TEST_F(ZhDemo, TitlesSegmentIntoTheirWords) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Tokenize("Blender kettle Pro 搅拌机水壶"), (V{"blender", "kettle", "pro", "搅拌机", "水壶"}));
  EXPECT_EQ(Tokenize("手机安卓"), (V{"手机", "安卓"}));
  EXPECT_EQ(Tokenize("纪录片火山"), (V{"纪录片", "火山"}));
  EXPECT_EQ(Tokenize("饺子烧烤"), (V{"饺子", "烧烤"}));
}

}  // namespace
}  // namespace vane::text
