// FaultStore: failures injected at the store interface (tests of the service's failure paths).
#include <thread>

#include "vane/store/store.h"

namespace vane {

void FaultStore::FailNext(Op op, int count) {
  std::lock_guard l(mu_);
  fail_[op] += count;
}

void FaultStore::PartialNextAppend() {
  std::lock_guard l(mu_);
  partial_ = true;
}

Status FaultStore::BeforeWrite(Op op) {
  if (int64_t d = delay_ms_.load(); d > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d));
  std::lock_guard l(mu_);
  for (Op o : {op, Op::kAny}) {
    auto it = fail_.find(o);
    if (it != fail_.end() && it->second > 0) {
      --it->second;
      ++injected_;
      return Status::Unavailable("store_unavailable", "store: injected write failure");
    }
  }
  ++writes_;
  return Status::Ok();
}

Status FaultStore::BeforeRead() const {
  if (int64_t d = read_delay_ms_.load(); d > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d));
  if (reads_fail_) return Status::Unavailable("store_unavailable", "store: injected read failure");
  return Status::Ok();
}

Status FaultStore::AppendEvents(uint64_t first_seq, std::span<const RawEvent> events) {
  VANE_RETURN_IF_ERROR(BeforeWrite(Op::kAppend));
  bool partial = false;
  {
    std::lock_guard l(mu_);
    std::swap(partial, partial_);
  }
  if (partial) {
    ++injected_;
    VANE_RETURN_IF_ERROR(inner_->AppendEvents(first_seq, events.first(events.size() / 2)));
    return Status::Unavailable("store_unavailable", "store: injected partial write");
  }
  return inner_->AppendEvents(first_seq, events);
}

Result<std::vector<std::pair<uint64_t, RawEvent>>> FaultStore::UserEvents(std::string_view user, size_t limit) const {
  VANE_RETURN_IF_ERROR(BeforeRead());
  return inner_->UserEvents(user, limit);
}

Result<uint64_t> FaultStore::DeleteUser(std::string_view user) {
  VANE_RETURN_IF_ERROR(BeforeWrite(Op::kDeleteUser));
  return inner_->DeleteUser(user);
}

Result<uint64_t> FaultStore::EraseUserEvents(std::string_view user, const EventFilter& drop) {
  VANE_RETURN_IF_ERROR(BeforeWrite(Op::kEraseEvents));
  return inner_->EraseUserEvents(user, drop);
}

Result<uint64_t> FaultStore::LoadEvents(uint64_t from_seq, const std::function<void(uint64_t, RawEvent&&)>& on_event) const {
  VANE_RETURN_IF_ERROR(BeforeRead());
  return inner_->LoadEvents(from_seq, on_event);
}

Status FaultStore::PutItems(std::span<const Item> items) {
  VANE_RETURN_IF_ERROR(BeforeWrite(Op::kPutItems));
  return inner_->PutItems(items);
}

Status FaultStore::DeleteItem(std::string_view id) {
  VANE_RETURN_IF_ERROR(BeforeWrite(Op::kDeleteItem));
  return inner_->DeleteItem(id);
}

Status FaultStore::LoadItems(const std::function<void(Item&&)>& on_item) const {
  VANE_RETURN_IF_ERROR(BeforeRead());
  return inner_->LoadItems(on_item);
}

Status FaultStore::PutUser(std::string_view id, std::string_view record) {
  VANE_RETURN_IF_ERROR(BeforeWrite(Op::kPutUser));
  return inner_->PutUser(id, record);
}

Result<std::optional<std::string>> FaultStore::GetUser(std::string_view id) const {
  VANE_RETURN_IF_ERROR(BeforeRead());
  return inner_->GetUser(id);
}

Result<std::vector<std::pair<std::string, std::string>>> FaultStore::UserRecordsAfter(std::string_view after,
                                                                                     size_t limit) const {
  VANE_RETURN_IF_ERROR(BeforeRead());
  return inner_->UserRecordsAfter(after, limit);
}

Status FaultStore::AddCounters(std::span<const std::pair<std::string, int64_t>> deltas) {
  VANE_RETURN_IF_ERROR(BeforeWrite(Op::kCounters));
  return inner_->AddCounters(deltas);
}

Result<std::map<std::string, int64_t>> FaultStore::Counters(std::string_view prefix) const {
  VANE_RETURN_IF_ERROR(BeforeRead());
  return inner_->Counters(prefix);
}

Status FaultStore::PutMeta(std::string_view key, std::string_view value) {
  VANE_RETURN_IF_ERROR(BeforeWrite(Op::kMeta));
  return inner_->PutMeta(key, value);
}

Result<std::optional<std::string>> FaultStore::GetMeta(std::string_view key) const {
  VANE_RETURN_IF_ERROR(BeforeRead());
  return inner_->GetMeta(key);
}

}  // namespace vane
