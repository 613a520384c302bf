#include "vane/events/dataset.h"

#include <algorithm>

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

std::vector<std::vector<ItemIdx>> Dataset::UserItemSequences() const {
  std::vector<std::vector<ItemIdx>> seqs(users.size());
  for (const Event& e : events) {
    if (!e.item.valid()) continue;
    if (actions.spec(e.action).weight < 0) continue;
    seqs[e.user.v].push_back(e.item);
  }
  return seqs;
}

}  // namespace vane
