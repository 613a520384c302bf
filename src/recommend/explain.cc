// Explanations in words, built only from the evidence that scored an item.
#include <string>

#include "vane/interest/describe.h"
#include "vane/recommend/engine.h"

namespace vane {
namespace {

// Past-tense verb for an action, en and zh.
std::pair<std::string, std::string> Verb(const ActionSpec& a) {
  const std::string& n = a.name;
  if (n == "purchase") return {"bought", "购买了"};
  if (n == "booking") return {"booked", "预订了"};
  if (n == "cart") return {"added to your cart", "加入了购物车"};
  if (n == "like") return {"liked", "喜欢了"};
  if (n == "share") return {"shared", "分享了"};
  if (n == "comment") return {"commented on", "评论了"};
  if (n == "rating") return {"rated", "评分了"};
  if (n == "save" || n == "bookmark") return {"saved", "收藏了"};
  if (n == "click") return {"clicked", "点击了"};
  if (n == "dwell") return {"spent time on", "浏览了"};
  if (n == "complete") return {"finished", "看完了"};
  if (n == "interact") return {"chose", "选择了"};
  return {"viewed", "浏览了"};
}

}  // namespace

namespace {
bool ShareACategory(const Catalog& cat, ItemIdx a, ItemIdx b) {
  if (!a.valid() || !b.valid() || a.v >= cat.size() || b.v >= cat.size()) return false;
  for (uint32_t x : cat.categories(a))
    for (uint32_t y : cat.categories(b))
      if (x == y) return true;
  return false;
}
}  // namespace

std::string Engine::Explain(const Evidence& ev, ItemIdx item, Timestamp now, bool zh) const {
  const Catalog& cat = ds_.catalog;
  auto cat_name = [&](uint32_t c) {
    if (c >= cat.category_vocab().size()) return std::string("?");
    return zh ? CategoryNameZh(cat, c) : cat.category_vocab().Name(c);
  };
  switch (ev.kind) {
    case EvidenceKind::kAfterItem: {
      if (ev.ref >= cat.size()) break;
      const Item& it = cat.item(ItemIdx(ev.ref));
      std::string title = it.title.empty() ? it.id : it.title;
      if (ev.ts == 0) {  // from the long history (item_knn), where the event's time is not kept
        if (zh) return "常与你以前选过的「" + title + "」一起被选择";
        return "often chosen with \"" + title + "\", from your history";
      }
      auto [en, zv] = Verb(ds_.actions.spec(ev.action));
      std::string ago = Ago(ev.ts, now, zh);
      if (zh) return "你" + ago + zv + "「" + title + "」，很多人接着会选这个";
      return "often chosen after \"" + title + "\", which you " + en + " " + ago;
    }
    case EvidenceKind::kSearched: {
      std::string q = ev.ref < ds_.queries.size() ? ds_.queries.Name(ev.ref) : "";
      if (zh) return "因为你" + Ago(ev.ts, now, true) + "搜索了「" + q + "」";
      return "because you searched '" + q + "' " + Ago(ev.ts, now, false);
    }
    case EvidenceKind::kKeyword: {
      std::string k = ev.ref < cat.keyword_vocab().size() ? cat.keyword_vocab().Name(ev.ref) : "";
      if (zh) return "符合你最近关注的「" + k + "」";
      return "matches your recent interest in '" + k + "'";
    }
    case EvidenceKind::kCategoryNow:
      if (zh) return "你现在正关注" + cat_name(ev.ref);
      return "you are into " + cat_name(ev.ref) + " right now";
    case EvidenceKind::kCategoryLong:
      if (zh) return "你一直喜欢" + cat_name(ev.ref);
      return "you have long liked " + cat_name(ev.ref);
    case EvidenceKind::kNextCategory:
      if (zh) return "按你的浏览习惯，接下来常看" + cat_name(ev.ref);
      return "your interests often move on to " + cat_name(ev.ref) + " next";
    case EvidenceKind::kTrending:
      if (ds_.has_timestamps) {
        if (zh) return cat_name(ev.ref) + "今日热门";
        return "trending in " + cat_name(ev.ref) + " today";
      }
      [[fallthrough]];
    case EvidenceKind::kPopular:
      if (zh) return "大家都在看";
      return "popular with everyone right now";
    case EvidenceKind::kModel: {
      // ref: the history item the sequence model attended to most when predicting, or num_items + query id when
      // it was a search.
      if (ev.ref >= cat.size() && ev.ref - cat.size() < ds_.queries.size()) {
        const std::string& q = ds_.queries.Name(ev.ref - static_cast<uint32_t>(cat.size()));
        if (zh) return "行为序列模型预测，主要依据你搜索的「" + q + "」";
        return "predicted from your sequence of actions, mostly from your search '" + q + "'";
      }
      if (ev.ref >= cat.size() || !ShareACategory(cat, ItemIdx(ev.ref), item))
        return zh ? "模型根据你的行为序列推荐" : "predicted from your sequence of actions";
      const Item& it = cat.item(ItemIdx(ev.ref));
      std::string title = it.title.empty() ? it.id : it.title;
      if (zh) return "行为序列模型预测，主要依据你看过的「" + title + "」";
      return "predicted from your sequence of actions, mostly from \"" + title + "\"";
    }
    case EvidenceKind::kGenerated: {
      std::string k = ev.ref < cat.keyword_vocab().size() ? cat.keyword_vocab().Name(ev.ref) : "";
      if (zh) return "新内容，符合模型为你写下的接下来的兴趣「" + k + "」";
      return "new here, and it matches what the model wrote you would look for next: '" + k + "'";
    }
    case EvidenceKind::kNone:
      break;
  }
  return zh ? "热门推荐" : "popular pick";
}

}  // namespace vane
