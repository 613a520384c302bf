// Small hand-made catalogues and event helpers shared by tests.
#pragma once

#include <string>
#include <vector>

#include "vane/events/dataset.h"
#include "vane/registry/trainer.h"
#include "vane/retrieve/source.h"

namespace vane::testing {

inline Item MakeItem(std::string id, std::string type, std::string title, std::vector<std::string> cats) {
  Item it;
  it.id = std::move(id);
  it.type = std::move(type);
  it.title = std::move(title);
  it.categories = std::move(cats);
  return it;
}

// A dataset with the ecommerce actions and a small two-topic catalogue:
//   r0..r4 "Trail running" products, h0..h4 "Hiking" products, pg0..pg1 "Trail running" pages.
inline Dataset TwoTopicDataset() {
  Dataset ds;
  ds.name = "two-topic";
  ds.actions = ActionRegistry::Preset("ecommerce").value();
  for (int i = 0; i < 5; ++i)
    ds.catalog.Upsert(MakeItem("r" + std::to_string(i), "product", "trail running shoes model " + std::to_string(i),
                               {"Trail running"}));
  for (int i = 0; i < 5; ++i)
    ds.catalog.Upsert(MakeItem("h" + std::to_string(i), "product", "hiking boots alpine " + std::to_string(i),
                               {"Hiking"}));
  for (int i = 0; i < 2; ++i)
    ds.catalog.Upsert(MakeItem("pg" + std::to_string(i), "page", "trail running guide " + std::to_string(i),
                               {"Trail running"}));
  return ds;
}

// A behaviour record as a client sends it (before cleaning), with a time.
inline RawEvent RawEv(std::string user, std::string item, std::string action, Timestamp ts) {
  RawEvent e;
  e.user = std::move(user);
  e.item = std::move(item);
  e.action = std::move(action);
  e.ts = ts;
  e.has_ts = true;
  return e;
}

inline Event Ev(Dataset& ds, const std::string& user, const std::string& item, const std::string& action,
                Timestamp ts, const std::string& query = "") {
  Event e;
  e.user = ds.InternUser(user);
  if (!item.empty()) e.item = *ds.catalog.Find(item);
  if (!query.empty()) e.query = ds.InternQuery(query);
  e.action = *ds.actions.Find(action);
  e.ts = ts;
  ds.events.push_back(e);
  return e;
}

// A planted sequential pattern: every user walks the catalogue i -> i+1 -> i+2 ... from a seeded start (with
// `two_walks`, half the users step by 2 instead), order-only times; item i is in category "c<i % 5>".
inline Dataset ChainDataset(int users, int items, int len, uint64_t seed, bool two_walks = false) {
  Dataset ds;
  ds.name = "chains";
  ds.actions = ActionRegistry::Preset("implicit").value();
  ds.has_timestamps = false;
  for (int i = 0; i < items; ++i) ds.catalog.Upsert(MakeItem("i" + std::to_string(i), "item", "", {"c" + std::to_string(i % 5)}));
  uint64_t x = seed;
  for (int u = 0; u < users; ++u) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const int start = static_cast<int>((x >> 33) % static_cast<uint64_t>(items));
    const int step = two_walks ? 1 + static_cast<int>((x >> 20) % 2) : 1;
    for (int k = 0; k < len; ++k) {
      Event e;
      e.user = ds.InternUser("u" + std::to_string(u));
      e.item = ItemIdx(static_cast<uint32_t>((start + k * step) % items));
      e.action = 0;
      e.ts = 1000 + k * 60;
      ds.events.push_back(e);
    }
  }
  return ds;
}

// A model slot that scores nothing: enough for the lifecycle (which version serves), not for ranking.
class EmptySource : public CandidateSource {
 public:
  std::string_view name() const override { return "model"; }
  void Observe(const Event&, const UserState&) override {}
  void Generate(const RetrievalContext&, ScoreBuffer&) const override {}
  size_t MemoryBytes() const override { return 0; }
};

inline SourceFactory EmptyFactory() {
  return [](const Dataset&, const InterestStore&) -> std::unique_ptr<CandidateSource> {
    return std::make_unique<EmptySource>();
  };
}

}  // namespace vane::testing
