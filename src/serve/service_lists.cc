// Listings and per-item views of the service (service.h): paging through users, items and the log, an item's
// events, similar users, and the removal of some of a user's events.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "vane/serve/service.h"

namespace vane {
namespace {

Status CheckPage(size_t n) {
  if (n >= 1 && n <= 1000) return Status::Ok();
  return Status::InvalidArgument("bad_parameter", fmt::format("n must be 1..1000, got {}", n));
}

// A stored event as the API names it (no context: memory keeps none).
RawEvent Named(const Dataset& ds, const Event& e) {
  RawEvent r;
  r.user = ds.users.Name(e.user.v);
  if (e.item.valid()) r.item = ds.catalog.item(e.item).id;
  if (e.query != kNoQuery) r.query = ds.queries.Name(e.query);
  r.action = ds.actions.spec(e.action).name;
  r.ts = e.ts;
  r.has_ts = true;
  r.value = e.value;
  r.has_value = e.has_value;
  return r;
}

}  // namespace

Result<std::vector<std::string>> Service::UserIdsAfter(const std::string& after, size_t n) const {
  VANE_RETURN_IF_ERROR(CheckPage(n));
  auto records = store_->UserRecordsAfter(after, n);
  if (!records.ok()) return Status::Unavailable("store_unavailable", records.status().ToString());
  std::vector<std::string> ids;
  {
    std::shared_lock lock(mu_);
    std::vector<const std::string*> live;  // users with events after `after`: the n smallest ids
    for (uint32_t u = 0; u < ds_->num_users(); ++u) {
      const std::string& id = ds_->users.Name(u);
      if (id <= after || deleted_.count(u)) continue;
      const UserState* st = engine_->interests().Find(UserIdx(u));
      if (st && st->num_events > 0) live.push_back(&id);
    }
    const size_t k = std::min(n, live.size());
    std::partial_sort(live.begin(), live.begin() + static_cast<std::ptrdiff_t>(k), live.end(),
                      [](const std::string* a, const std::string* b) { return *a < *b; });
    for (size_t i = 0; i < k; ++i) ids.push_back(*live[i]);
  }
  for (auto& [id, _] : *records) ids.push_back(std::move(id));  // both sorted: merge, drop repeats, keep n
  std::inplace_merge(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(records->size()), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.size() > n) ids.resize(n);
  return ids;
}

Result<std::vector<Item>> Service::ItemsAfter(const std::string& after, size_t n) const {
  VANE_RETURN_IF_ERROR(CheckPage(n));
  std::shared_lock lock(mu_);
  std::vector<const Item*> found;
  for (uint32_t i = 0; i < ds_->num_items(); ++i)
    if (const Item& it = ds_->catalog.item(ItemIdx(i)); it.id > after) found.push_back(&it);
  const size_t k = std::min(n, found.size());
  std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(k), found.end(),
                    [](const Item* a, const Item* b) { return a->id < b->id; });
  std::vector<Item> out;
  for (size_t i = 0; i < k; ++i) out.push_back(*found[i]);
  return out;
}

Result<Service::LogPage> Service::LogEvents(uint64_t from, size_t n, const std::function<bool(const RawEvent&)>& keep) const {
  VANE_RETURN_IF_ERROR(CheckPage(n));
  LogPage page;
  bool more = false;
  auto end = store_->LoadEvents(from, [&](uint64_t seq, RawEvent&& e) {
    if (more || !keep(e)) return;
    if (page.events.size() == n) {
      more = true;
      page.next = seq;
      return;
    }
    page.events.emplace_back(seq, std::move(e));
  });
  if (!end.ok()) return Status::Unavailable("store_unavailable", end.status().ToString());
  return page;
}

Result<std::vector<RawEvent>> Service::ItemEvents(const std::string& item, size_t n) const {
  VANE_RETURN_IF_ERROR(CheckPage(n));
  std::shared_lock lock(mu_);
  auto i = ds_->catalog.Find(item);
  if (!i) return Status::NotFound("unknown_item", "item '" + item + "' is not in the catalogue");
  std::vector<RawEvent> out;
  for (size_t k = ds_->events.size(); k-- > 0 && out.size() < n;) {
    const Event& e = ds_->events[k];
    if (e.item == *i && !deleted_.count(e.user.v)) out.push_back(Named(*ds_, e));
  }
  std::stable_sort(out.begin(), out.end(), [](const RawEvent& a, const RawEvent& b) { return a.ts > b.ts; });
  return out;
}

Result<std::vector<ScoredItem>> Service::SimilarUsers(const std::string& user, size_t n) const {
  VANE_RETURN_IF_ERROR(CheckPage(n));
  std::shared_lock lock(mu_);
  auto u = FindLiveUser(user);
  if (!u) return Status::NotFound("unknown_user", "user '" + user + "' has no events");
  const auto positive = [&](const Event& e) { return e.item.valid() && ds_->actions.spec(e.action).weight > 0; };
  std::unordered_set<uint32_t> mine;
  for (const Event& e : ds_->events)
    if (e.user.v == *u && positive(e)) mine.insert(e.item.v);
  // Each other user's distinct items, and how many of them are the user's.
  std::unordered_map<uint32_t, std::unordered_set<uint32_t>> items;
  for (const Event& e : ds_->events)
    if (e.user.v != *u && positive(e) && !deleted_.count(e.user.v)) items[e.user.v].insert(e.item.v);
  std::vector<std::pair<double, uint32_t>> scored;
  for (const auto& [v, theirs] : items) {
    size_t shared = 0;
    for (uint32_t i : theirs) shared += mine.count(i);
    if (shared > 0) scored.emplace_back(shared / std::sqrt(double(mine.size()) * double(theirs.size())), v);
  }
  const size_t k = std::min(n, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(k), scored.end(),
                    [&](const auto& a, const auto& b) {
                      return a.first > b.first || (a.first == b.first && ds_->users.Name(a.second) < ds_->users.Name(b.second));
                    });
  std::vector<ScoredItem> out;
  for (size_t i = 0; i < k; ++i) out.push_back({ds_->users.Name(scored[i].second), "user", "", scored[i].first});
  return out;
}

Result<uint64_t> Service::DeleteUserEvents(const std::string& user, const std::function<bool(const RawEvent&)>& drop) {
  auto events = store_->UserEvents(user, SIZE_MAX);
  if (!events.ok()) return Status::Unavailable("store_unavailable", events.status().ToString());
  auto record = store_->GetUser(user);
  if (!record.ok()) return Status::Unavailable("store_unavailable", record.status().ToString());
  std::vector<Result<RawEvent>> kept;
  uint64_t dropped = 0;
  for (auto it = events->rbegin(); it != events->rend(); ++it) {  // oldest first, as they came
    if (drop(it->second)) ++dropped;
    else kept.emplace_back(std::move(it->second));
  }
  if (dropped == 0) return Status::NotFound("unknown_feedback", "user '" + user + "' has no such feedback");
  VANE_RETURN_IF_ERROR(DeleteUser(user).status());
  // Until the rebuild is in, the deleted user's slot (and its duplicate index) would swallow the kept events.
  if (!WaitForRebuild(std::chrono::minutes(10)))
    return Status::Unavailable("rebuild_pending", "the feedback was removed, but the rebuild did not finish in time to "
                                                  "write the user's other events again");
  for (size_t k = 0; k < kept.size(); k += opt_.max_batch) {
    const size_t m = std::min(opt_.max_batch, kept.size() - k);
    auto r = IngestEvents(std::span<const Result<RawEvent>>(kept.data() + k, m));
    if (!r.ok()) return r.status().Prefixed("writing the kept events again: ");
  }
  if (*record) VANE_RETURN_IF_ERROR(PutUserRecord(user, **record));
  return dropped;
}

}  // namespace vane
