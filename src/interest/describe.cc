#include "vane/interest/describe.h"

#include <algorithm>
#include <cmath>

namespace vane {
namespace {

std::string Times(int n, bool zh) {
  if (zh) return std::to_string(n) + " 次";
  if (n == 1) return "once";
  if (n == 2) return "twice";
  return std::to_string(n) + " times";
}

std::string Span(int64_t s, bool zh) {
  if (s < 60) return zh ? "1 分钟内" : "in 1 min";
  if (s < 3600) return zh ? std::to_string((s + 59) / 60) + " 分钟内" : "in " + std::to_string((s + 59) / 60) + " min";
  if (s < 86400) return zh ? std::to_string((s + 3599) / 3600) + " 小时内" : "in " + std::to_string((s + 3599) / 3600) + " h";
  return zh ? std::to_string((s + 86399) / 86400) + " 天内" : "in " + std::to_string((s + 86399) / 86400) + " days";
}

// Counts the recent events that touch category c: searches whose words point to c, and item events in c.
void Evidence(const InterestStore& store, const UserState& st, Timestamp now, InterestLine& line) {
  const Dataset& ds = store.dataset();
  int64_t oldest = now;
  for (int i = 0; i < st.num_recent; ++i) {
    const RecentEvent& r = st.Recent(i);
    bool hit = false;
    if (r.is_query) {
      if (r.ref < ds.query_keywords.size())
        for (uint32_t k : ds.query_keywords[r.ref])
          for (auto [c, share] : store.KeywordCategories(k)) hit |= c == line.category;
      if (hit) ++line.searches;
    } else if (ds.actions.spec(r.action).weight > 0) {
      for (uint32_t c : ds.catalog.categories(ItemIdx(r.ref))) hit |= c == line.category;
      if (hit) ++line.item_events;
    }
    if (hit) oldest = std::min<int64_t>(oldest, r.ts);
  }
  line.span_s = std::max<int64_t>(0, now - oldest);
  std::vector<std::string> en, zh;
  if (line.searches > 0) {
    en.push_back("searched " + Times(line.searches, false) + " " + Span(line.span_s, false));
    zh.push_back(Span(line.span_s, true) + "搜索 " + Times(line.searches, true));
  }
  if (line.item_events > 0) {
    en.push_back(std::to_string(line.item_events) + (line.item_events == 1 ? " item" : " items") +
                 (line.searches > 0 ? "" : " " + Span(line.span_s, false)));
    zh.push_back("浏览 " + std::to_string(line.item_events) + " 件");
  }
  for (size_t i = 0; i < en.size(); ++i) line.evidence_en += (i ? ", " : "") + en[i];
  for (size_t i = 0; i < zh.size(); ++i) line.evidence_zh += (i ? "，" : "") + zh[i];
}

std::string JoinNames(const std::vector<InterestLine>& v, bool zh) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += zh ? "、" : ", ";
    out += zh ? v[i].name_zh : v[i].name;
  }
  return out;
}

}  // namespace

const char* TrendName(Trend t) {
  switch (t) {
    case Trend::kRising: return "rising";
    case Trend::kFading: return "fading";
    case Trend::kSteady: return "steady";
  }
  return "steady";
}

std::string CategoryNameZh(const Catalog& cat, uint32_t category) {
  const auto& by = cat.items_by_category();
  if (category < by.size()) {
    for (size_t i = 0; i < by[category].size() && i < 4; ++i)
      for (const auto& [k, v] : cat.item(by[category][i]).attributes)
        if (k == "category_zh" && !v.empty()) return v;
  }
  return cat.category_vocab().Name(category);
}

namespace {

// One line per category of the user, ordered by short-term weight: shares now and usually, trend, evidence.
std::vector<InterestLine> CategoryLines(const InterestStore& store, const UserState& st, UserIdx user, Timestamp now) {
  const Catalog& cat = store.dataset().catalog;
  auto cats = store.Categories(user, now);
  float ts = 0, tl = 0;
  for (auto& c : cats) { ts += std::max(0.0f, c.s); tl += std::max(0.0f, c.l); }
  std::vector<InterestLine> lines;
  for (auto& c : cats) {
    InterestLine line;
    line.category = c.id;
    line.name = cat.category_vocab().Name(c.id);
    line.name_zh = CategoryNameZh(cat, c.id);
    line.now_share = ts > 0 ? std::max(0.0f, c.s) / ts : 0;
    line.usual_share = tl > 0 ? std::max(0.0f, c.l) / tl : 0;
    line.like_probability = store.LikeProbability(user, c.id, now);
    if (line.now_share >= 0.15f && line.now_share > 1.3f * line.usual_share) line.trend = Trend::kRising;
    else if (line.usual_share >= 0.15f && line.now_share < 0.5f * line.usual_share) line.trend = Trend::kFading;
    Evidence(store, st, now, line);
    lines.push_back(std::move(line));
  }
  return lines;
}

// Sorts the lines into now (top two of at least 20% now), usually (top three of at least 10% usually), rising and
// fading. Outside a session (InSession) nothing is now, rising or fading: the short-term weights are ~0 and their
// shares are noise.
void SelectLines(const std::vector<InterestLine>& lines, bool in_session, InterestSummary& out) {
  std::vector<InterestLine> by_l = lines;
  std::sort(by_l.begin(), by_l.end(), [](auto& a, auto& b) { return a.usual_share > b.usual_share; });
  for (auto& l : by_l)
    if (l.usual_share >= 0.1f && out.usually.size() < 3) out.usually.push_back(l);
  if (!in_session) return;
  // Lines are ordered by short-term weight already.
  for (auto& l : lines)
    if (l.now_share >= 0.2f && out.now.size() < 2) out.now.push_back(l);
  for (auto& l : lines) {
    if (l.trend == Trend::kRising) out.rising.push_back(l);
    if (l.trend == Trend::kFading) out.fading.push_back(l);
  }
}

// The likely next interests (Markov prediction) and the strongest keywords now (none outside a session).
void AddOutlook(const InterestStore& store, UserIdx user, Timestamp now, bool in_session, InterestSummary& out) {
  const Catalog& cat = store.dataset().catalog;
  // The five most likely switches: the Markov candidates the affinity source scores (docs/interest.md), so every
  // "your interests often move on to C next" reason names a category listed here.
  for (auto [c, p] : store.PredictNextCategory(user, 5, /*exclude_current=*/true)) {
    InterestLine l;
    l.category = c;
    l.name = cat.category_vocab().Name(c);
    l.name_zh = CategoryNameZh(cat, c);
    out.likely_next.emplace_back(std::move(l), p);
  }
  for (auto& k : store.Keywords(user, now)) {
    if (!in_session || out.keywords_now.size() >= 5 || k.s <= 0) break;
    out.keywords_now.push_back(cat.keyword_vocab().Name(k.id));
  }
}

// "Now: <name> (rising, <evidence>); ... ." in English and Chinese.
void WriteNow(const InterestSummary& out, std::string& en, std::string& zh) {
  if (out.now.empty()) {
    en += "Nothing in particular right now. ";
    zh += "目前没有明显的即时兴趣。";
    return;
  }
  en += "Now: ";
  zh += "现在：";
  for (size_t i = 0; i < out.now.size(); ++i) {
    const auto& l = out.now[i];
    std::string d = l.trend == Trend::kRising ? "rising" : "";
    std::string dz = l.trend == Trend::kRising ? "上升中" : "";
    if (!l.evidence_en.empty()) d += (d.empty() ? "" : ", ") + l.evidence_en;
    if (!l.evidence_zh.empty()) dz += (dz.empty() ? "" : "，") + l.evidence_zh;
    en += (i ? "; " : "") + l.name + (d.empty() ? "" : " (" + d + ")");
    zh += (i ? "；" : "") + l.name_zh + (dz.empty() ? "" : "（" + dz + "）");
  }
  en += ". ";
  zh += "。";
}

// The summary in words: now, usually, rising (beyond those named under now), fading, likely next.
void WriteText(InterestSummary& out) {
  std::string en, zh;
  WriteNow(out, en, zh);
  if (!out.usually.empty()) {
    en += "Usually: " + JoinNames(out.usually, false) + ". ";
    zh += "一直喜欢：" + JoinNames(out.usually, true) + "。";
  }
  std::vector<InterestLine> rising_rest;  // rising interests not already named under "Now"
  for (const auto& l : out.rising)
    if (std::none_of(out.now.begin(), out.now.end(), [&](const InterestLine& n) { return n.category == l.category; }))
      rising_rest.push_back(l);
  if (!rising_rest.empty()) {
    en += "Rising: " + JoinNames(rising_rest, false) + ". ";
    zh += "正在上升：" + JoinNames(rising_rest, true) + "。";
  }
  if (!out.fading.empty()) {
    en += "Fading: " + JoinNames(out.fading, false) + ". ";
    zh += "正在淡出：" + JoinNames(out.fading, true) + "。";
  }
  if (!out.likely_next.empty()) {
    en += "Likely next: " + out.likely_next[0].first.name + ".";
    zh += "接下来可能：" + out.likely_next[0].first.name_zh + "。";
  }
  while (!en.empty() && en.back() == ' ') en.pop_back();
  out.text_en = std::move(en);
  out.text_zh = std::move(zh);
}

}  // namespace

InterestSummary Describe(const InterestStore& store, UserIdx user, Timestamp now) {
  InterestSummary out;
  const UserState* st = store.Find(user);
  if (!st || st->num_events == 0) {
    out.text_en = "No activity yet: showing what is popular.";
    out.text_zh = "暂无行为：先推荐热门内容。";
    return out;
  }
  const bool in_session = InSession(*st, now, store.config());
  out.in_session = in_session;
  out.last_ts = st->last_ts;
  SelectLines(CategoryLines(store, *st, user, now), in_session, out);
  AddOutlook(store, user, now, in_session, out);
  WriteText(out);
  return out;
}

}  // namespace vane
