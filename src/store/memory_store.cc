// The in-memory store: every container behind one mutex. The oracle the other implementations are tested against.
#include <algorithm>
#include <set>

#include "vane/store/store.h"

namespace vane {
namespace {

class MemoryStore : public Store {
 public:
  Status AppendEvents(uint64_t first_seq, std::span<const RawEvent> events) override {
    std::lock_guard l(mu_);
    uint64_t seq = first_seq;
    for (const RawEvent& e : events) {
      if (auto old = events_.find(seq); old != events_.end()) by_user_[old->second.user].erase(seq);
      events_[seq] = e;
      by_user_[e.user].insert(seq);
      ++seq;
    }
    return Status::Ok();
  }
  Result<std::vector<std::pair<uint64_t, RawEvent>>> UserEvents(std::string_view user, size_t limit) const override {
    std::lock_guard l(mu_);
    std::vector<std::pair<uint64_t, RawEvent>> out;
    auto it = by_user_.find(std::string(user));
    if (it == by_user_.end()) return out;
    for (auto s = it->second.rbegin(); s != it->second.rend() && out.size() < limit; ++s) out.emplace_back(*s, events_.at(*s));
    return out;
  }
  Result<uint64_t> DeleteUser(std::string_view user) override {
    std::lock_guard l(mu_);
    uint64_t n = 0;
    if (auto it = by_user_.find(std::string(user)); it != by_user_.end()) {
      for (uint64_t s : it->second) n += events_.erase(s);
      by_user_.erase(it);
    }
    users_.erase(std::string(user));
    return n;
  }
  Result<uint64_t> EraseUserEvents(std::string_view user, const EventFilter& drop) override {
    std::lock_guard l(mu_);
    auto it = by_user_.find(std::string(user));
    if (it == by_user_.end()) return uint64_t{0};
    uint64_t n = 0;
    for (auto s = it->second.begin(); s != it->second.end();) {
      if (drop(*s, events_.at(*s))) {
        events_.erase(*s);
        s = it->second.erase(s);
        ++n;
      } else {
        ++s;
      }
    }
    if (it->second.empty()) by_user_.erase(it);
    return n;
  }
  Result<uint64_t> LoadEvents(uint64_t from_seq, const std::function<void(uint64_t, RawEvent&&)>& on_event) const override {
    std::vector<std::pair<uint64_t, RawEvent>> copy;
    uint64_t next = 0;
    {
      std::lock_guard l(mu_);
      for (auto it = events_.lower_bound(from_seq); it != events_.end(); ++it) copy.emplace_back(it->first, it->second);
      if (!events_.empty()) next = events_.rbegin()->first + 1;
    }
    for (auto& [s, e] : copy) on_event(s, std::move(e));  // outside the lock: the callback may call back in
    return next;
  }
  Status PutItems(std::span<const Item> items) override {
    std::lock_guard l(mu_);
    for (const Item& it : items) items_[it.id] = it;
    return Status::Ok();
  }
  Status DeleteItem(std::string_view id) override {
    std::lock_guard l(mu_);
    items_.erase(std::string(id));
    return Status::Ok();
  }
  Status LoadItems(const std::function<void(Item&&)>& on_item) const override {
    std::vector<Item> copy;
    {
      std::lock_guard l(mu_);
      for (const auto& [id, it] : items_) copy.push_back(it);
    }
    for (Item& it : copy) on_item(std::move(it));
    return Status::Ok();
  }
  Status PutUser(std::string_view id, std::string_view record) override {
    std::lock_guard l(mu_);
    users_[std::string(id)] = std::string(record);
    return Status::Ok();
  }
  Result<std::optional<std::string>> GetUser(std::string_view id) const override {
    std::lock_guard l(mu_);
    auto it = users_.find(std::string(id));
    return it == users_.end() ? std::optional<std::string>() : it->second;
  }
  Result<std::vector<std::pair<std::string, std::string>>> UserRecordsAfter(std::string_view after,
                                                                             size_t limit) const override {
    std::lock_guard l(mu_);
    std::vector<std::pair<std::string, std::string>> out;
    for (auto it = users_.upper_bound(std::string(after)); it != users_.end() && out.size() < limit; ++it)
      out.emplace_back(it->first, it->second);
    return out;
  }
  Status AddCounters(std::span<const std::pair<std::string, int64_t>> deltas) override {
    std::lock_guard l(mu_);
    for (const auto& [k, d] : deltas) counters_[k] += d;
    return Status::Ok();
  }
  Result<std::map<std::string, int64_t>> Counters(std::string_view prefix) const override {
    std::lock_guard l(mu_);
    std::map<std::string, int64_t> out;
    for (auto it = counters_.lower_bound(std::string(prefix)); it != counters_.end() && it->first.starts_with(prefix); ++it)
      out.insert(*it);
    return out;
  }
  Status PutMeta(std::string_view key, std::string_view value) override {
    std::lock_guard l(mu_);
    meta_[std::string(key)] = std::string(value);
    return Status::Ok();
  }
  Result<std::optional<std::string>> GetMeta(std::string_view key) const override {
    std::lock_guard l(mu_);
    auto it = meta_.find(std::string(key));
    return it == meta_.end() ? std::optional<std::string>() : it->second;
  }
  uint64_t ApproximateBytes() const override { return 0; }

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, RawEvent> events_;
  std::map<std::string, std::set<uint64_t>> by_user_;
  std::map<std::string, Item> items_;
  std::map<std::string, std::string> users_, meta_;
  std::map<std::string, int64_t> counters_;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace vane
