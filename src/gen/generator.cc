#include "vane/gen/generator.h"

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

namespace vane::gen {
namespace {

// ---------------------------------------------------------------------------------------------------------------
// Portable randomness: only the raw mt19937_64 output is used (std distributions differ between libraries).

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : eng_(seed) {}
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(eng_() >> 11) * 0x1.0p-53; }
  // Uniform integer in [lo, hi] (inclusive). REQUIRES: lo <= hi.
  int64_t Int(int64_t lo, int64_t hi) {
    uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(eng_() % span);
  }
  size_t Index(size_t n) { return static_cast<size_t>(eng_() % n); }
  bool Chance(double p) { return Uniform() < p; }
  template <class T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Index(i)]);
  }
  // k distinct indices out of [0, n), in random order. k is clamped to n.
  std::vector<size_t> Distinct(size_t n, size_t k) {
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), size_t{0});
    k = std::min(k, n);
    for (size_t i = 0; i < k; ++i) std::swap(idx[i], idx[i + Index(n - i)]);
    idx.resize(k);
    return idx;
  }

 private:
  std::mt19937_64 eng_;
};

// Samples a rank in [0, n) with P(r) proportional to 1 / (r + 1)^s.
class Zipf {
 public:
  Zipf() = default;
  Zipf(size_t n, double s) : cdf_(n) {
    double acc = 0;
    for (size_t r = 0; r < n; ++r) {
      acc += 1.0 / std::pow(static_cast<double>(r + 1), s);
      cdf_[r] = acc;
    }
  }
  size_t Sample(Rng& rng) const {
    if (cdf_.empty()) return 0;
    double u = rng.Uniform() * cdf_.back();
    auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    return std::min(static_cast<size_t>(it - cdf_.begin()), cdf_.size() - 1);
  }
  size_t size() const { return cdf_.size(); }

 private:
  std::vector<double> cdf_;
};

// ---------------------------------------------------------------------------------------------------------------
// Built-in topics. Words are distinctive per topic: no English word and no Chinese token (a dictionary word, or a
// character bigram when vane runs without a dictionary) is shared between two topics, names included (checked by
// gen_test).

Topic T(std::string domain, std::string en, std::string zh, std::vector<std::string> words_en,
        std::vector<std::string> words_zh) {
  Topic t;
  t.domain = std::move(domain);
  t.name_en = std::move(en);
  t.name_zh = std::move(zh);
  t.words_en = std::move(words_en);
  t.words_zh = std::move(words_zh);
  return t;
}

std::vector<Topic> MakeTopics() {
  return {
      // ecommerce
      T("ecommerce", "Trail running", "越野跑",
        {"trail", "running", "shoes", "ultra", "marathon", "hydration", "vest", "cushioning"},
        {"跑鞋", "越野", "马拉松", "水袋", "跑步", "抓地"}),
      T("ecommerce", "Camping gear", "露营装备",
        {"tent", "sleeping", "lantern", "stove", "backpack", "hammock", "campfire", "tarp"},
        {"帐篷", "睡袋", "营地", "露营", "天幕", "炉具"}),
      T("ecommerce", "Kitchen", "厨房用品",
        {"knife", "skillet", "blender", "cookware", "spatula", "kettle", "wok", "cutlery"},
        {"菜刀", "炒锅", "砧板", "搅拌机", "水壶", "锅铲"}),
      T("ecommerce", "Smartphones", "智能手机",
        {"smartphone", "android", "iphone", "charger", "battery", "oled", "unlocked", "dualsim"},
        {"手机", "充电器", "电池", "屏幕", "安卓", "快充"}),
      T("ecommerce", "Skincare", "护肤",
        {"serum", "moisturizer", "sunscreen", "cleanser", "retinol", "toner", "hyaluronic", "spf"},
        {"面霜", "精华", "防晒", "洁面", "爽肤水", "保湿"}),
      // video
      T("video", "Sci-fi films", "科幻电影",
        {"scifi", "spaceship", "alien", "galaxy", "robot", "dystopia", "cyberpunk", "interstellar"},
        {"科幻", "外星人", "太空", "机器人", "星际", "赛博朋克"}),
      T("video", "Cooking shows", "美食节目",
        {"recipe", "chef", "baking", "cuisine", "pastry", "dumplings", "noodles", "barbecue"},
        {"厨师", "烘焙", "食谱", "饺子", "面条", "烧烤"}),
      T("video", "Documentaries", "纪录片",
        {"documentary", "wildlife", "history", "rainforest", "volcano", "expedition", "archive", "ancient"},
        {"纪录片", "野生动物", "历史", "火山", "探险", "古代"}),
      T("video", "Anime", "动漫",
        {"anime", "manga", "shonen", "mecha", "cosplay", "isekai", "shoujo", "chibi"},
        {"动漫", "漫画", "番剧", "二次元", "机甲", "声优"}),
      T("video", "Stand-up comedy", "脱口秀",
        {"standup", "comedian", "jokes", "sketch", "satire", "roast", "punchline", "improv"},
        {"脱口秀", "喜剧", "段子", "相声", "笑话", "吐槽"}),
      // social
      T("social", "Photography", "摄影",
        {"photography", "lens", "aperture", "portrait", "tripod", "mirrorless", "shutter", "exposure"},
        {"摄影", "镜头", "光圈", "人像", "三脚架", "快门"}),
      T("social", "Pets", "宠物",
        {"puppy", "kitten", "dogs", "cats", "leash", "grooming", "aquarium", "hamster"},
        {"宠物", "猫咪", "狗狗", "铲屎官", "猫粮", "遛狗"}),
      T("social", "Fitness", "健身",
        {"workout", "gym", "dumbbell", "squat", "yoga", "protein", "cardio", "abs"},
        {"健身", "哑铃", "深蹲", "瑜伽", "蛋白粉", "腹肌"}),
      T("social", "Gardening", "园艺",
        {"gardening", "seeds", "succulent", "compost", "bonsai", "orchid", "pruning", "greenhouse"},
        {"园艺", "多肉", "盆栽", "种子", "施肥", "兰花"}),
      T("social", "Fashion", "穿搭",
        {"outfit", "streetwear", "denim", "sneakers", "jacket", "vintage", "dress", "accessories"},
        {"穿搭", "街头", "牛仔", "球鞋", "外套", "复古"}),
      // news
      T("news", "Tech news", "科技新闻",
        {"startup", "semiconductor", "chips", "software", "cloud", "cybersecurity", "algorithm", "silicon"},
        {"科技", "芯片", "大模型", "创业", "软件", "云计算"}),
      T("news", "Football", "足球",
        {"football", "soccer", "striker", "goalkeeper", "league", "transfer", "penalty", "midfielder"},
        {"足球", "射门", "联赛", "转会", "点球", "门将"}),
      T("news", "Finance", "财经",
        {"stocks", "inflation", "bonds", "dividend", "earnings", "investors", "currency", "recession"},
        {"股市", "通胀", "债券", "分红", "财报", "汇率"}),
      T("news", "Health", "健康",
        {"nutrition", "vitamins", "vaccine", "diabetes", "cholesterol", "wellness", "hospital", "immunity"},
        {"营养", "维生素", "疫苗", "糖尿病", "胆固醇", "医院"}),
      T("news", "Climate", "气候",
        {"climate", "emissions", "renewable", "solar", "carbon", "wildfire", "drought", "glacier"},
        {"气候", "碳排放", "光伏", "干旱", "冰川", "山火"}),
      // travel
      T("travel", "Beach holidays", "海滩度假",
        {"beach", "snorkeling", "resort", "island", "surfing", "lagoon", "seaside", "sunbathing"},
        {"海滩", "潜水", "海岛", "冲浪", "度假村", "沙滩"}),
      T("travel", "Ski trips", "滑雪旅行",
        {"skiing", "snowboard", "slopes", "chalet", "powder", "gondola", "alpine", "apres"},
        {"滑雪", "雪场", "单板", "缆车", "雪道", "木屋"}),
      T("travel", "City breaks", "城市漫游",
        {"museums", "skyline", "nightlife", "boutique", "landmarks", "rooftop", "metro", "downtown"},
        {"博物馆", "地标", "夜景", "地铁", "老街", "美术馆"}),
      T("travel", "Hiking tours", "徒步",
        {"hiking", "trekking", "summit", "canyon", "waterfall", "ridge", "switchback", "backcountry"},
        {"登山", "峡谷", "瀑布", "山顶", "步道", "徒步"}),
      T("travel", "Cruises", "邮轮",
        {"cruise", "cabin", "deck", "voyage", "ports", "liner", "fjords", "caribbean"},
        {"邮轮", "船舱", "甲板", "航线", "港口", "峡湾"}),
  };
}

std::string ItemType(const std::string& domain) {
  if (domain == "ecommerce") return "product";
  if (domain == "video") return "video";
  if (domain == "social") return "post";
  if (domain == "news") return "article";
  if (domain == "travel") return "trip";
  return "item";
}

std::string Slug(const std::string& s) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out.push_back(static_cast<char>(std::tolower(u)));
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string Capitalize(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string Money(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

// Per-topic catalogue index used while generating events.
struct TopicItems {
  std::vector<size_t> ranked;  // non-page items, most popular first (indices into Generated::items)
  std::vector<size_t> pages;
  Zipf zipf;
};

struct ItemWords {
  std::vector<size_t> en, zh;
};

// ---------------------------------------------------------------------------------------------------------------
// Catalogue.

void BuildCatalogue(const GenOptions& opt, Generated& g, std::vector<TopicItems>& by_topic,
                    std::vector<ItemWords>& item_words) {
  Rng rng(SplitMix64(opt.seed ^ 0xC47A1061E5ULL));
  static const char* const kModProduct[] = {"X2", "Pro", "Lite", "Max", "Plus", "Air", "S", "GT", "Neo", "Mini"};
  static const char* const kModMedia[] = {"Ep. 1", "Part 2", "Live", "Special", "Season 3", "Highlights",
                                          "Uncut", "Remastered"};
  static const char* const kModPost[] = {"diary", "tips", "story", "Q&A", "haul", "weekly", "my take", "thread"};
  static const char* const kModArticle[] = {"today", "analysis", "explained", "report", "update", "opinion",
                                            "briefing", "breaking"};
  static const char* const kModTrip[] = {"3 days", "5 days", "7 days", "weekend", "family", "deluxe", "budget",
                                         "small group"};
  static const char* const kModPage[] = {"guide", "buying guide", "beginners' guide", "top picks"};
  static const char* const kZhPage[] = {"指南", "攻略", "入门", "推荐"};
  by_topic.assign(g.topics.size(), {});
  const int n_items = std::max(0, opt.items_per_topic);
  const int n_pages = std::max(0, opt.pages_per_topic);
  const Timestamp year = 365 * 86400;

  for (size_t t = 0; t < g.topics.size(); ++t) {
    const Topic& tp = g.topics[t];
    const std::string slug = Slug(tp.name_en);
    const std::string type = ItemType(tp.domain);
    for (int k = 0; k < n_items + n_pages; ++k) {
      const bool page = k >= n_items;
      Item it;
      it.type = page ? "page" : type;
      it.id = (page ? "p-" : "i-") + slug + "-" + std::to_string(page ? k - n_items : k);
      ItemWords w;
      w.en = rng.Distinct(tp.words_en.size(), static_cast<size_t>(rng.Int(2, 3)));
      w.zh = rng.Distinct(tp.words_zh.size(), 2);
      std::string en;
      for (size_t i = 0; i < w.en.size(); ++i) en += (i ? " " : "") + tp.words_en[w.en[i]];
      en = Capitalize(en);
      // Chinese keyword groups are separated by spaces, as in real listing titles ("GAP卫衣 连帽款 蓝色"): joined
      // without one, neighbouring words run together into other words ("山火光伏" reads 山/火光/伏).
      std::string zh;
      for (size_t z : w.zh) zh += (zh.empty() ? "" : " ") + tp.words_zh[z];
      if (page) {
        it.title = en + " " + kModPage[rng.Index(4)] + " " + zh + " " + kZhPage[rng.Index(4)];
      } else {
        const char* mod = "";
        if (it.type == "product") mod = kModProduct[rng.Index(10)];
        else if (it.type == "video") mod = kModMedia[rng.Index(8)];
        else if (it.type == "post") mod = kModPost[rng.Index(8)];
        else if (it.type == "article") mod = kModArticle[rng.Index(8)];
        else mod = kModTrip[rng.Index(8)];
        it.title = en + " " + mod + " " + zh;
      }
      // Description: words not in the title.
      std::vector<size_t> other_en, other_zh;
      for (size_t i = 0; i < tp.words_en.size(); ++i)
        if (std::find(w.en.begin(), w.en.end(), i) == w.en.end()) other_en.push_back(i);
      for (size_t i = 0; i < tp.words_zh.size(); ++i)
        if (std::find(w.zh.begin(), w.zh.end(), i) == w.zh.end()) other_zh.push_back(i);
      rng.Shuffle(other_en);
      rng.Shuffle(other_zh);
      auto en_at = [&](size_t i) { return other_en.empty() ? std::string() : tp.words_en[other_en[i % other_en.size()]]; };
      auto zh_at = [&](size_t i) { return other_zh.empty() ? std::string() : tp.words_zh[other_zh[i % other_zh.size()]]; };
      it.text = Capitalize(en_at(0)) + ", " + en_at(1) + " and " + en_at(2) + ". " +
                zh_at(0) + "，" + zh_at(1) + "，" + zh_at(2) + "。";
      it.categories = {tp.name_en};
      it.attributes.emplace_back("domain", tp.domain);
      it.attributes.emplace_back("category_zh", tp.name_zh);
      if (!page && it.type == "product") it.attributes.emplace_back("price", Money(5 + rng.Uniform() * 495));
      if (!page && it.type == "trip") it.attributes.emplace_back("price", Money(150 + rng.Uniform() * 2850));
      it.available = page || !rng.Chance(0.05);
      it.created = opt.start - rng.Int(3600, year);
      const size_t idx = g.items.size();
      if (page) by_topic[t].pages.push_back(idx);
      else by_topic[t].ranked.push_back(idx);
      g.items.push_back(std::move(it));
      item_words.push_back(std::move(w));
    }
    rng.Shuffle(by_topic[t].ranked);  // popularity rank independent of the id order
    by_topic[t].zipf = Zipf(by_topic[t].ranked.size(), 1.0);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Users and events.

struct UserGen {
  const GenOptions& opt;
  const Generated& g;
  const std::vector<TopicItems>& by_topic;
  const std::vector<ItemWords>& item_words;
  Rng rng;
  std::string user;
  bool zh = false;
  std::vector<size_t> long_term;
  Timestamp now = 0;
  std::string session;
  uint32_t segment = 0;
  size_t prev_intent = SIZE_MAX;
  std::vector<RawEvent>* events = nullptr;
  std::vector<TruthRow>* truth = nullptr;

  void Emit(size_t topic, bool noise, bool switch_point, std::string action, std::string item, std::string query,
            double value, bool has_value) {
    RawEvent e;
    e.user = user;
    e.item = std::move(item);
    e.query = std::move(query);
    e.action = std::move(action);
    e.ts = now;
    e.has_ts = true;
    e.value = value;
    e.has_value = has_value;
    e.session = session;
    events->push_back(std::move(e));
    TruthRow r;
    r.user = user;
    r.intent = g.topics[topic].name_en;
    r.noise = noise;
    r.switch_point = switch_point;
    r.segment = segment;
    truth->push_back(std::move(r));
  }

  // A popular-skewed item of `topic`; pages now and then. Returns an index into g.items, or SIZE_MAX if none.
  size_t PickItem(size_t topic) {
    const TopicItems& ti = by_topic[topic];
    if (!ti.pages.empty() && (ti.ranked.empty() || rng.Chance(0.12))) return ti.pages[rng.Index(ti.pages.size())];
    if (ti.ranked.empty()) return SIZE_MAX;
    return ti.ranked[ti.zipf.Sample(rng)];
  }

  // An item of `topic` whose title contains word `w` (of the user's query language), popularity-skewed.
  size_t PickMatching(size_t topic, size_t w) {
    for (int tries = 0; tries < 40; ++tries) {
      size_t i = PickItem(topic);
      if (i == SIZE_MAX) return i;
      const auto& words = zh ? item_words[i].zh : item_words[i].en;
      if (std::find(words.begin(), words.end(), w) != words.end()) return i;
    }
    return PickItem(topic);
  }

  size_t PickIntent() {
    for (int tries = 0; tries < 100; ++tries) {
      size_t t = (!long_term.empty() && rng.Chance(0.6)) ? long_term[rng.Index(long_term.size())]
                                                         : rng.Index(g.topics.size());
      if (t != prev_intent) return t;
    }
    return (prev_intent + 1) % g.topics.size();
  }

  void Step() { now += rng.Int(20, 90); }

  // The state of the intent segment being generated.
  struct SegmentState {
    size_t topic = 0;
    const Topic* tp = nullptr;
    bool shop = false, trip = false;
    std::vector<std::string> cart;
    size_t last_item = SIZE_MAX;
    size_t pending_word = SIZE_MAX;  // the first word of the last query: the next view tends to match it
  };

  void Search(SegmentState& s, bool sw) {
    const auto& words = zh ? s.tp->words_zh : s.tp->words_en;
    std::vector<size_t> w = rng.Distinct(words.size(), static_cast<size_t>(rng.Int(1, 3)));
    std::string q;
    for (size_t i = 0; i < w.size(); ++i) q += (i ? " " : "") + words[w[i]];
    s.pending_word = w.empty() ? SIZE_MAX : w[0];
    Emit(s.topic, false, sw, "search", "", q, 0, false);
  }

  // A view (sometimes a click) of an item of the topic, matching the last query's first word when there was one.
  void View(SegmentState& s, bool sw) {
    size_t i = s.pending_word != SIZE_MAX ? PickMatching(s.topic, s.pending_word) : PickItem(s.topic);
    s.pending_word = SIZE_MAX;
    if (i == SIZE_MAX) return Search(s, sw);
    s.last_item = i;
    Emit(s.topic, false, sw, rng.Chance(0.15) ? "click" : "view", g.items[i].id, "", 0, false);
  }

  // An off-intent view or click (noise); false, and nothing emitted, when the other topic drawn has no item.
  bool EmitNoise(SegmentState& s) {
    size_t other = rng.Index(g.topics.size() - 1);
    if (other >= s.topic) ++other;
    size_t i = PickItem(other);
    if (i == SIZE_MAX) return false;
    Emit(s.topic, true, false, rng.Chance(0.3) ? "click" : "view", g.items[i].id, "", 0, false);
    return true;
  }

  // A negative action: taking an item out of the cart, or a skip, dislike or hide of an item of the topic.
  void EmitNegative(SegmentState& s) {
    if (!s.cart.empty() && rng.Chance(0.5)) {
      size_t c = rng.Index(s.cart.size());
      Emit(s.topic, false, false, "remove_from_cart", s.cart[c], "", 0, false);
      s.cart.erase(s.cart.begin() + static_cast<std::ptrdiff_t>(c));
      return;
    }
    size_t i = PickItem(s.topic);
    if (i == SIZE_MAX) return Search(s, false);
    double u = rng.Uniform();
    const char* a = s.tp->domain == "video" || s.tp->domain == "news" ? (u < 0.6 ? "skip" : u < 0.9 ? "dislike" : "hide")
                                                                      : (u < 0.7 ? "dislike" : u < 0.85 ? "skip" : "hide");
    Emit(s.topic, false, false, a, g.items[i].id, "", 0, false);
  }

  // An ordinary on-intent event: dwell on or like/share the item just viewed, cart and purchase (shops and trips),
  // a refining search, or another view.
  void EmitEngaged(SegmentState& s) {
    const double u = rng.Uniform();
    if (s.last_item != SIZE_MAX && u < 0.18) {
      // Dwell on the item just viewed: log-uniform 3 s .. 10 min.
      double secs = std::round(3.0 * std::exp(rng.Uniform() * std::log(200.0)));
      Emit(s.topic, false, false, "dwell", g.items[s.last_item].id, "", secs, true);
    } else if (s.last_item != SIZE_MAX && u < 0.28) {
      Emit(s.topic, false, false, rng.Chance(0.75) ? "like" : "share", g.items[s.last_item].id, "", 0, false);
    } else if ((s.shop || s.trip) && s.last_item != SIZE_MAX && u < 0.36 && g.items[s.last_item].type != "page" &&
               g.items[s.last_item].available) {
      const std::string& id = g.items[s.last_item].id;
      if (std::find(s.cart.begin(), s.cart.end(), id) == s.cart.end()) {
        s.cart.push_back(id);
        Emit(s.topic, false, false, "cart", id, "", 1, s.shop);
      } else {
        Emit(s.topic, false, false, "purchase", id, "", 1, s.shop);
        s.cart.erase(std::find(s.cart.begin(), s.cart.end(), id));
      }
    } else if ((s.shop || s.trip) && !s.cart.empty() && u < 0.45) {
      size_t c = rng.Index(s.cart.size());
      Emit(s.topic, false, false, "purchase", s.cart[c], "", static_cast<double>(rng.Int(1, 2)), s.shop);
      s.cart.erase(s.cart.begin() + static_cast<std::ptrdiff_t>(c));
    } else if (u >= 0.45 && u < 0.51) {  // a refining search
      Search(s, false);
    } else {
      View(s, false);
    }
  }

  void Segment() {
    SegmentState s;
    s.topic = PickIntent();
    s.tp = &g.topics[s.topic];
    s.shop = s.tp->domain == "ecommerce";
    s.trip = s.tp->domain == "travel";
    const bool first_of_user = segment == 0;
    const int n = static_cast<int>(rng.Int(std::max(1, opt.events_per_intent_min),
                                           std::max(std::max(1, opt.events_per_intent_min),
                                                    opt.events_per_intent_max)));
    // Noise is never the segment's first event; scale so that the overall share matches opt.noise.
    const double p_noise = n > 1 ? std::min(1.0, opt.noise * n / (n - 1)) : 0.0;
    // Likewise negatives, drawn among the events that are not noise.
    const double p_neg =
        n > 1 && p_noise < 1 ? std::min(1.0, opt.negative_share * n / ((n - 1) * (1 - p_noise))) : 0.0;
    for (int k = 0; k < n; ++k) {
      if (k == 0) {
        const bool sw = !first_of_user;  // the first event of a later segment is a switch
        if (rng.Chance(0.5)) Search(s, sw);
        else View(s, sw);
      } else if (!(rng.Chance(p_noise) && EmitNoise(s))) {
        if (rng.Chance(p_neg)) EmitNegative(s);
        else EmitEngaged(s);
      }
      Step();
    }
    prev_intent = s.topic;
    ++segment;
  }

  void Run(int user_index) {
    user = std::to_string(user_index);
    user.insert(user.begin(), 'u');  // (not "u" + ...: g++ 12 -Wrestrict false positive)
    zh = rng.Chance(opt.zh_share);
    // Long-term topics: 1-3, further ones usually from the first one's domain.
    const size_t n_lt = static_cast<size_t>(rng.Int(1, 3));
    long_term.push_back(rng.Index(g.topics.size()));
    for (int tries = 0; long_term.size() < n_lt && tries < 50; ++tries) {
      size_t t = rng.Index(g.topics.size());
      if (rng.Chance(0.6)) {
        std::vector<size_t> same;
        for (size_t i = 0; i < g.topics.size(); ++i)
          if (g.topics[i].domain == g.topics[long_term[0]].domain) same.push_back(i);
        t = same[rng.Index(same.size())];
      }
      if (std::find(long_term.begin(), long_term.end(), t) == long_term.end()) long_term.push_back(t);
    }
    now = opt.start + rng.Int(0, 2 * 86400);
    const int min_i = std::max(1, opt.intents_per_session_min);
    const int max_i = std::max(min_i, opt.intents_per_session_max);
    for (int s = 0; s < opt.sessions_per_user; ++s) {
      session = user + "-s" + std::to_string(s);
      const int n_seg = static_cast<int>(rng.Int(min_i, max_i));
      for (int j = 0; j < n_seg; ++j) {
        if (j > 0) now += rng.Int(10, 120);  // the switch itself: a short pause
        Segment();
      }
      now += rng.Int(3 * 3600, 3 * 86400);  // next session hours to days later
    }
  }
};

}  // namespace

const std::vector<Topic>& BuiltinTopics() {
  static const std::vector<Topic> kTopics = MakeTopics();
  return kTopics;
}

Generated Generate(const GenOptions& opt) {
  Generated g;
  g.topics = BuiltinTopics();
  std::vector<TopicItems> by_topic;
  std::vector<ItemWords> item_words;
  BuildCatalogue(opt, g, by_topic, item_words);

  const int users = std::max(0, opt.users);
  g.long_term.resize(static_cast<size_t>(users));
  std::vector<RawEvent> events;
  std::vector<TruthRow> truth;
  for (int u = 0; u < users; ++u) {
    // One stream per user: a user's data does not depend on how many users are generated.
    UserGen ug{opt, g, by_topic, item_words, Rng(SplitMix64(opt.seed ^ SplitMix64(static_cast<uint64_t>(u) + 1)))};
    ug.events = &events;
    ug.truth = &truth;
    ug.Run(u);
    for (size_t t : ug.long_term) g.long_term[static_cast<size_t>(u)].push_back(g.topics[t].name_en);
  }

  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return events[a].ts < events[b].ts; });
  g.events.reserve(events.size());
  g.truth.reserve(truth.size());
  for (size_t i : order) {
    g.events.push_back(std::move(events[i]));
    g.truth.push_back(std::move(truth[i]));
  }
  return g;
}

Status WriteGenerated(const Generated& g, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(dir), ec);
  if (ec) return Status::IoError("cannot create directory '" + dir + "': " + ec.message());
  using Json = nlohmann::ordered_json;

  auto write = [&](const std::string& name, auto&& fill) -> Status {
    const std::string path = (fs::path(dir) / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IoError("cannot open '" + path + "' for writing: " + std::strerror(errno));
    fill(out);
    out.flush();
    if (!out) return Status::IoError("write failed for '" + path + "'");
    return Status::Ok();
  };
  auto line = [](std::ofstream& out, const Json& j) {
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  };

  VANE_RETURN_IF_ERROR(write("items.jsonl", [&](std::ofstream& out) {
    for (const Item& it : g.items) {
      Json j;
      j["id"] = it.id;
      j["type"] = it.type;
      j["title"] = it.title;
      j["text"] = it.text;
      j["categories"] = it.categories;
      Json attrs = Json::object();
      for (const auto& [k, v] : it.attributes) attrs[k] = v;
      j["attributes"] = std::move(attrs);
      j["available"] = it.available;
      j["created"] = it.created;
      line(out, j);
    }
  }));
  VANE_RETURN_IF_ERROR(write("events.jsonl", [&](std::ofstream& out) {
    for (const RawEvent& e : g.events) {
      Json j;
      j["user"] = e.user;
      if (!e.item.empty()) j["item"] = e.item;
      if (!e.query.empty()) j["query"] = e.query;
      j["action"] = e.action;
      j["ts"] = e.ts;
      if (e.has_value) j["value"] = e.value;
      if (!e.session.empty()) j["session"] = e.session;
      line(out, j);
    }
  }));
  VANE_RETURN_IF_ERROR(write("truth.jsonl", [&](std::ofstream& out) {
    for (const TruthRow& r : g.truth) {
      Json j;
      j["user"] = r.user;
      j["intent"] = r.intent;
      j["noise"] = r.noise;
      j["switch"] = r.switch_point;
      j["segment"] = r.segment;
      line(out, j);
    }
  }));
  return Status::Ok();
}

}  // namespace vane::gen
