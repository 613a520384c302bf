// Catalogue, users, queries and events held in memory with dense ids.
//
// A Dataset owns everything an import produces. Items, categories, keywords, users and queries are interned to
// dense ids; item keywords come from tokenising title, text and tags (English and Chinese), and search queries are
// tokenised into the same keyword vocabulary so a search can be matched against item text. Thread-compatible:
// concurrent reads are safe, writes need exclusive access.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/types.h"

namespace vane {

class BinaryWriter;
class BinaryReader;

// String interning: name <-> dense uint32 id.
class Vocab {
 public:
  uint32_t Intern(std::string_view name);
  std::optional<uint32_t> Find(std::string_view name) const;
  const std::string& Name(uint32_t id) const { return names_[id]; }
  size_t size() const { return names_.size(); }
  // Snapshot (core/binary_io.h): the names in id order; Load rebuilds the index and refuses repeated names.
  void Save(BinaryWriter& w) const;
  Status Load(BinaryReader& r);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> ids_;
  std::vector<std::string> names_;
};

// The words an item is known by: its title, each category and its text, joined by spaces. The catalogue's keywords
// come from it, and so do the subword tokenizer's corpus and the model's item text.
std::string ItemFullText(const Item& item);

class Catalog {
 public:
  static constexpr size_t kMaxKeywordsPerItem = 24;

  // Inserts or replaces the item with item.id. REQUIRES: !item.id.empty().
  ItemIdx Upsert(Item item);
  // Returns the item with this id, creating a bare one ({id, type "item"}) if absent: the fill rule for events
  // that name an item the catalogue does not know yet.
  ItemIdx FindOrAdd(std::string_view id);
  std::optional<ItemIdx> Find(std::string_view id) const;

  size_t size() const { return items_.size(); }
  const Item& item(ItemIdx i) const { return items_[i.v]; }
  std::span<const uint32_t> categories(ItemIdx i) const { return cats_[i.v]; }
  std::span<const uint32_t> keywords(ItemIdx i) const { return kws_[i.v]; }
  uint32_t type_id(ItemIdx i) const { return type_ids_[i.v]; }
  void SetAvailable(ItemIdx i, bool available) { items_[i.v].available = available; }

  const Vocab& category_vocab() const { return categories_; }
  const Vocab& keyword_vocab() const { return keywords_; }
  const Vocab& type_vocab() const { return types_; }
  Vocab& mutable_keyword_vocab() { return keywords_; }
  // Items per category (inverted index), kept current by Upsert.
  const std::vector<std::vector<ItemIdx>>& items_by_category() const { return by_cat_; }

  // Keyword ids of a text (tokenised with text::Tokenize, interned, de-duplicated, order kept).
  std::vector<uint32_t> InternKeywords(std::string_view text, size_t max = kMaxKeywordsPerItem);

  // Snapshot: every vocabulary, item and index as they are (keyword ids depend on the order texts and queries were
  // interned in, so nothing is re-tokenised). Load checks that every id is in range.
  void Save(BinaryWriter& w) const;
  Status Load(BinaryReader& r);

 private:
  void Index(uint32_t idx);
  Vocab ids_, categories_, keywords_, types_;
  std::vector<Item> items_;
  std::vector<std::vector<uint32_t>> cats_, kws_;
  std::vector<uint32_t> type_ids_;
  std::vector<std::vector<ItemIdx>> by_cat_;
};

struct Dataset {
  std::string name;
  ActionRegistry actions;
  Catalog catalog;
  Vocab users;                                 // external user id <-> UserIdx
  Vocab sessions;                              // external session id <-> dense session id
  Vocab queries;                               // normalised query text <-> query id
  std::vector<std::vector<uint32_t>> query_keywords;  // keyword ids of each query (catalog keyword vocab)
  std::vector<Event> events;
  // Absolute index of events[0]: a long-running server keeps only a window of recent events in memory (the store
  // has them all), see DropOldEvents. 0 for data loaded whole.
  uint64_t events_base = 0;
  bool has_timestamps = true;                  // false for order-only benchmark files (times are synthetic)

  UserIdx InternUser(std::string_view id) { return UserIdx(users.Intern(id)); }
  uint32_t InternQuery(std::string_view text);
  size_t num_users() const { return users.size(); }
  size_t num_items() const { return catalog.size(); }

  // Drops all but the newest `keep` events from memory (events_base advances by the number dropped).
  void DropOldEvents(size_t keep);
  // Stable sort of events by timestamp (ties keep import order).
  void SortByTime();
  // An event with an item and a positive effective weight: history and target for the evaluator and the model (a
  // rating of half the scale or less, under a preset that reads ratings, is negative feedback, not interest).
  bool IsPositiveItemEvent(const Event& e) const {
    return e.item.valid() && actions.EffectiveWeight(e.action, e.value, e.has_value) > 0;
  }
  // Event indices in the order a user lived them: by time (stable) when the data has timestamps, else file order.
  // A file sorted by user and item (MovieLens CSV) is not in time order; every split reads events through this.
  std::vector<uint32_t> TimeOrder() const;
  // Item sequences per user in TimeOrder, of the IsPositiveItemEvent events: the evaluator's history and targets.
  std::vector<std::vector<ItemIdx>> UserItemSequences() const;

  // Snapshot: everything above, the in-memory event window included. Load replaces this dataset and checks that
  // every event's ids are in range.
  void Save(BinaryWriter& w) const;
  Status Load(BinaryReader& r);
};

// An event of the dataset with its names (user, item, query, action, session) instead of indices: the cleaned
// values, so that cleaning it again reproduces the same event. No context: the dataset keeps none.
RawEvent ToRawEvent(const Dataset& ds, const Event& e);

}  // namespace vane
