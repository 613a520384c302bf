// The dictionary segmenter against brute-force oracles (every segmentation of a sentence scored; every HMM state
// sequence scored), the parsers of its files against malformed input, and the process default's fallback.
#include "vane/text/segmenter.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "../src/text/hmm.h"
#include "test_util.h"
#include "vane/text/tokenize.h"

namespace vane::text {
namespace {

using V = std::vector<std::string>;

std::vector<std::string> Chars(std::string_view s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t at = i;
    DecodeUtf8(s, i);
    out.emplace_back(s.substr(at, i - at));
  }
  return out;
}

// The score of a segmentation: a piece scores log(freq / total) when it is a word of the dictionary and
// log(1 / total) when it is a single character; any other piece makes it invalid (-inf).
double ScoreOf(const std::vector<std::pair<std::string, double>>& dict, const V& seg) {
  std::map<std::string, double> f;
  double total = 0;
  for (auto& [w, fr] : dict) {
    f[w] = fr;
    total += fr;
  }
  double score = 0;
  for (const auto& piece : seg) {
    auto it = f.find(piece);
    if (it != f.end() && it->second > 0)
      score += std::log(it->second / total);
    else if (Chars(piece).size() == 1)
      score += std::log(1.0 / total);
    else
      return -INFINITY;
  }
  return score;
}

// Best segmentation by enumerating all 2^(n-1) cuts, scored as ScoreOf does.
V BruteForce(const std::vector<std::pair<std::string, double>>& dict, std::string_view s) {
  std::map<std::string, double> f;
  double total = 0;
  for (auto& [w, fr] : dict) {
    f[w] = fr;
    total += fr;
  }
  auto ch = Chars(s);
  const size_t n = ch.size();
  double best = -INFINITY;
  V best_seg;
  for (uint32_t mask = 0; mask < (1u << (n - 1)); ++mask) {
    V seg;
    std::string cur = ch[0];
    size_t cur_len = 1;
    double score = 0;
    bool ok = true;
    auto close = [&] {
      auto it = f.find(cur);
      if (it != f.end() && it->second > 0)
        score += std::log(it->second / total);
      else if (cur_len == 1)
        score += std::log(1.0 / total);
      else
        ok = false;
      seg.push_back(cur);
    };
    for (size_t k = 1; k < n; ++k) {
      if (mask & (1u << (k - 1))) {
        close();
        cur = ch[k];
        cur_len = 1;
      } else {
        cur += ch[k];
        ++cur_len;
      }
    }
    close();
    if (ok && score > best + 1e-9) {
      best = score;
      best_seg = seg;
    }
  }
  return best_seg;
}

TEST(Segmenter, MaxProbabilityPathEqualsBruteForce) {
  const std::vector<std::string> alphabet = {"北", "京", "大", "学", "生", "活", "动"};
  std::mt19937_64 rng(7);
  std::vector<std::pair<std::string, double>> dict;
  // Random words of 2-4 characters with random frequencies (some share prefixes, some are prefixes of others).
  for (int i = 0; i < 40; ++i) {
    std::string w;
    int len = 2 + static_cast<int>(rng() % 3);
    for (int k = 0; k < len; ++k) w += alphabet[rng() % alphabet.size()];
    dict.emplace_back(w, 1 + static_cast<double>(rng() % 1000));
  }
  for (const auto& c : alphabet) dict.emplace_back(c, 1 + static_cast<double>(rng() % 500));
  Segmenter seg = Segmenter::FromWords(dict);
  int differing_from_chars = 0;
  for (int t = 0; t < 300; ++t) {
    std::string s;
    int len = 1 + static_cast<int>(rng() % 10);
    for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    V got = seg.Cut(s, false);
    V want = BruteForce(dict, s);
    std::string joined;
    for (const auto& w : got) joined += w;
    EXPECT_EQ(joined, s);
    // Equal scores (several best paths tie exactly, e.g. 动动/动 and 动/动动) are both right.
    EXPECT_NEAR(ScoreOf(dict, got), ScoreOf(dict, want), 1e-9) << s;
    differing_from_chars += got != Chars(s);
  }
  EXPECT_GT(differing_from_chars, 100);  // the dictionary's words were used, not just characters
}

TEST(Segmenter, KnownWordsAndUnknownCharacters) {
  Segmenter seg = Segmenter::FromWords({{"北京", 100}, {"大学", 80}, {"北京大学", 60}, {"生活", 50}, {"学生", 70}});
  EXPECT_EQ(seg.Cut("北京大学生活", false), (V{"北京大学", "生活"}));
  EXPECT_EQ(seg.Cut("猫北京", false), (V{"猫", "北京"}));  // an unknown character is a word of its own
  EXPECT_EQ(seg.Cut("", false), V{});
  EXPECT_EQ(seg.Frequency("北京"), 100);
  EXPECT_EQ(seg.Frequency("北"), 0);  // a prefix, not a word
  EXPECT_EQ(seg.stats().words, 5u);
}

// The compound convention: a dictionary word rarer than 0.15 times the rarest of its (two-character or longer)
// parts is cut into them; one about as frequent as its parts stays whole.
TEST(SegmenterCompounds, RareCompoundsOfWordsAreSplitFrequentOnesKept) {
  Segmenter seg = Segmenter::FromWords({{"笔记本", 930},
                                        {"电脑", 3427},
                                        {"笔记本电脑", 100},
                                        {"人工", 2816},
                                        {"智能", 778},
                                        {"人工智能", 151},
                                        {"支架", 500},
                                        {"的", 6e7}});  // jieba's total is about 6e7: its route keeps compounds
  EXPECT_EQ(seg.Cut("笔记本电脑支架", false), (V{"笔记本电脑", "支架"}));  // off unless asked for
  seg.set_split_compounds(true);
  EXPECT_EQ(seg.Cut("笔记本电脑支架", false), (V{"笔记本", "电脑", "支架"}));         // 100 < .15 * 930
  EXPECT_EQ(seg.Cut("人工智能", false), (V{"人工智能"}));                             // 151 >= .15 * 778
  EXPECT_EQ(seg.Cut("笔记本电脑人工智能", true), (V{"笔记本", "电脑", "人工智能"}));  // no HMM loaded: same
}

TEST(SegmenterCompounds, PartsAreCutAgainAndSingleCharactersAreNotParts) {
  Segmenter seg = Segmenter::FromWords({{"国家", 1000},
                                        {"森林", 1000},
                                        {"公园", 1000},
                                        {"森林公园", 50},
                                        {"国家森林公园", 5},
                                        {"大", 5000},
                                        {"容量", 1000},
                                        {"大容量", 7},
                                        {"保温", 800},
                                        {"杯", 900},
                                        {"保温杯", 4},
                                        {"的", 6e7}});
  seg.set_split_compounds(true);
  // 5 < .15 * 50: 国家 + 森林公园; then 50 < .15 * 1000: 森林 + 公园.
  EXPECT_EQ(seg.Cut("国家森林公园", false), (V{"国家", "森林", "公园"}));
  // Three characters cannot be two words of two: 保温杯 (4) stays whole however frequent 保温 is.
  EXPECT_EQ(seg.Cut("保温杯", false), (V{"保温杯"}));
}

// 大 and 全 used freely (the standard's 大/屏幕, 全/套): split from the word after them when the entry is rarer than
// .02 times that word; other one-character modifiers are left alone.
TEST(SegmenterCompounds, FreeModifiersDaAndQuan) {
  Segmenter seg = Segmenter::FromWords({{"大", 5000},
                                        {"全", 3000},
                                        {"容量", 1102},
                                        {"大容量", 7},
                                        {"过程", 18051},
                                        {"全过程", 254},
                                        {"多数", 4471},
                                        {"大多数", 3609},
                                        {"能源", 2232},
                                        {"新能源", 3},
                                        {"的", 6e7}});
  EXPECT_EQ(seg.Cut("大容量", false), (V{"大容量"}));
  seg.set_split_compounds(true);
  EXPECT_EQ(seg.Cut("大容量", false), (V{"大", "容量"}));  // 7 < .02 * 1102
  EXPECT_EQ(seg.Cut("全过程", false), (V{"全", "过程"}));  // 254 < .02 * 18051
  EXPECT_EQ(seg.Cut("大多数", false), (V{"大多数"}));      // 3609: a word of its own
  EXPECT_EQ(seg.Cut("新能源", false), (V{"新能源"}));      // 新 is not one of them
  ASSERT_TRUE(seg.AddWords("大容量\n", "test").ok());      // an added word stays whole
  EXPECT_EQ(seg.Cut("大容量", false), (V{"大容量"}));
}

// The numeral convention on stub entries: a numeral, one measure word and what follows are three words (六/日/游)
// when the dictionary lists the whole at its stub frequency; a counted entry (一日游 109) keeps its tail.
TEST(SegmenterCompounds, StubNumeralEntriesAreCutAfterTheMeasureWord) {
  Segmenter seg = Segmenter::FromWords(
      {{"六", 1000}, {"一", 5000}, {"日", 1000}, {"游", 800}, {"六日游", 3}, {"一日游", 109}, {"的", 6e7}});
  EXPECT_EQ(seg.Cut("六日游", false), (V{"六日游"}));  // the convention is off
  seg.set_split_compounds(true);
  EXPECT_EQ(seg.Cut("六日游", false), (V{"六", "日", "游"}));
  EXPECT_EQ(seg.Cut("一日游", false), (V{"一日游"}));
  seg.set_split_numerals(false);
  EXPECT_EQ(seg.Cut("六日游", false), (V{"六日游"}));
}

// ---------------------------------------------------------------------------------------------------------------
// The HMM.

Segmenter::HmmParams RandomHmm(std::mt19937_64& rng, const std::vector<char32_t>& chars) {
  Segmenter::HmmParams p;
  std::uniform_real_distribution<double> u(-6, -0.1);
  p.start = {u(rng), Segmenter::HmmParams::kMin, Segmenter::HmmParams::kMin, u(rng)};
  for (auto& row : p.trans) row.fill(Segmenter::HmmParams::kMin);
  // The transitions jieba allows: B->M,E; M->M,E; E->B,S; S->B,S.
  p.trans[0][1] = u(rng), p.trans[0][2] = u(rng), p.trans[1][1] = u(rng), p.trans[1][2] = u(rng);
  p.trans[2][0] = u(rng), p.trans[2][3] = u(rng), p.trans[3][0] = u(rng), p.trans[3][3] = u(rng);
  for (char32_t c : chars) p.emit[c] = {u(rng), u(rng), u(rng), u(rng)};
  return p;
}

// Words of the best state sequence found by enumerating all 4^n sequences that end in E or S.
V HmmBruteForce(const Segmenter::HmmParams& p, std::u32string_view obs) {
  const size_t n = obs.size();
  double best = -INFINITY;
  std::vector<int> best_path;
  std::vector<int> path(n);
  size_t total = 1;
  for (size_t k = 0; k < n; ++k) total *= 4;
  for (size_t code = 0; code < total; ++code) {
    size_t c = code;
    for (size_t k = 0; k < n; ++k, c /= 4) path[k] = static_cast<int>(c % 4);
    if (path[n - 1] != 2 && path[n - 1] != 3) continue;
    double s = p.start[path[0]] + p.emit.at(obs[0])[path[0]];
    for (size_t k = 1; k < n; ++k) s += p.trans[path[k - 1]][path[k]] + p.emit.at(obs[k])[path[k]];
    if (s > best) {
      best = s;
      best_path = path;
    }
  }
  V out;
  std::string cur;
  for (size_t k = 0; k < n; ++k) {
    std::string ch;
    AppendUtf8(ch, obs[k]);
    if (best_path[k] == 0 || best_path[k] == 3) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    }
    cur += ch;
    if (best_path[k] == 2 || best_path[k] == 3) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

TEST(SegmenterHmm, ViterbiEqualsBruteForce) {
  std::mt19937_64 rng(11);
  const std::vector<char32_t> chars = {U'铲', U'屎', U'官', U'番', U'剧', U'赛'};
  for (int t = 0; t < 50; ++t) {
    auto p = RandomHmm(rng, chars);
    std::u32string obs;
    size_t len = 1 + rng() % 6;
    for (size_t k = 0; k < len; ++k) obs.push_back(chars[rng() % chars.size()]);
    EXPECT_EQ(HmmCut(p, obs), HmmBruteForce(p, obs)) << t;
  }
}

class HmmFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vane_hmm_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    Write("prob_start.py", "P={'B': -0.26,\n 'E': -3.14e+100,\n 'M': -3.14e+100,\n 'S': -1.46}\n");
    Write("prob_trans.py",
          "P={'B': {'E': -0.51, 'M': -0.91},\n 'E': {'B': -0.58, 'S': -0.80},\n"
          " 'M': {'E': -0.33, 'M': -1.26},\n 'S': {'B': -0.72, 'S': -0.66}}\n");
    Write("prob_emit.py",
          "from __future__ import unicode_literals\n\nP={'B': {'\\u94f2': -5.0, '\\u5c4e': -9.0},\n"
          " 'E': {'\\u5b98': -4.0, '\\u5c4e': -5.0},\n 'M': {'\\u5c4e': -6.0},\n"
          " 'S': {'\\u94f2': -9.0, '\\u5b98': -8.0, '\\u5c4e': -9.5}}\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::filesystem::path dir_;
};

TEST_F(HmmFiles, ReadsJiebasLiteralsAndCutsUnknownWords) {
  auto p = LoadHmm(dir_.string());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_DOUBLE_EQ(p->start[0], -0.26);
  EXPECT_DOUBLE_EQ(p->trans[1][2], -0.33);  // M -> E
  EXPECT_DOUBLE_EQ(p->emit.at(U'铲')[0], -5.0);
  EXPECT_EQ(p->emit.at(U'铲')[2], Segmenter::HmmParams::kMin);  // E does not list it: impossible
  EXPECT_EQ(HmmCut(*p, U"铲屎官"), (V{"铲屎官"}));

  std::ofstream(dir_ / "dict.txt") << "猫粮 10 n\n";
  auto seg = Segmenter::Load((dir_ / "dict.txt").string(), dir_.string());
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  EXPECT_EQ(seg->Cut("铲屎官猫粮", true), (V{"铲屎官", "猫粮"}));
  EXPECT_EQ(seg->Cut("铲屎官猫粮", false), (V{"铲", "屎", "官", "猫粮"}));
  EXPECT_TRUE(seg->stats().hmm);
}

TEST_F(HmmFiles, MalformedParametersNameFileAndLine) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"Q={}", "expected the assignment"},
      {"P={'B': {'\\u94f2': -5.0,\n 'E': {'\\u5b98': x}}", "prob_emit.py:2: expected a number"},
      {"P={'B': {'\\u94': -5.0}}", "bad \\u escape"},
      {"P={'B': {'\\q': -5.0}}", "unsupported escape"},
      {"P={'X': {'\\u94f2': -5.0}}", "state 'X' is not one of B, M, E, S"},
      {"P={'B': {'ab': -5.0}}", "not one character"},
      {"P={'B': {'\\u94f2': -5.0}", "expected ',' or '}'"},
      {"P={'B': {'\\u94f2' -5.0}}", "expected ':'"},
      {"P={'B': {'\\u94f2': 1e999}}", "expected a number"},
      {"P={}", "no emission probabilities"},
      {"P={'B': {'unterminated", "unterminated string"},
  };
  for (const auto& c : cases) {
    Write("prob_emit.py", c.text);
    auto p = LoadHmm(dir_.string());
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(p.status().message().find(c.want), std::string::npos) << c.text << " -> " << p.status().message();
  }
  std::filesystem::remove(dir_ / "prob_start.py");
  auto p = LoadHmm(dir_.string());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kIoError);
  EXPECT_NE(p.status().message().find("No such file"), std::string::npos) << p.status().message();
}

TEST_F(HmmFiles, MalformedDictionaryNamesLineAndField) {
  std::ofstream(dir_ / "bad.txt") << "北京 100 ns\n大学 x n\n";
  auto seg = Segmenter::Load((dir_ / "bad.txt").string());
  ASSERT_FALSE(seg.ok());
  EXPECT_EQ(seg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(seg.status().message().find("bad.txt:2: frequency: 'x'"), std::string::npos) << seg.status().message();
  std::ofstream(dir_ / "neg.txt") << "北京 -3\n";
  EXPECT_FALSE(Segmenter::Load((dir_ / "neg.txt").string()).ok());
  std::ofstream(dir_ / "utf.txt") << "\xC3 3\n";
  auto bad = Segmenter::Load((dir_ / "utf.txt").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("utf.txt:1: word: not valid UTF-8"), std::string::npos);
  auto missing = Segmenter::Load((dir_ / "absent.txt").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  // A word without a frequency (user-dictionary style) and blank lines are accepted.
  std::ofstream(dir_ / "user.txt") << "\n铲屎官\n  \n";
  auto user = Segmenter::Load((dir_ / "user.txt").string());
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  EXPECT_EQ(user->Frequency("铲屎官"), 1);
}

// Hostile parameter files: every truncation and random byte flips of a valid file give a value or a precise error.
TEST_F(HmmFiles, TruncatedAndCorruptedFilesAreErrorsNotCrashes) {
  std::string good;
  {
    std::ifstream in(dir_ / "prob_emit.py");
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::mt19937_64 rng(5);
  size_t errors = 0;
  for (size_t cut = 0; cut < good.size(); ++cut) {
    std::string bad = good.substr(0, cut);
    if (cut % 3 == 0 && !bad.empty()) bad[rng() % bad.size()] = static_cast<char>(rng() % 256);
    Write("prob_emit.py", bad);
    auto p = LoadHmm(dir_.string());
    if (!p.ok()) {
      ++errors;
      EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << p.status().ToString();
      EXPECT_NE(p.status().message().find("prob_emit.py"), std::string::npos) << p.status().message();
    }
  }
  EXPECT_GT(errors, good.size() / 2);
}

// Hostile dictionary text and sentences: random bytes never crash; a cut always spells its input.
TEST(Segmenter, RandomBytesInDictionariesAndSentences) {
  std::mt19937_64 rng(9);
  Segmenter seg = Segmenter::FromWords({{"北京", 100}, {"大学", 80}});
  const std::string pieces[] = {"北", "京", "大", "学", " ", "\n", "7", "-1", "x", "\xC3", "\xFF", "\xE5\x8C", "#"};
  for (int t = 0; t < 2000; ++t) {
    std::string s;
    for (int k = 0, n = static_cast<int>(rng() % 12); k < n; ++k) s += pieces[rng() % std::size(pieces)];
    Status st = seg.AddWords(s, "random");
    if (!st.ok()) {
      EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(st.message().rfind("random:", 0), 0u) << st.message();
    }
    std::string joined;
    for (const auto& w : seg.Cut(s, true)) joined += w;
    EXPECT_EQ(joined, s);
  }
}

TEST_F(HmmFiles, IdiomsAndAddedWordsAreNeverSplitAsCompounds) {
  std::ofstream(dir_ / "dict.txt") << "的 60000000 uj\n议论 1000 v\n纷纷 1000 d\n议论纷纷 20 i\n"  // an idiom: whole
                                      "入门 312 v\n教程 117 n\n入门教程 3 l\n"  // a stub's tag: not trusted
                                      "天气 2657 n\n预报 700 vn\n天气预报 3 n\n"
                                      "野生 1768 b\n动物 8230 n\n野生动物 3 n\n";
  auto seg = Segmenter::Load((dir_ / "dict.txt").string());
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  seg->set_split_compounds(true);
  EXPECT_EQ(seg->Cut("议论纷纷", false), (V{"议论纷纷"}));
  EXPECT_EQ(seg->Cut("入门教程", false), (V{"入门", "教程"}));
  EXPECT_EQ(seg->Cut("天气预报", false), (V{"天气", "预报"}));
  EXPECT_EQ(seg->Cut("野生动物", false), (V{"野生", "动物"}));
  // A word added on purpose (vane's additions, a user dictionary) is cut out whole.
  ASSERT_TRUE(seg->AddWords("野生动物\n", "test").ok());
  EXPECT_EQ(seg->Cut("野生动物", false), (V{"野生动物"}));
  EXPECT_EQ(seg->Cut("天气预报", false), (V{"天气", "预报"}));
}

// ---------------------------------------------------------------------------------------------------------------
// Tokenize with a segmenter; the bigram fallback.

TEST(TokenizeZh, WordsFromTheSegmenterStopwordsDropped) {
  Segmenter seg = Segmenter::FromWords({{"搅拌机", 50}, {"水壶", 80}, {"手机", 90}, {"安卓", 40}, {"的", 1000}});
  TokenizeOptions o;
  o.segmenter = &seg;
  EXPECT_EQ(Tokenize("Blender Pro 搅拌机水壶", o), (V{"blender", "pro", "搅拌机", "水壶"}));
  EXPECT_EQ(Tokenize("手机的安卓", o), (V{"手机", "安卓"}));
  o.drop_stopwords = false;
  EXPECT_EQ(Tokenize("手机的安卓", o), (V{"手机", "的", "安卓"}));
  // Kana and Hangul are not Han: bigrams, as before.
  EXPECT_EQ(Tokenize("カメラ", o), (V{"カメ", "メラ"}));
  o.zh_bigrams = true;
  EXPECT_EQ(Tokenize("手机安卓", o), (V{"手机", "机安", "安卓"}));
}

TEST(TokenizeZh, NoDictionaryFallsBackToBigrams) {
  SetDefaultSegmenter(nullptr);
  EXPECT_EQ(DefaultSegmenter(), nullptr);
  EXPECT_EQ(Tokenize("越野跑鞋"), (V{"越野", "野跑", "跑鞋"}));
  EXPECT_EQ(Tokenize("鞋"), (V{"鞋"}));
  EXPECT_EQ(Tokenize("Nike越野跑鞋 GT-2000"), (V{"nike", "越野", "野跑", "跑鞋", "gt", "2000"}));
  auto s = UseSegmenterDictionary("/nonexistent/dict.txt");
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_EQ(DefaultSegmenter(), nullptr);  // a failed load leaves the default as it was
}

}  // namespace
}  // namespace vane::text
