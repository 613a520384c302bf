#include "vane/events/dataset.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "vane/core/binary_io.h"
#include "vane/text/tokenize.h"

namespace vane {

uint32_t Vocab::Intern(std::string_view name) {
  auto it = ids_.find(name);
  if (it != ids_.end()) return it->second;
  auto id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(names_.back(), id);
  return id;
}

std::optional<uint32_t> Vocab::Find(std::string_view name) const {
  auto it = ids_.find(name);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::string ItemFullText(const Item& item) {
  std::string all = item.title;
  for (const auto& c : item.categories) {
    all += ' ';
    all += c;
  }
  if (!item.text.empty()) {
    all += ' ';
    all += item.text;
  }
  return all;
}

std::vector<uint32_t> Catalog::InternKeywords(std::string_view txt, size_t max) {
  std::vector<uint32_t> out;
  for (const std::string& tok : text::Tokenize(txt)) {
    uint32_t id = keywords_.Intern(tok);
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    if (out.size() >= max) break;
  }
  return out;
}

ItemIdx Catalog::Upsert(Item item) {
  VANE_CHECK(!item.id.empty(), "item id must not be empty");
  uint32_t idx = ids_.Intern(item.id);
  if (idx == items_.size()) {
    items_.push_back(std::move(item));
    cats_.emplace_back();
    kws_.emplace_back();
    type_ids_.push_back(0);
  } else {
    // Replacing: drop the item from its old categories' lists.
    for (uint32_t c : cats_[idx]) {
      auto& v = by_cat_[c];
      v.erase(std::remove(v.begin(), v.end(), ItemIdx(idx)), v.end());
    }
    items_[idx] = std::move(item);
  }
  Index(idx);
  return ItemIdx(idx);
}

void Catalog::Index(uint32_t idx) {
  const Item& it = items_[idx];
  type_ids_[idx] = types_.Intern(it.type.empty() ? std::string_view("item") : std::string_view(it.type));
  auto& cats = cats_[idx];
  cats.clear();
  for (const auto& c : it.categories) {
    if (c.empty()) continue;
    uint32_t id = categories_.Intern(c);
    if (std::find(cats.begin(), cats.end(), id) != cats.end()) continue;
    cats.push_back(id);
    if (by_cat_.size() <= id) by_cat_.resize(id + 1);
    by_cat_[id].push_back(ItemIdx(idx));
  }
  kws_[idx] = InternKeywords(ItemFullText(it));
}

ItemIdx Catalog::FindOrAdd(std::string_view id) {
  if (auto f = Find(id)) return *f;
  Item item;
  item.id = std::string(id);
  return Upsert(std::move(item));
}

std::optional<ItemIdx> Catalog::Find(std::string_view id) const {
  auto f = ids_.Find(id);
  if (!f) return std::nullopt;
  return ItemIdx(*f);
}

uint32_t Dataset::InternQuery(std::string_view text) {
  // Queries are interned by their normalised text so repeated searches share one id.
  std::string norm = text::Normalize(text);
  uint32_t id = queries.Intern(norm);
  if (id == query_keywords.size()) query_keywords.push_back(catalog.InternKeywords(norm, 16));
  return id;
}

void Dataset::DropOldEvents(size_t keep) {
  if (events.size() <= keep) return;
  size_t drop = events.size() - keep;
  events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(drop));
  events.shrink_to_fit();
  events_base += drop;
}

void Dataset::SortByTime() {
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.ts < b.ts; });
}

std::vector<uint32_t> Dataset::TimeOrder() const {
  std::vector<uint32_t> order(events.size());
  std::iota(order.begin(), order.end(), 0u);
  if (has_timestamps)
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return events[a].ts < events[b].ts; });
  return order;
}

std::vector<std::vector<ItemIdx>> Dataset::UserItemSequences() const {
  std::vector<std::vector<ItemIdx>> seqs(users.size());
  for (uint32_t idx : TimeOrder()) {
    const Event& e = events[idx];
    if (IsPositiveItemEvent(e)) seqs[e.user.v].push_back(e.item);
  }
  return seqs;
}

// Snapshots ---------------------------------------------------------------------------------------------------------

void Vocab::Save(BinaryWriter& w) const { w.StrVec(names_); }

Status Vocab::Load(BinaryReader& r) {
  r.StrVec(names_);
  ids_.clear();
  ids_.reserve(names_.size());
  for (uint32_t i = 0; i < names_.size() && r.ok(); ++i)
    if (!ids_.emplace(names_[i], i).second) r.Fail(fmt::format("vocabulary repeats the name '{}'", names_[i]));
  return r.status();
}

namespace {

void SaveItem(BinaryWriter& w, const Item& it) {
  w.Str(it.id);
  w.Str(it.type);
  w.Str(it.title);
  w.Str(it.text);
  w.StrVec(it.categories);
  w.U64(it.attributes.size());
  for (const auto& [k, v] : it.attributes) {
    w.Str(k);
    w.Str(v);
  }
  w.Bool(it.available);
  w.I64(it.created);
}

Item LoadItem(BinaryReader& r) {
  Item it;
  it.id = r.Str();
  it.type = r.Str();
  it.title = r.Str();
  it.text = r.Str();
  r.StrVec(it.categories);
  uint64_t n = r.Count(16, "item attributes");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string k = r.Str();
    it.attributes.emplace_back(std::move(k), r.Str());
  }
  it.available = r.Bool();
  it.created = r.I64();
  return it;
}

// Fails the reader unless every id in `lists` is below `limit`.
template <class T>
void CheckIds(BinaryReader& r, const std::vector<std::vector<T>>& lists, size_t limit, const char* what) {
  for (const auto& list : lists)
    for (const T& x : list) {
      uint32_t v;
      if constexpr (std::is_same_v<T, uint32_t>) v = x; else v = x.v;
      if (v >= limit) return r.Fail(fmt::format("{} id {} out of range (size {})", what, v, limit));
    }
}

}  // namespace

void Catalog::Save(BinaryWriter& w) const {
  w.Tag("catalog");
  ids_.Save(w);
  categories_.Save(w);
  keywords_.Save(w);
  types_.Save(w);
  w.U64(items_.size());
  for (const Item& it : items_) SaveItem(w, it);
  w.NestedPodVec(cats_);
  w.NestedPodVec(kws_);
  w.PodVec(type_ids_);
  w.NestedPodVec(by_cat_);
}

Status Catalog::Load(BinaryReader& r) {
  r.Expect("catalog");
  VANE_RETURN_IF_ERROR(ids_.Load(r));
  VANE_RETURN_IF_ERROR(categories_.Load(r));
  VANE_RETURN_IF_ERROR(keywords_.Load(r));
  VANE_RETURN_IF_ERROR(types_.Load(r));
  uint64_t n = r.Count(8, "items");
  items_.clear();
  items_.reserve(n);
  for (uint64_t i = 0; i < n && r.ok(); ++i) items_.push_back(LoadItem(r));
  r.NestedPodVec(cats_);
  r.NestedPodVec(kws_);
  r.PodVec(type_ids_);
  r.NestedPodVec(by_cat_);
  if (!r.ok()) return r.status();
  if (items_.size() != ids_.size() || cats_.size() != n || kws_.size() != n || type_ids_.size() != n)
    r.Fail("catalogue tables of different sizes");
  CheckIds(r, cats_, categories_.size(), "category");
  CheckIds(r, kws_, keywords_.size(), "keyword");
  CheckIds(r, by_cat_, items_.size(), "item");
  if (by_cat_.size() > categories_.size()) r.Fail("more category lists than categories");
  for (uint32_t t : type_ids_)
    if (t >= types_.size() && r.ok()) r.Fail("item type id out of range");
  return r.status();
}

void Dataset::Save(BinaryWriter& w) const {
  w.Tag("dataset");
  w.Str(name);
  actions.Save(w);
  catalog.Save(w);
  users.Save(w);
  sessions.Save(w);
  queries.Save(w);
  w.NestedPodVec(query_keywords);
  w.PodVec(events);
  w.U64(events_base);
  w.Bool(has_timestamps);
}

Status Dataset::Load(BinaryReader& r) {
  r.Expect("dataset");
  name = r.Str();
  VANE_RETURN_IF_ERROR(actions.Load(r));
  VANE_RETURN_IF_ERROR(catalog.Load(r));
  VANE_RETURN_IF_ERROR(users.Load(r));
  VANE_RETURN_IF_ERROR(sessions.Load(r));
  VANE_RETURN_IF_ERROR(queries.Load(r));
  r.NestedPodVec(query_keywords);
  r.PodVec(events);
  events_base = r.U64();
  has_timestamps = r.Bool();
  if (!r.ok()) return r.status();
  if (query_keywords.size() != queries.size()) r.Fail("query keywords and queries differ in number");
  CheckIds(r, query_keywords, catalog.keyword_vocab().size(), "query keyword");
  for (const Event& e : events) {
    if (!r.ok()) break;
    if (e.user.v >= users.size() || (e.item.valid() && e.item.v >= catalog.size()) ||
        (e.query != kNoQuery && e.query >= queries.size()) || (e.session != kNoSession && e.session >= sessions.size()) ||
        e.action >= actions.size())
      r.Fail("an event names an id out of range");
  }
  return r.status();
}

RawEvent ToRawEvent(const Dataset& ds, const Event& e) {
  RawEvent r;
  r.user = ds.users.Name(e.user.v);
  if (e.item.valid()) r.item = ds.catalog.item(e.item).id;
  if (e.query != kNoQuery) r.query = ds.queries.Name(e.query);
  r.action = ds.actions.spec(e.action).name;
  r.ts = e.ts;
  r.has_ts = true;
  r.value = e.value;
  r.has_value = e.has_value;
  if (e.session != kNoSession) r.session = ds.sessions.Name(e.session);
  return r;
}

}  // namespace vane
