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
    if (e.item == *i && !deleted_.count(e.user.v) && (erased_.empty() || !Erased(e))) out.push_back(ToRawEvent(*ds_, e));
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
  // The lock order and the drain of DeleteUser: no snapshot is written meanwhile, and no batch of the user is in
  // flight when the store rewrites the blocks holding their events.
  std::lock_guard snap(snap_mu_);
  std::lock_guard records(records_mu_);
  std::lock_guard gate(write_gate_);
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready (store unavailable)");
  VANE_RETURN_IF_ERROR(Drain());
  auto events = store_->UserEvents(user, SIZE_MAX);
  if (!events.ok()) return Status::Unavailable("store_unavailable", events.status().ToString());
  std::vector<RawEvent> gone;
  for (const auto& [seq, e] : *events)
    if (drop(e)) gone.push_back(e);
  if (gone.empty()) return Status::NotFound("unknown_feedback", "user '" + user + "' has no such feedback");
  ++snap_epoch_;  // every snapshot may hold the events: removed first, as for a deletion
  if (Status s = snapshots_.RemoveAll(); !s.ok()) return Status::Unavailable("snapshot_unavailable", s.ToString());
  {
    std::lock_guard l(seq_mu_);
    snapshot_seq_ = 0;
  }
  auto n = store_->EraseUserEvents(user, [&](uint64_t, const RawEvent& e) { return drop(e); });
  if (!n.ok()) return StoreFailed(n.status());
  if (Status w = store_->PutMeta("trained_at", "none"); !w.ok()) return StoreFailed(w);
  {
    std::unique_lock lock(mu_);
    trained_at_seq_ = UINT64_MAX;
    if (auto u = ds_->users.Find(user)) {
      ++erase_gen_;
      for (RawEvent& e : gone) erased_.push_back({erase_gen_, user, std::move(e.item), std::move(e.action), e.ts});
      const uint32_t who[] = {*u};
      notify_.Note(who, ds_->num_users());
    }
  }
  {
    std::lock_guard m(maint_mu_);
    ++deletions_;
    rebuild_wanted_ = true;
  }
  maint_cv_.notify_all();
  return *n;
}

bool Service::Erased(const Event& e) const {
  for (const ErasedEvent& x : erased_)
    if (x.ts == e.ts && e.item.valid() && x.user == ds_->users.Name(e.user.v) && x.item == ds_->catalog.item(e.item).id &&
        x.action == ds_->actions.spec(e.action).name)
      return true;
  return false;
}

Result<FeedbackRecord> Service::Feedback(FeedbackRecord fb, std::string* position) {
  if (!opt_.shared_log) return experiments_.Record(std::move(fb));
  // Cluster mode: checked and filled in here, counted by every node when it applies the record.
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready");
  VANE_ASSIGN_OR_RETURN(fb, experiments_.Prepare(std::move(fb)));
  const nlohmann::json body = {{"user", fb.user},         {"item", fb.item},     {"type", fb.type},
                               {"strategy", fb.strategy}, {"variant", fb.variant}, {"source", fb.source},
                               {"origin", fb.origin}};
  VANE_ASSIGN_OR_RETURN(auto applied, AppendRecord("feedback", fb.user.empty() ? std::string("-") : fb.user,
                                                   body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  if (position) *position = applied.first;
  if (!applied.second.status.ok()) return applied.second.status;
  return fb;
}

Result<uint64_t> Service::DeleteFeedback(const std::string& user, const std::string& item, const std::string& type,
                                         std::string* position) {
  auto drop = [&](const RawEvent& e) { return e.item == item && (type.empty() || e.action == type); };
  if (!opt_.shared_log) return DeleteUserEvents(user, drop);
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready");
  {  // nothing to remove at this node's position: nothing is written into the log
    auto events = store_->UserEvents(user, SIZE_MAX);
    if (!events.ok()) return Status::Unavailable("store_unavailable", events.status().ToString());
    if (std::none_of(events->begin(), events->end(), [&](const auto& p) { return drop(p.second); }))
      return Status::NotFound("unknown_feedback", "user '" + user + "' has no such feedback on this node (send the "
                                                                    "position of their last write to be sure)");
  }
  VANE_ASSIGN_OR_RETURN(auto applied, AppendRecord("unfeedback", user,
                                                   nlohmann::json{{"item", item}, {"type", type}}.dump(
                                                       -1, ' ', false, nlohmann::json::error_handler_t::replace)));
  if (position) *position = applied.first;
  if (!applied.second.status.ok()) return applied.second.status;
  return applied.second.accepted;
}

}  // namespace vane
