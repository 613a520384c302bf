#include "vane/eval/plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "vane/interest/describe.h"

namespace vane {
namespace {

namespace fs = std::filesystem;
using testing::Ev;
using testing::MakeItem;

fs::path TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::temp_directory_path() / (std::string("vane_plot_test_") + info->name());
  fs::create_directories(dir);
  return dir;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// Basic well-formedness: every tag closes in order, attribute values are quoted, no stray '<' or '&' in text.
::testing::AssertionResult WellFormed(const std::string& svg) {
  if (svg.rfind("<svg", 0) != 0) return ::testing::AssertionFailure() << "does not start with <svg";
  std::string trimmed = svg.substr(0, svg.find_last_not_of("\n ") + 1);
  if (trimmed.size() < 6 || trimmed.compare(trimmed.size() - 6, 6, "</svg>") != 0)
    return ::testing::AssertionFailure() << "does not end with </svg>";
  std::vector<std::string> stack;
  for (size_t i = 0; i < svg.size();) {
    if (svg[i] == '&') {
      size_t semi = svg.find(';', i);
      std::string ent = semi == std::string::npos ? "" : svg.substr(i, semi - i + 1);
      if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;")
        return ::testing::AssertionFailure() << "bad entity at " << i;
      i = semi + 1;
      continue;
    }
    if (svg[i] != '<') {
      ++i;
      continue;
    }
    size_t end = i + 1;
    char quote = 0;
    for (; end < svg.size(); ++end) {
      char c = svg[end];
      if (quote) {
        if (c == quote) quote = 0;
        else if (c == '<') return ::testing::AssertionFailure() << "'<' inside an attribute at " << end;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '<') {
        return ::testing::AssertionFailure() << "'<' inside a tag at " << end;
      } else if (c == '>') {
        break;
      }
    }
    if (end >= svg.size()) return ::testing::AssertionFailure() << "unterminated tag at " << i;
    std::string tag = svg.substr(i + 1, end - i - 1);
    bool closing = !tag.empty() && tag[0] == '/';
    bool self_closing = !tag.empty() && tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \n/"));
    if (name.empty()) return ::testing::AssertionFailure() << "empty tag name at " << i;
    if (closing) {
      if (stack.empty() || stack.back() != name)
        return ::testing::AssertionFailure() << "</" << name << "> closes " << (stack.empty() ? "nothing" : stack.back());
      stack.pop_back();
    } else if (!self_closing) {
      stack.push_back(name);
    }
    i = end + 1;
  }
  if (!stack.empty()) return ::testing::AssertionFailure() << "unclosed <" << stack.back() << ">";
  if (Count(svg, "<text") != Count(svg, "</text>")) return ::testing::AssertionFailure() << "unbalanced <text>";
  return ::testing::AssertionSuccess();
}

// Attribute value of `name` inside the tag that starts at `pos`.
std::string Attr(const std::string& svg, size_t pos, const std::string& name) {
  size_t end = svg.find('>', pos);
  size_t a = svg.find(" " + name + "=\"", pos);
  if (a == std::string::npos || a > end) return "";
  a += name.size() + 3;
  return svg.substr(a, svg.find('"', a) - a);
}

StrategyResult Strategy(std::string name, double hr10, double ndcg10, double hr20, double ndcg20, double mrr) {
  StrategyResult r;
  r.name = std::move(name);
  r.metrics.users = 500;
  r.metrics.hr10 = hr10;
  r.metrics.ndcg10 = ndcg10;
  r.metrics.hr20 = hr20;
  r.metrics.ndcg20 = ndcg20;
  r.metrics.mrr = mrr;
  return r;
}

EvalReport SampleReport() {
  EvalReport rep;
  rep.dataset = "tiny <&> set";
  rep.protocol = "loo";
  rep.users = 600;
  rep.items = 1200;
  rep.events = 45678;
  rep.test = {Strategy("popularity", 0.15, 0.07, 0.22, 0.09, 0.05), Strategy("covisit", 0.21, 0.11, 0.29, 0.13, 0.08),
              Strategy("a<b&c", 0.0, 0.0, 0.01, 0.0, 0.001), Strategy("blend_fixed", 0.28, 0.15, 0.37, 0.17, 0.11),
              Strategy("blend", 0.30, 0.16, 0.39, 0.18, 0.12)};
  return rep;
}

TEST(Plot, XmlEscapeEscapesMarkupAndKeepsUtf8) {
  EXPECT_EQ(XmlEscape("a<b & c>\"d\" 'e'"), "a&lt;b &amp; c&gt;&quot;d&quot; &apos;e&apos;");
  EXPECT_EQ(XmlEscape("户外 跑步"), "户外 跑步");
  EXPECT_EQ(XmlEscape(std::string("x\x01y")), "x y");
  EXPECT_EQ(XmlEscape(std::string("bad\xff")), "bad\xEF\xBF\xBD");
}

TEST(Plot, MetricsChartNamesStrategiesAndScalesBars) {
  fs::path path = TempDir() / "metrics.svg";
  EvalReport rep = SampleReport();
  Status s = WriteMetricsSvg(rep, path.string());
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string svg = ReadAll(path);
  ASSERT_TRUE(WellFormed(svg));
  EXPECT_NE(svg.find("viewBox=\"0 0 "), std::string::npos);
  EXPECT_NE(svg.find("font-family=\"sans-serif\""), std::string::npos);
  // Title names dataset (escaped) and protocol.
  EXPECT_NE(svg.find("tiny &lt;&amp;&gt; set"), std::string::npos);
  EXPECT_NE(svg.find("loo (leave-one-out)"), std::string::npos);
  EXPECT_EQ(svg.find("tiny <&"), std::string::npos);
  for (const char* name : {"popularity", "covisit", "blend_fixed", "blend"})
    EXPECT_NE(svg.find(std::string(">") + name + "</text>"), std::string::npos) << name;
  EXPECT_NE(svg.find(">a&lt;b&amp;c</text>"), std::string::npos);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
  for (const char* m : {"HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR"}) EXPECT_NE(svg.find(m), std::string::npos) << m;
  EXPECT_NE(svg.find(">0.3000</text>"), std::string::npos);  // value label of blend HR@10

  // One bar per strategy and metric, widths proportional to values.
  std::map<std::string, double> width;  // "strategy|metric" -> width
  std::vector<std::pair<double, double>> vw;   // (value, width)
  for (size_t p = svg.find("<rect class=\"bar\""); p != std::string::npos; p = svg.find("<rect class=\"bar\"", p + 1)) {
    double v = std::stod(Attr(svg, p, "data-value"));
    double w = std::stod(Attr(svg, p, "width"));
    width[Attr(svg, p, "data-strategy") + "|" + Attr(svg, p, "data-metric")] = w;
    vw.emplace_back(v, w);
  }
  size_t bars = vw.size();
  ASSERT_FALSE(vw.empty());
  auto largest = *std::max_element(vw.begin(), vw.end());
  ASSERT_NEAR(largest.first, 0.39, 1e-9);
  double scale = largest.second / largest.first;  // pixels per unit of score
  for (auto [v, w] : vw) EXPECT_NEAR(w, v * scale, 0.1) << "value " << v;  // coordinates have one decimal
  EXPECT_EQ(bars, 25u);
  ASSERT_TRUE(width.count("blend|hr@10") && width.count("popularity|hr@10"));
  EXPECT_NEAR(width["blend|hr@10"] / width["popularity|hr@10"], 2.0, 0.01);
  EXPECT_GT(width["blend|hr@20"], width["blend|hr@10"]);

  // Deterministic.
  fs::path again = TempDir() / "metrics2.svg";
  ASSERT_TRUE(WriteMetricsSvg(rep, again.string()).ok());
  EXPECT_EQ(ReadAll(again), svg);
}

TEST(Plot, MetricsChartWithoutResultsIsStillValid) {
  fs::path path = TempDir() / "empty.svg";
  EvalReport rep;
  rep.dataset = "none";
  rep.protocol = "temporal";
  ASSERT_TRUE(WriteMetricsSvg(rep, path.string()).ok());
  std::string svg = ReadAll(path);
  EXPECT_TRUE(WellFormed(svg));
  EXPECT_NE(svg.find("No test results"), std::string::npos);
}

TEST(Plot, UnwritablePathIsAnIoErrorNamingIt) {
  std::string path = (TempDir() / "no-such-dir" / "x.svg").string();
  Status s = WriteMetricsSvg(SampleReport(), path);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(path), std::string::npos);
}

struct GraphFixture {
  Dataset ds = testing::TwoTopicDataset();
  std::unique_ptr<InterestStore> store;
  UserIdx user;
  Timestamp now = 0;

  GraphFixture() {
    Item tea = MakeItem("t0", "product", "绿茶 礼盒 green tea", {"Tea"});
    tea.attributes.push_back({"category_zh", "茶叶"});
    ds.catalog.Upsert(tea);
    ds.catalog.Upsert(MakeItem("o0", "product", "户外 帐篷 tent", {"户外"}));
    ds.catalog.Upsert(MakeItem("x0", "product", "odd <shop> & more", {"<Tools & Co>"}));
    store = std::make_unique<InterestStore>(ds);
    Timestamp t = 1'700'000'000;
    for (const char* it : {"h0", "h1", "r0", "r1", "r2", "t0", "o0", "h2", "x0", "r3", "r4"})
      store->Apply(Ev(ds, "alice", it, "view", t += 40));
    store->Apply(Ev(ds, "alice", "", "search", t += 30, "trail running shoes"));
    store->Apply(Ev(ds, "alice", "r0", "cart", t += 30));
    user = UserIdx(*ds.users.Find("alice"));
    now = t + 20;
  }
};

TEST(Plot, InterestGraphShowsNodesEdgesAndDescription) {
  GraphFixture f;
  fs::path path = TempDir() / "graph.svg";
  Status s = WriteInterestGraphSvg(*f.store, f.user, f.now, path.string());
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string svg = ReadAll(path);
  ASSERT_TRUE(WellFormed(svg));
  EXPECT_NE(svg.find("viewBox=\"0 0 "), std::string::npos);
  EXPECT_NE(svg.find("font-family=\"sans-serif\""), std::string::npos);
  EXPECT_NE(svg.find("alice"), std::string::npos);

  auto cats = f.store->Categories(f.user, f.now);
  auto kws = f.store->Keywords(f.user, f.now);
  ASSERT_GE(cats.size(), 4u);
  EXPECT_EQ(Count(svg, "<g class=\"category\""), cats.size());
  EXPECT_EQ(Count(svg, "<g class=\"keyword\""), kws.size());
  for (const char* name : {"Trail running", "Hiking", "Tea"})
    EXPECT_NE(svg.find(std::string(">") + name + "</text>"), std::string::npos) << name;
  // Chinese verbatim: a category named in Chinese, and a category's Chinese display name.
  EXPECT_NE(svg.find(">户外</text>"), std::string::npos);
  EXPECT_NE(svg.find(">茶叶</text>"), std::string::npos);
  // Escaping of names.
  EXPECT_NE(svg.find(">&lt;Tools &amp; Co&gt;</text>"), std::string::npos);
  EXPECT_EQ(svg.find("<Tools"), std::string::npos);

  // Transitions: at least one edge, drawn with an arrow.
  EXPECT_GE(Count(svg, "class=\"edge\""), 2u);
  EXPECT_NE(svg.find("marker-end=\"url(#arrow)\""), std::string::npos);
  // Keyword links to categories.
  EXPECT_NE(svg.find("<g class=\"keyword-links\">\n<line"), std::string::npos);

  // Disc area proportional to the short-term weight among categories (r^2 / s constant).
  double ratio = 0;
  int checked = 0;
  for (size_t p = svg.find("<g class=\"category\""); p != std::string::npos; p = svg.find("<g class=\"category\"", p + 1)) {
    double sw = std::stod(Attr(svg, p, "data-s"));
    size_t c = svg.find("<circle class=\"short\"", p);
    if (sw < 0.2 || c == std::string::npos || c > svg.find("</g>", p)) continue;
    double r = std::stod(Attr(svg, c, "r"));
    if (ratio == 0) ratio = r * r / sw;
    EXPECT_NEAR(r * r / sw / ratio, 1.0, 0.06) << "category node at " << p;
    ++checked;
  }
  EXPECT_GE(checked, 2);

  // Description in both languages.
  InterestSummary sum = Describe(*f.store, f.user, f.now);
  EXPECT_NE(svg.find(XmlEscape(sum.text_en.substr(0, 12))), std::string::npos) << sum.text_en;
  EXPECT_NE(svg.find(sum.text_zh.substr(0, 9)), std::string::npos) << sum.text_zh;
  EXPECT_NE(svg.find("class=\"zh\""), std::string::npos);

  // Deterministic.
  fs::path again = TempDir() / "graph2.svg";
  ASSERT_TRUE(WriteInterestGraphSvg(*f.store, f.user, f.now, again.string()).ok());
  EXPECT_EQ(ReadAll(again), svg);
}

TEST(Plot, InterestGraphOfUnknownUserIsNotFound) {
  GraphFixture f;
  Status s = WriteInterestGraphSvg(*f.store, UserIdx(999), f.now, (TempDir() / "none.svg").string());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vane
