#include "vane/eval/plot.h"

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
  if (!out) return Status::IoError("cannot write " + path);
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

std::string MetricsSvg(const EvalReport& rep) {
  struct Metric {
    const char* label;
    const char* key;
    double RankingMetrics::*field;
  };
  static constexpr Metric kMetrics[] = {{"HR@10", "hr@10", &RankingMetrics::hr10},
                                        {"NDCG@10", "ndcg@10", &RankingMetrics::ndcg10},
                                        {"HR@20", "hr@20", &RankingMetrics::hr20},
                                        {"NDCG@20", "ndcg@20", &RankingMetrics::ndcg20},
                                        {"MRR", "mrr", &RankingMetrics::mrr}};
  const auto& strategies = rep.test;
  const size_t n = strategies.size();
  const double width = 960, left = 110, right = 96;
  const double plot_w = width - left - right;
  const double bar_h = 16, bar_gap = 3, group_gap = 20;

  std::string title = "Test metrics: " + (rep.dataset.empty() ? std::string("dataset") : rep.dataset) +
                      ", protocol " + rep.protocol + " (" + ProtocolName(rep.protocol) + ")";
  size_t test_users = n ? strategies[0].metrics.users : 0;
  std::string subtitle = fmt::format("{} test users ranked against all items; {} users, {} items, {} events",
                                     test_users, rep.users, rep.items, rep.events);

  // Legend rows, wrapped to the plot width.
  struct LegendItem {
    double x, y;
  };
  std::vector<LegendItem> legend(n);
  double lx = left, ly = 88;
  for (size_t i = 0; i < n; ++i) {
    double item_w = 26 + 7.5 * static_cast<double>(DisplayUnits(strategies[i].name)) + 22;
    if (lx > left && lx + item_w > width - 20) {
      lx = left;
      ly += 22;
    }
    legend[i] = {lx, ly};
    lx += item_w;
  }
  const double plot_top = (n ? ly : 70) + 26;
  const double group_h = n ? static_cast<double>(n) * (bar_h + bar_gap) - bar_gap : bar_h;
  const double plot_h = 10 + 5 * group_h + 4 * group_gap + 10;
  const double axis_y = plot_top + plot_h;
  const double height = axis_y + 62;

  double vmax = 0;
  for (const auto& s : strategies)
    for (const auto& m : kMetrics) vmax = std::max(vmax, s.metrics.*m.field);
  double step = vmax > 0 ? NiceStep(vmax / 5) : 0.2;
  int ticks = vmax > 0 ? static_cast<int>(std::ceil(vmax / step - 1e-9)) : 5;
  ticks = std::max(ticks, 1);
  const double axis_max = step * ticks;
  const int decimals = StepDecimals(step);
  auto xof = [&](double v) { return left + std::clamp(v, 0.0, axis_max) / axis_max * plot_w; };

  std::string out;
  Open(out, width, height, title);
  Text(out, width / 2, 34, title, fmt::format("text-anchor=\"middle\" font-size=\"20\" font-weight=\"bold\" fill=\"{}\"", kInk));
  Text(out, width / 2, 58, subtitle, fmt::format("text-anchor=\"middle\" font-size=\"13\" fill=\"{}\"", kMuted));
  for (size_t i = 0; i < n; ++i) {
    const char* color = kPalette[i % std::size(kPalette)];
    Put(out, "<rect x=\"{}\" y=\"{}\" width=\"18\" height=\"12\" fill=\"{}\"/>\n", F(legend[i].x), F(legend[i].y - 10), color);
    Text(out, legend[i].x + 24, legend[i].y, strategies[i].name, fmt::format("font-size=\"13\" fill=\"{}\"", kInk));
  }
  if (n == 0) Text(out, width / 2, plot_top + plot_h / 2, "No test results", fmt::format("text-anchor=\"middle\" font-size=\"16\" fill=\"{}\"", kMuted));

  // Grid, ticks and axis.
  out += "<g class=\"axis\">\n";
  for (int t = 0; t <= ticks; ++t) {
    double v = step * t, x = xof(v);
    Put(out, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1\"/>\n", F(x), F(plot_top), F(axis_y), kGrid);
    Put(out, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1\"/>\n", F(x), F(axis_y), F(axis_y + 5), kAxis);
    Text(out, x, axis_y + 20, fmt::format("{:.{}f}", v, decimals), fmt::format("text-anchor=\"middle\" font-size=\"12\" fill=\"{}\"", kMuted));
  }
  Put(out, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"1\"/>\n", F(left), F(axis_y), F(left + plot_w), kAxis);
  Put(out, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1\"/>\n", F(left), F(plot_top), F(axis_y), kAxis);
  Text(out, left + plot_w / 2, axis_y + 44, "score on the test set (higher is better)",
       fmt::format("text-anchor=\"middle\" font-size=\"13\" fill=\"{}\"", kMuted));
  out += "</g>\n";

  // Bars, grouped by metric.
  double y = plot_top + 10;
  for (const auto& m : kMetrics) {
    Text(out, left - 10, y + group_h / 2 + 5, m.label,
         fmt::format("text-anchor=\"end\" font-size=\"14\" font-weight=\"bold\" fill=\"{}\"", kInk));
    for (size_t i = 0; i < n; ++i) {
      double v = strategies[i].metrics.*m.field;
      double by = y + static_cast<double>(i) * (bar_h + bar_gap);
      double w = xof(v) - left;
      std::string value = fmt::format("{:.4f}", v);
      Put(out,
          "<rect class=\"bar\" data-strategy=\"{0}\" data-metric=\"{1}\" data-value=\"{2}\" x=\"{3}\" y=\"{4}\" "
          "width=\"{5}\" height=\"{6}\" fill=\"{7}\"><title>{0} {8}: {2}</title></rect>\n",
          XmlEscape(strategies[i].name), m.key, value, F(left), F(by), F(w), F(bar_h),
          kPalette[i % std::size(kPalette)], m.label);
      Text(out, left + w + 5, by + bar_h - 3.5, value, fmt::format("font-size=\"12\" fill=\"{}\"", kInk));
    }
    y += group_h + group_gap;
  }
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

std::string InterestSvg(const InterestStore& store, UserIdx user, Timestamp now, const UserState& st) {
  const Dataset& ds = store.dataset();
  const Catalog& cat = ds.catalog;
  const double width = 1000, cx = 500, cy = 420, r_cat = 150, r_kw = 290;

  std::vector<Node> cats, kws;
  for (const auto& c : store.Categories(user, now)) cats.push_back({c.id, c.s, c.l});
  for (const auto& k : store.Keywords(user, now)) kws.push_back({k.id, k.s, k.l});
  SizeNodes(cats, 44);
  SizeNodes(kws, 24);
  auto cat_name = [&](uint32_t id) -> std::string {
    return id < cat.category_vocab().size() ? cat.category_vocab().Name(id) : fmt::format("category {}", id);
  };
  auto kw_name = [&](uint32_t id) -> std::string {
    return id < cat.keyword_vocab().size() ? cat.keyword_vocab().Name(id) : fmt::format("keyword {}", id);
  };

  // Categories on the inner circle, strongest short-term first, clockwise from the top (a lone one in the centre).
  for (size_t i = 0; i < cats.size(); ++i) {
    if (cats.size() == 1) {
      cats[i].x = cx;
      cats[i].y = cy;
      continue;
    }
    cats[i].angle = -kPi / 2 + 2 * kPi * static_cast<double>(i) / static_cast<double>(cats.size());
    cats[i].x = cx + r_cat * std::cos(cats[i].angle);
    cats[i].y = cy + r_cat * std::sin(cats[i].angle);
  }
  auto find_cat = [&](uint32_t id) -> const Node* {
    for (const auto& c : cats)
      if (c.id == id) return &c;
    return nullptr;
  };

  // Keywords on the outer circle, ordered by the angle of the category they point to most, evenly spaced and
  // rotated to sit as close as possible to those categories.
  struct KwLink {
    const Node* cat;
    float share;
  };
  std::vector<std::vector<KwLink>> links(kws.size());
  std::vector<std::pair<double, size_t>> order;
  for (size_t k = 0; k < kws.size(); ++k) {
    for (const auto& [c, share] : store.KeywordCategories(kws[k].id)) {
      if (links[k].size() >= 3 || share < 0.05f) break;
      if (const Node* n = find_cat(c)) links[k].push_back({n, share});
    }
    double pref = -kPi / 2 + 2 * kPi * static_cast<double>(k) / static_cast<double>(std::max<size_t>(kws.size(), 1));
    if (!links[k].empty()) pref = links[k][0].cat->angle;
    order.emplace_back(pref, k);
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (!kws.empty()) {
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
      n.x = cx + r_kw * std::cos(n.angle);
      n.y = cy + r_kw * std::sin(n.angle);
    }
  }

  std::string title = "Interest graph of user " +
                      (user.v < ds.users.size() ? ds.users.Name(user.v) : fmt::format("#{}", user.v));
  std::string subtitle = fmt::format("{} at {}; {} events, {} categories, {} keywords",
                                     ds.name.empty() ? std::string("dataset") : ds.name,
                                     FormatTime(now, ds.has_timestamps), st.num_events, cats.size(), kws.size());
  const double graph_bottom = cy + r_kw + 44;
  InterestSummary sum = Describe(store, user, now);
  std::vector<std::string> en = Wrap(sum.text_en, 116), zh = Wrap(sum.text_zh, 112);
  const double legend_y = graph_bottom + 8;
  const double text_y = legend_y + 64;
  const double height = text_y + 30 + 21.0 * static_cast<double>(en.size()) + 36 + 21.0 * static_cast<double>(zh.size()) + 20;

  std::string out;
  Open(out, width, height, title);
  out +=
      "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" "
      "markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#2d3748\"/></marker></defs>\n";
  Text(out, width / 2, 36, title, fmt::format("text-anchor=\"middle\" font-size=\"20\" font-weight=\"bold\" fill=\"{}\"", kInk));
  Text(out, width / 2, 60, subtitle, fmt::format("text-anchor=\"middle\" font-size=\"13\" fill=\"{}\"", kMuted));
  Put(out, "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"none\" stroke=\"{}\" stroke-dasharray=\"2 6\"/>\n", F(cx), F(cy), F(r_kw), kGrid);
  if (cats.empty() && kws.empty())
    Text(out, cx, cy, "No interests yet", fmt::format("text-anchor=\"middle\" font-size=\"16\" fill=\"{}\"", kMuted));

  // Keyword -> category links.
  out += "<g class=\"keyword-links\">\n";
  for (size_t k = 0; k < kws.size(); ++k)
    for (const auto& ln : links[k])
      Put(out,
          "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#a0aec0\" stroke-width=\"{}\" stroke-dasharray=\"5 4\"/>\n",
          F(kws[k].x), F(kws[k].y), F(ln.cat->x), F(ln.cat->y), fmt::format("{:.1f}", 1.0 + 2.0 * ln.share));
  out += "</g>\n";

  // Transitions between category slots.
  auto slot_node = [&](int slot) -> const Node* { return slot < st.num_cats ? find_cat(st.cats[slot].id) : nullptr; };
  uint16_t max_count = 1;
  for (int e = 0; e < st.num_edges; ++e) max_count = std::max(max_count, st.edges[e].count);
  out += "<g class=\"transitions\" fill=\"none\" stroke=\"#2d3748\">\n";
  std::string counts;
  for (int e = 0; e < st.num_edges; ++e) {
    const auto& edge = st.edges[e];
    const Node* a = slot_node(edge.from);
    const Node* b = slot_node(edge.to);
    if (!a || !b || edge.count == 0) continue;
    double sw = 1.5 + 5.0 * edge.count / max_count;
    std::string attrs = fmt::format("class=\"edge\" data-from=\"{}\" data-to=\"{}\" data-count=\"{}\" stroke-width=\"{:.1f}\" "
                                    "stroke-opacity=\"0.75\" marker-end=\"url(#arrow)\"",
                                    XmlEscape(cat_name(a->id)), XmlEscape(cat_name(b->id)), edge.count, sw);
    double lx, ly;
    if (a == b) {
      // Self-loop: staying with the interest. Drawn outside the node, away from the centre.
      double ux = std::cos(a->angle), uy = std::sin(a->angle);
      if (cats.size() == 1) ux = 0, uy = -1;
      double r = a->Extent() + 2, far = r + 46;
      double px = -uy, py = ux;
      double x0 = a->x + r * (ux * 0.87 + px * 0.5), y0 = a->y + r * (uy * 0.87 + py * 0.5);
      double x1 = a->x + r * (ux * 0.87 - px * 0.5), y1 = a->y + r * (uy * 0.87 - py * 0.5);
      double c0x = a->x + far * ux + 28 * px, c0y = a->y + far * uy + 28 * py;
      double c1x = a->x + far * ux - 28 * px, c1y = a->y + far * uy - 28 * py;
      Put(out, "<path d=\"M{},{} C{},{} {},{} {},{}\" {}/>\n", F(x0), F(y0), F(c0x), F(c0y), F(c1x), F(c1y), F(x1), F(y1), attrs);
      lx = a->x + (r + 36) * ux;
      ly = a->y + (r + 36) * uy;
    } else {
      double dx = b->x - a->x, dy = b->y - a->y, d = std::hypot(dx, dy);
      if (d < 1) continue;
      double ux = dx / d, uy = dy / d, bend = 0.18 * d;
      double mx = (a->x + b->x) / 2 + bend * uy, my = (a->y + b->y) / 2 - bend * ux;  // control point, to the left
      auto trim = [&](const Node* n, double tx, double ty) {
        double vx = tx - n->x, vy = ty - n->y, vd = std::max(std::hypot(vx, vy), 1e-9), r = n->Extent() + 3;
        return std::pair<double, double>(n->x + vx / vd * r, n->y + vy / vd * r);
      };
      auto [x0, y0] = trim(a, mx, my);
      auto [x1, y1] = trim(b, mx, my);
      Put(out, "<path d=\"M{},{} Q{},{} {},{}\" {}/>\n", F(x0), F(y0), F(mx), F(my), F(x1), F(y1), attrs);
      lx = 0.25 * x0 + 0.5 * mx + 0.25 * x1;
      ly = 0.25 * y0 + 0.5 * my + 0.25 * y1;
    }
    Put(counts,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\" fill=\"{}\" stroke=\"#ffffff\" "
        "stroke-width=\"3\" paint-order=\"stroke\">{}</text>\n",
        F(lx), F(ly + 4), kInk, fmt::format("×{}", edge.count));
  }
  out += "</g>\n";

  // Nodes.
  for (const auto& n : kws) DrawNode(out, n, "keyword", "#f0a04b", "#9c4221", kw_name(n.id));
  for (const auto& n : cats) DrawNode(out, n, "category", "#4a90d9", "#1a365d", cat_name(n.id));

  // Labels last, so they sit on top.
  out += "<g class=\"labels\">\n";
  for (const auto& n : cats) {
    std::string name = cat_name(n.id), zh = CategoryNameZh(cat, n.id);
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
  for (const auto& n : kws) {
    double ux = std::cos(n.angle), uy = std::sin(n.angle);
    double r = n.Extent() + 8;
    double x = n.x + r * ux, y = n.y + r * uy + 4;
    const char* anchor = ux > 0.3 ? "start" : ux < -0.3 ? "end" : "middle";
    if (uy > 0.3 && std::abs(ux) <= 0.3) y += 8;
    Text(out, x, y, kw_name(n.id), fmt::format("text-anchor=\"{}\" font-size=\"13\" fill=\"{}\"", anchor, kInk));
    Text(out, x, y + 14, Weight(n.s) + " / " + Weight(n.l), fmt::format("text-anchor=\"{}\" font-size=\"11\" fill=\"{}\"", anchor, kMuted));
  }
  out += counts;
  out += "</g>\n";

  // Legend.
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

  // The same interests in words.
  out += "<g class=\"describe\">\n";
  y = text_y;
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
  out += "</g>\n</svg>\n";
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
