#include "vane/eval/plot.h"

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <cmath>
#include <ctime>
#include <exception>
#include <fstream>
#include <iterator>
#include <numbers>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "vane/interest/describe.h"

namespace vane {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr const char* kInk = "#1a202c";     // main text
constexpr const char* kMuted = "#4a5568";   // secondary text (contrast > 7:1 on white)
constexpr const char* kGrid = "#e2e8f0";
constexpr const char* kAxis = "#718096";

// Decodes one UTF-8 code point at s[i]; returns {code point, bytes}. Invalid input gives {0xFFFD, 1}.
std::pair<uint32_t, size_t> DecodeUtf8(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return {c, 1};
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return {0xFFFD, 1};
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return {0xFFFD, 1};
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0xFFFD, 1};
  return {cp, n};
}

bool IsWide(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
         (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

// Display width in "narrow character" units (CJK counts 2).
size_t DisplayUnits(std::string_view s) {
  size_t units = 0;
  for (size_t i = 0; i < s.size();) {
    auto [cp, n] = DecodeUtf8(s, i);
    units += IsWide(cp) ? 2 : 1;
    i += n;
  }
  return units;
}

// Greedy line wrapping for mixed English / Chinese text: breaks at spaces and between CJK characters, never
// before closing CJK punctuation. A word longer than a line gets a line of its own.
std::vector<std::string> Wrap(std::string_view text, size_t max_units) {
  struct Atom {
    std::string s;
    size_t units = 0;
    bool space_after = false;
  };
  std::vector<Atom> atoms;
  static constexpr std::string_view kNoStart = "，。；：、）」』！？》,.;:!?)";
  for (size_t i = 0; i < text.size();) {
    auto [cp, n] = DecodeUtf8(text, i);
    std::string_view ch = text.substr(i, n);
    i += n;
    if (cp == ' ' || cp == '\n' || cp == '\t') {
      if (!atoms.empty()) atoms.back().space_after = true;
      continue;
    }
    bool wide = IsWide(cp);
    bool no_start = kNoStart.find(ch) != std::string_view::npos;
    bool join = !atoms.empty() && !atoms.back().space_after &&
                (no_start || (!wide && atoms.back().units > 0 && !IsWide(DecodeUtf8(atoms.back().s, 0).first)));
    if (!join) atoms.push_back({});
    atoms.back().s += ch;
    atoms.back().units += wide ? 2 : 1;
  }
  std::vector<std::string> lines;
  std::string line;
  size_t units = 0;
  bool pending_space = false;
  for (const Atom& a : atoms) {
    size_t need = a.units + (pending_space ? 1 : 0);
    if (!line.empty() && units + need > max_units) {
      lines.push_back(std::move(line));
      line.clear();
      units = 0;
      pending_space = false;
      need = a.units;
    }
    if (pending_space) line += ' ';
    line += a.s;
    units += need;
    pending_space = a.space_after;
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

// Coordinates: one decimal, never "-0.0".
std::string F(double x) {
  if (!std::isfinite(x) || std::abs(x) < 0.05) x = 0;
  return fmt::format("{:.1f}", x);
}

std::string Weight(double w) {
  if (std::abs(w) < 0.005) w = 0;
  return fmt::format("{:.2f}", w);
}

// A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) at least x.
double NiceStep(double x) {
  double e = std::pow(10.0, std::floor(std::log10(x)));
  double f = x / e;
  double nf = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 2.5 ? 2.5 : f <= 5.0 ? 5.0 : 10.0;
  return nf * e;
}

int StepDecimals(double step) {
  int d = 0;
  while (d < 8 && std::abs(step * std::pow(10.0, d) - std::round(step * std::pow(10.0, d))) > 1e-9) ++d;
  return d;
}

template <class... A>
void Put(std::string& out, fmt::format_string<A...> f, A&&... a) {
  fmt::format_to(std::back_inserter(out), f, std::forward<A>(a)...);
}

void Open(std::string& out, double w, double h, std::string_view title) {
  Put(out,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" role=\"img\">\n<title>{2}</title>\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
      F(w), F(h), XmlEscape(title));
}

// One <text> element. `attrs` is raw attribute text (already safe), `text` is escaped here.
void Text(std::string& out, double x, double y, std::string_view text, std::string_view attrs) {
  Put(out, "<text x=\"{}\" y=\"{}\" {}>{}</text>\n", F(x), F(y), attrs, XmlEscape(text));
}

Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) return Status::IoError("write failed: " + path);
  return Status::Ok();
}

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#e08214",
                                    "#8c564b", "#d6449e", "#5f6b7a", "#0f8b99", "#8a8a1f"};

std::string ProtocolName(const std::string& p) {
  if (p == "loo") return "leave-one-out";
  if (p == "temporal") return "temporal split";
  return p;
}

struct Metric {
  const char* label;
  const char* key;
  double RankingMetrics::*field;
};
constexpr Metric kMetrics[] = {{"HR@10", "hr@10", &RankingMetrics::hr10},
                               {"NDCG@10", "ndcg@10", &RankingMetrics::ndcg10},
                               {"HR@20", "hr@20", &RankingMetrics::hr20},
                               {"NDCG@20", "ndcg@20", &RankingMetrics::ndcg20},
                               {"MRR", "mrr", &RankingMetrics::mrr}};

// Where everything of the metrics chart goes: one group of bars per metric, one bar per strategy.
struct BarChartLayout {
  static constexpr double kWidth = 960, kLeft = 110, kRight = 96, kPlotW = kWidth - kLeft - kRight;
  static constexpr double kBarH = 16, kBarGap = 3, kGroupGap = 20;
  struct LegendItem {
    double x, y;
  };
  std::vector<LegendItem> legend;  // per strategy, wrapped to the plot width
  double plot_top = 0, group_h = 0, plot_h = 0, axis_y = 0, height = 0;
  double step = 0, axis_max = 0;  // tick step and the axis end (a whole number of steps)
  int ticks = 0, decimals = 0;

  double X(double v) const { return kLeft + std::clamp(v, 0.0, axis_max) / axis_max * kPlotW; }
};

BarChartLayout LayOutBars(const std::vector<StrategyResult>& strategies) {
  BarChartLayout lay;
  const size_t n = strategies.size();
  lay.legend.resize(n);
  double lx = lay.kLeft, ly = 88;
  for (size_t i = 0; i < n; ++i) {
    double item_w = 26 + 7.5 * static_cast<double>(DisplayUnits(strategies[i].name)) + 22;
    if (lx > lay.kLeft && lx + item_w > lay.kWidth - 20) {
      lx = lay.kLeft;
      ly += 22;
    }
    lay.legend[i] = {lx, ly};
    lx += item_w;
  }
  lay.plot_top = (n ? ly : 70) + 26;
  lay.group_h = n ? static_cast<double>(n) * (lay.kBarH + lay.kBarGap) - lay.kBarGap : lay.kBarH;
  lay.plot_h = 10 + 5 * lay.group_h + 4 * lay.kGroupGap + 10;
  lay.axis_y = lay.plot_top + lay.plot_h;
  lay.height = lay.axis_y + 62;
  double vmax = 0;
  for (const auto& s : strategies)
    for (const auto& m : kMetrics) vmax = std::max(vmax, s.metrics.*m.field);
  lay.step = vmax > 0 ? NiceStep(vmax / 5) : 0.2;
  lay.ticks = std::max(vmax > 0 ? static_cast<int>(std::ceil(vmax / lay.step - 1e-9)) : 5, 1);
  lay.axis_max = lay.step * lay.ticks;
  lay.decimals = StepDecimals(lay.step);
  return lay;
}

void DrawBarLegend(std::string& out, const BarChartLayout& lay, const std::vector<StrategyResult>& strategies) {
  for (size_t i = 0; i < strategies.size(); ++i) {
    const char* color = kPalette[i % std::size(kPalette)];
    Put(out, "<rect x=\"{}\" y=\"{}\" width=\"18\" height=\"12\" fill=\"{}\"/>\n", F(lay.legend[i].x), F(lay.legend[i].y - 10), color);
    Text(out, lay.legend[i].x + 24, lay.legend[i].y, strategies[i].name, fmt::format("font-size=\"13\" fill=\"{}\"", kInk));
  }
}

// Grid, ticks and the value axis.
void DrawValueAxis(std::string& out, const BarChartLayout& lay) {
  const double left = lay.kLeft, plot_w = lay.kPlotW;
  out += "<g class=\"axis\">\n";
  for (int t = 0; t <= lay.ticks; ++t) {
    double v = lay.step * t, x = lay.X(v);
    Put(out, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1\"/>\n", F(x), F(lay.plot_top), F(lay.axis_y), kGrid);
    Put(out, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1\"/>\n", F(x), F(lay.axis_y), F(lay.axis_y + 5), kAxis);
    Text(out, x, lay.axis_y + 20, fmt::format("{:.{}f}", v, lay.decimals), fmt::format("text-anchor=\"middle\" font-size=\"12\" fill=\"{}\"", kMuted));
  }
  Put(out, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"1\"/>\n", F(left), F(lay.axis_y), F(left + plot_w), kAxis);
  Put(out, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1\"/>\n", F(left), F(lay.plot_top), F(lay.axis_y), kAxis);
  Text(out, left + plot_w / 2, lay.axis_y + 44, "score on the test set (higher is better)",
       fmt::format("text-anchor=\"middle\" font-size=\"13\" fill=\"{}\"", kMuted));
  out += "</g>\n";
}

// Bars, grouped by metric.
void DrawBars(std::string& out, const BarChartLayout& lay, const std::vector<StrategyResult>& strategies) {
  const double left = lay.kLeft;
  double y = lay.plot_top + 10;
  for (const auto& m : kMetrics) {
    Text(out, left - 10, y + lay.group_h / 2 + 5, m.label,
         fmt::format("text-anchor=\"end\" font-size=\"14\" font-weight=\"bold\" fill=\"{}\"", kInk));
    for (size_t i = 0; i < strategies.size(); ++i) {
      double v = strategies[i].metrics.*m.field;
      double by = y + static_cast<double>(i) * (lay.kBarH + lay.kBarGap);
      double w = lay.X(v) - left;
      std::string value = fmt::format("{:.4f}", v);
      Put(out,
          "<rect class=\"bar\" data-strategy=\"{0}\" data-metric=\"{1}\" data-value=\"{2}\" x=\"{3}\" y=\"{4}\" "
          "width=\"{5}\" height=\"{6}\" fill=\"{7}\"><title>{0} {8}: {2}</title></rect>\n",
          XmlEscape(strategies[i].name), m.key, value, F(left), F(by), F(w), F(lay.kBarH),
          kPalette[i % std::size(kPalette)], m.label);
      Text(out, left + w + 5, by + lay.kBarH - 3.5, value, fmt::format("font-size=\"12\" fill=\"{}\"", kInk));
    }
    y += lay.group_h + lay.kGroupGap;
  }
}

std::string MetricsSvg(const EvalReport& rep) {
  const auto& strategies = rep.test;
  const size_t n = strategies.size();
  std::string title = "Test metrics: " + (rep.dataset.empty() ? std::string("dataset") : rep.dataset) +
                      ", protocol " + rep.protocol + " (" + ProtocolName(rep.protocol) + ")";
  size_t test_users = n ? strategies[0].metrics.users : 0;
  std::string subtitle = fmt::format("{} test users ranked against all items; {} users, {} items, {} events",
                                     test_users, rep.users, rep.items, rep.events);
  const BarChartLayout lay = LayOutBars(strategies);
  const double width = lay.kWidth;

  std::string out;
  Open(out, width, lay.height, title);
  Text(out, width / 2, 34, title, fmt::format("text-anchor=\"middle\" font-size=\"20\" font-weight=\"bold\" fill=\"{}\"", kInk));
  Text(out, width / 2, 58, subtitle, fmt::format("text-anchor=\"middle\" font-size=\"13\" fill=\"{}\"", kMuted));
  DrawBarLegend(out, lay, strategies);
  if (n == 0) Text(out, width / 2, lay.plot_top + lay.plot_h / 2, "No test results", fmt::format("text-anchor=\"middle\" font-size=\"16\" fill=\"{}\"", kMuted));
  DrawValueAxis(out, lay);
  DrawBars(out, lay, strategies);
  out += "</svg>\n";
  return out;
}

// ---- Interest graph ----------------------------------------------------------------------------------------

struct Node {
  uint32_t id;
  float s, l;
  double x = 0, y = 0, angle = -kPi / 2;
  double rs = 0, rl = 0;  // radius of the filled disc (short-term) and of the ring (long-term)
  double Extent() const { return std::max({rs, rl, 5.0}); }
};

double Radius(double w, double wmax, double rmax) {
  if (w == 0 || wmax <= 0) return 0;
  return std::max(2.5, rmax * std::sqrt(std::abs(w) / wmax));
}

void SizeNodes(std::vector<Node>& nodes, double rmax) {
  double wmax = 0;
  for (const auto& n : nodes) wmax = std::max({wmax, std::abs(static_cast<double>(n.s)), std::abs(static_cast<double>(n.l))});
  for (auto& n : nodes) {
    n.rs = Radius(n.s, wmax, rmax);
    n.rl = Radius(n.l, wmax, rmax);
  }
}

std::string FormatTime(Timestamp t, bool real_time) {
  if (!real_time) return fmt::format("t = {}", t);
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (!gmtime_r(&tt, &tm)) return fmt::format("t = {}", t);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

void DrawNode(std::string& out, const Node& n, const char* cls, const char* fill, const char* ring, std::string_view name) {
  const char* neg = "#c53030";
  Put(out, "<g class=\"{}\" data-name=\"{}\" data-s=\"{}\" data-l=\"{}\">\n", cls, XmlEscape(name), Weight(n.s), Weight(n.l));
  if (n.rs > 0)
    Put(out, "<circle class=\"short\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" fill-opacity=\"0.85\"/>\n", F(n.x), F(n.y), F(n.rs), n.s < 0 ? neg : fill);
  if (n.rl > 0)
    Put(out, "<circle class=\"long\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\"{}/>\n", F(n.x), F(n.y), F(n.rl),
        n.l < 0 ? neg : ring, n.l < 0 ? " stroke-dasharray=\"5 3\"" : "");
  if (n.rs == 0 && n.rl == 0)
    Put(out, "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"none\" stroke=\"{}\" stroke-width=\"1\"/>\n", F(n.x), F(n.y), kAxis);
  Put(out, "<title>{}: now {}, usually {}</title>\n</g>\n", XmlEscape(name), Weight(n.s), Weight(n.l));
}

// The interest graph's geometry: categories on an inner circle, keywords on an outer one, around (kCx, kCy).
constexpr double kGraphWidth = 1000, kCx = 500, kCy = 420, kRCat = 150, kRKw = 290;

std::string CategoryName(const Catalog& cat, uint32_t id) {
  return id < cat.category_vocab().size() ? cat.category_vocab().Name(id) : fmt::format("category {}", id);
}

std::string KeywordName(const Catalog& cat, uint32_t id) {
  return id < cat.keyword_vocab().size() ? cat.keyword_vocab().Name(id) : fmt::format("keyword {}", id);
}

// A keyword's link to a category it points to (index into InterestGraph::cats) and the share it points there.
struct KwLink {
  size_t cat;
  float share;
};

struct InterestGraph {
  std::vector<Node> cats, kws;
  std::vector<std::vector<KwLink>> links;  // per keyword, at most 3

  const Node* FindCat(uint32_t id) const {
    for (const auto& c : cats)
      if (c.id == id) return &c;
    return nullptr;
  }
};

// Categories on the inner circle, strongest short-term first, clockwise from the top (a lone one in the centre).
void PlaceCategories(std::vector<Node>& cats) {
  for (size_t i = 0; i < cats.size(); ++i) {
    if (cats.size() == 1) {
      cats[i].x = kCx;
      cats[i].y = kCy;
      continue;
    }
    cats[i].angle = -kPi / 2 + 2 * kPi * static_cast<double>(i) / static_cast<double>(cats.size());
    cats[i].x = kCx + kRCat * std::cos(cats[i].angle);
    cats[i].y = kCy + kRCat * std::sin(cats[i].angle);
  }
}

// Keywords on the outer circle, ordered by the angle of the category they point to most, evenly spaced and
// rotated to sit as close as possible to those categories. Fills g.links.
void PlaceKeywords(const InterestStore& store, InterestGraph& g) {
  std::vector<Node>& kws = g.kws;
  g.links.assign(kws.size(), {});
  std::vector<std::pair<double, size_t>> order;
  for (size_t k = 0; k < kws.size(); ++k) {
    for (const auto& [c, share] : store.KeywordCategories(kws[k].id)) {
      if (g.links[k].size() >= 3 || share < 0.05f) break;
      if (const Node* n = g.FindCat(c)) g.links[k].push_back({static_cast<size_t>(n - g.cats.data()), share});
    }
    double pref = -kPi / 2 + 2 * kPi * static_cast<double>(k) / static_cast<double>(std::max<size_t>(kws.size(), 1));
    if (!g.links[k].empty()) pref = g.cats[g.links[k][0].cat].angle;
    order.emplace_back(pref, k);
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (kws.empty()) return;
  const double kn = static_cast<double>(kws.size());
  double sx = 0, sy = 0;
  for (size_t j = 0; j < order.size(); ++j) {
    double d = order[j].first - 2 * kPi * static_cast<double>(j) / kn;
    sx += std::cos(d);
    sy += std::sin(d);
  }
  double base = std::hypot(sx, sy) > 1e-6 ? std::atan2(sy, sx) : -kPi / 2;
  for (size_t j = 0; j < order.size(); ++j) {
    Node& n = kws[order[j].second];
    n.angle = base + 2 * kPi * static_cast<double>(j) / kn;
    n.x = kCx + kRKw * std::cos(n.angle);
    n.y = kCy + kRKw * std::sin(n.angle);
  }
}

InterestGraph LayOutGraph(const InterestStore& store, UserIdx user, Timestamp now) {
  InterestGraph g;
  for (const auto& c : store.Categories(user, now)) g.cats.push_back({c.id, c.s, c.l});
  for (const auto& k : store.Keywords(user, now)) g.kws.push_back({k.id, k.s, k.l});
  SizeNodes(g.cats, 44);
  SizeNodes(g.kws, 24);
  PlaceCategories(g.cats);
  PlaceKeywords(store, g);
  return g;
}

void DrawKeywordLinks(std::string& out, const InterestGraph& g) {
  out += "<g class=\"keyword-links\">\n";
  for (size_t k = 0; k < g.kws.size(); ++k)
    for (const auto& ln : g.links[k])
      Put(out,
          "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#a0aec0\" stroke-width=\"{}\" stroke-dasharray=\"5 4\"/>\n",
          F(g.kws[k].x), F(g.kws[k].y), F(g.cats[ln.cat].x), F(g.cats[ln.cat].y), fmt::format("{:.1f}", 1.0 + 2.0 * ln.share));
  out += "</g>\n";
}

// A self-loop (staying with the interest), drawn outside node a, away from the centre. Returns where its count
// label goes.
std::pair<double, double> DrawSelfLoop(std::string& out, const Node& a, bool lone, const std::string& attrs) {
  double ux = std::cos(a.angle), uy = std::sin(a.angle);
  if (lone) ux = 0, uy = -1;
  double r = a.Extent() + 2, far = r + 46;
  double px = -uy, py = ux;
  double x0 = a.x + r * (ux * 0.87 + px * 0.5), y0 = a.y + r * (uy * 0.87 + py * 0.5);
  double x1 = a.x + r * (ux * 0.87 - px * 0.5), y1 = a.y + r * (uy * 0.87 - py * 0.5);
  double c0x = a.x + far * ux + 28 * px, c0y = a.y + far * uy + 28 * py;
  double c1x = a.x + far * ux - 28 * px, c1y = a.y + far * uy - 28 * py;
  Put(out, "<path d=\"M{},{} C{},{} {},{} {},{}\" {}/>\n", F(x0), F(y0), F(c0x), F(c0y), F(c1x), F(c1y), F(x1), F(y1), attrs);
  return {a.x + (r + 36) * ux, a.y + (r + 36) * uy};
}

// An arrow from a to b, bent to its left and cut at both nodes' edges. Returns where its count label goes.
std::pair<double, double> DrawArrow(std::string& out, const Node& a, const Node& b, const std::string& attrs) {
  double dx = b.x - a.x, dy = b.y - a.y, d = std::hypot(dx, dy);
  double ux = dx / d, uy = dy / d, bend = 0.18 * d;
  double mx = (a.x + b.x) / 2 + bend * uy, my = (a.y + b.y) / 2 - bend * ux;  // control point, to the left
  auto trim = [&](const Node& n, double tx, double ty) {
    double vx = tx - n.x, vy = ty - n.y, vd = std::max(std::hypot(vx, vy), 1e-9), r = n.Extent() + 3;
    return std::pair<double, double>(n.x + vx / vd * r, n.y + vy / vd * r);
  };
  auto [x0, y0] = trim(a, mx, my);
  auto [x1, y1] = trim(b, mx, my);
  Put(out, "<path d=\"M{},{} Q{},{} {},{}\" {}/>\n", F(x0), F(y0), F(mx), F(my), F(x1), F(y1), attrs);
  return {0.25 * x0 + 0.5 * mx + 0.25 * x1, 0.25 * y0 + 0.5 * my + 0.25 * y1};
}

// The user's transitions between category slots (thickness = count). Returns the count labels, drawn later on top.
std::string DrawTransitions(std::string& out, const InterestGraph& g, const UserState& st, const Catalog& cat) {
  auto slot_node = [&](int slot) -> const Node* { return slot < st.num_cats ? g.FindCat(st.cats[slot].id) : nullptr; };
  uint16_t max_count = 1;
  for (int e = 0; e < st.num_edges; ++e) max_count = std::max(max_count, st.edges[e].count);
  out += "<g class=\"transitions\" fill=\"none\" stroke=\"#2d3748\">\n";
  std::string counts;
  for (int e = 0; e < st.num_edges; ++e) {
    const auto& edge = st.edges[e];
    const Node* a = slot_node(edge.from);
    const Node* b = slot_node(edge.to);
    if (!a || !b || edge.count == 0) continue;
    if (a != b && std::hypot(b->x - a->x, b->y - a->y) < 1) continue;
    double sw = 1.5 + 5.0 * edge.count / max_count;
    std::string attrs = fmt::format("class=\"edge\" data-from=\"{}\" data-to=\"{}\" data-count=\"{}\" stroke-width=\"{:.1f}\" "
                                    "stroke-opacity=\"0.75\" marker-end=\"url(#arrow)\"",
                                    XmlEscape(CategoryName(cat, a->id)), XmlEscape(CategoryName(cat, b->id)), edge.count, sw);
    auto [lx, ly] = a == b ? DrawSelfLoop(out, *a, g.cats.size() == 1, attrs) : DrawArrow(out, *a, *b, attrs);
    Put(counts,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\" fill=\"{}\" stroke=\"#ffffff\" "
        "stroke-width=\"3\" paint-order=\"stroke\">{}</text>\n",
        F(lx), F(ly + 4), kInk, fmt::format("×{}", edge.count));
  }
  out += "</g>\n";
  return counts;
}

// Node labels (names, weights) and the transition counts, last so they sit on top.
void DrawGraphLabels(std::string& out, const InterestGraph& g, const Catalog& cat, const std::string& counts) {
  out += "<g class=\"labels\">\n";
  for (const auto& n : g.cats) {
    std::string name = CategoryName(cat, n.id), zh = CategoryNameZh(cat, n.id);
    double y = n.y + n.Extent() + 16;
    std::string halo = " stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"";
    Text(out, n.x, y, name, fmt::format("text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\" fill=\"{}\"{}", kInk, halo));
    if (zh != name) {
      y += 16;
      Text(out, n.x, y, zh, fmt::format("text-anchor=\"middle\" font-size=\"13\" fill=\"{}\"{}", kInk, halo));
    }
    Text(out, n.x, y + 15, "now " + Weight(n.s) + " · usually " + Weight(n.l),
         fmt::format("text-anchor=\"middle\" font-size=\"11\" fill=\"{}\"{}", kMuted, halo));
  }
  for (const auto& n : g.kws) {
    double ux = std::cos(n.angle), uy = std::sin(n.angle);
    double r = n.Extent() + 8;
    double x = n.x + r * ux, y = n.y + r * uy + 4;
    const char* anchor = ux > 0.3 ? "start" : ux < -0.3 ? "end" : "middle";
    if (uy > 0.3 && std::abs(ux) <= 0.3) y += 8;
    Text(out, x, y, KeywordName(cat, n.id), fmt::format("text-anchor=\"{}\" font-size=\"13\" fill=\"{}\"", anchor, kInk));
    Text(out, x, y + 14, Weight(n.s) + " / " + Weight(n.l), fmt::format("text-anchor=\"{}\" font-size=\"11\" fill=\"{}\"", anchor, kMuted));
  }
  out += counts;
  out += "</g>\n";
}

void DrawGraphLegend(std::string& out, double legend_y) {
  out += "<g class=\"legend\">\n";
  double x = 40, y = legend_y;
  std::string t13 = fmt::format("font-size=\"13\" fill=\"{}\"", kInk);
  Put(out, "<circle cx=\"{}\" cy=\"{}\" r=\"8\" fill=\"#4a90d9\"/>\n", F(x), F(y));
  Text(out, x + 14, y + 5, "category: disc area = short-term weight (now)", t13);
  Put(out, "<circle cx=\"{}\" cy=\"{}\" r=\"8\" fill=\"none\" stroke=\"#1a365d\" stroke-width=\"2.5\"/>\n", F(x + 340), F(y));
  Text(out, x + 354, y + 5, "ring area = long-term weight (usually)", t13);
  Put(out, "<circle cx=\"{}\" cy=\"{}\" r=\"8\" fill=\"#f0a04b\"/>\n", F(x + 640), F(y));
  Text(out, x + 654, y + 5, "keyword (same encoding)", t13);
  y += 26;
  Put(out, "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#2d3748\" stroke-width=\"3\" marker-end=\"url(#arrow)\"/>\n", F(x - 8), F(y), F(x + 22), F(y));
  Text(out, x + 30, y + 5, "transition between interests (thickness, ×count)", t13);
  Put(out, "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#a0aec0\" stroke-width=\"2\" stroke-dasharray=\"5 4\"/>\n", F(x + 372), F(y), F(x + 402), F(y));
  Text(out, x + 410, y + 5, "keyword points to category", t13);
  Put(out, "<circle cx=\"{}\" cy=\"{}\" r=\"8\" fill=\"#c53030\"/>\n", F(x + 640), F(y));
  Text(out, x + 654, y + 5, "negative weight (disliked)", t13);
  out += "</g>\n";
}

// The same interests in words, English then Chinese, from text_y down.
void DrawDescription(std::string& out, double text_y, const std::vector<std::string>& en,
                     const std::vector<std::string>& zh) {
  out += "<g class=\"describe\">\n";
  double y = text_y;
  Text(out, 40, y, "In words", fmt::format("font-size=\"15\" font-weight=\"bold\" fill=\"{}\"", kInk));
  y += 24;
  for (const auto& line : en) {
    Text(out, 40, y, line, fmt::format("class=\"en\" font-size=\"14\" fill=\"{}\"", kInk));
    y += 21;
  }
  y += 12;
  Text(out, 40, y, "中文描述", fmt::format("font-size=\"15\" font-weight=\"bold\" fill=\"{}\"", kInk));
  y += 24;
  for (const auto& line : zh) {
    Text(out, 40, y, line, fmt::format("class=\"zh\" font-size=\"14\" fill=\"{}\"", kInk));
    y += 21;
  }
  out += "</g>\n";
}

std::string InterestSvg(const InterestStore& store, UserIdx user, Timestamp now, const UserState& st) {
  const Dataset& ds = store.dataset();
  const InterestGraph g = LayOutGraph(store, user, now);
  std::string title = "Interest graph of user " +
                      (user.v < ds.users.size() ? ds.users.Name(user.v) : fmt::format("#{}", user.v));
  std::string subtitle = fmt::format("{} at {}; {} events, {} categories, {} keywords",
                                     ds.name.empty() ? std::string("dataset") : ds.name,
                                     FormatTime(now, ds.has_timestamps), st.num_events, g.cats.size(), g.kws.size());
  const double graph_bottom = kCy + kRKw + 44;
  InterestSummary sum = Describe(store, user, now);
  std::vector<std::string> en = Wrap(sum.text_en, 116), zh = Wrap(sum.text_zh, 112);
  const double legend_y = graph_bottom + 8;
  const double text_y = legend_y + 64;
  const double height = text_y + 30 + 21.0 * static_cast<double>(en.size()) + 36 + 21.0 * static_cast<double>(zh.size()) + 20;

  std::string out;
  Open(out, kGraphWidth, height, title);
  out +=
      "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" "
      "markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#2d3748\"/></marker></defs>\n";
  Text(out, kGraphWidth / 2, 36, title, fmt::format("text-anchor=\"middle\" font-size=\"20\" font-weight=\"bold\" fill=\"{}\"", kInk));
  Text(out, kGraphWidth / 2, 60, subtitle, fmt::format("text-anchor=\"middle\" font-size=\"13\" fill=\"{}\"", kMuted));
  Put(out, "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"none\" stroke=\"{}\" stroke-dasharray=\"2 6\"/>\n", F(kCx), F(kCy), F(kRKw), kGrid);
  if (g.cats.empty() && g.kws.empty())
    Text(out, kCx, kCy, "No interests yet", fmt::format("text-anchor=\"middle\" font-size=\"16\" fill=\"{}\"", kMuted));
  DrawKeywordLinks(out, g);
  std::string counts = DrawTransitions(out, g, st, ds.catalog);
  for (const auto& n : g.kws) DrawNode(out, n, "keyword", "#f0a04b", "#9c4221", KeywordName(ds.catalog, n.id));
  for (const auto& n : g.cats) DrawNode(out, n, "category", "#4a90d9", "#1a365d", CategoryName(ds.catalog, n.id));
  DrawGraphLabels(out, g, ds.catalog, counts);
  DrawGraphLegend(out, legend_y);
  DrawDescription(out, text_y, en, zh);
  out += "</svg>\n";
  return out;
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto [cp, n] = DecodeUtf8(text, i);
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') out += ' ';
        else if (cp == 0xFFFE || cp == 0xFFFF) out += "\xEF\xBF\xBD";
        else if (cp == 0xFFFD && n == 1) out += "\xEF\xBF\xBD";
        else out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

Status WriteMetricsSvg(const EvalReport& rep, const std::string& path) {
  try {
    return WriteFile(path, MetricsSvg(rep));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot draw metrics for ") + path + ": " + e.what());
  }
}

Status WriteInterestGraphSvg(const InterestStore& store, UserIdx user, Timestamp now, const std::string& path) {
  try {
    const UserState* st = store.Find(user);
    if (!st) return Status::NotFound(fmt::format("no interest state for user {}", user.v));
    return WriteFile(path, InterestSvg(store, user, now, *st));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot draw the interest graph for ") + path + ": " + e.what());
  }
}

}  // namespace vane
