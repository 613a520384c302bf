// Cluster mode of the service (service.h, ServiceOptions::shared_log; docs/cluster.md, "Nodes applying the log"):
// ingestion appends to the shared log, and the applier thread applies that log, in its common order, through the
// node's own write path (IngestLocal: clean, store in the local mirror, apply). Every node applies the same entries
// in the same order, so cleaning and duplicate detection decide the same everywhere.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "vane/serve/service.h"

namespace vane {

std::string MergePositions(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> furthest;  // partition -> (ms, seq)
  for (const std::string* token : {&a, &b}) {
    size_t start = 0;
    while (start <= token->size()) {
      const size_t end = std::min(token->find(',', start), token->size());
      const std::string part = token->substr(start, end - start);
      unsigned long long p = 0, ms = 0, seq = 0;
      char tail = 0;
      if (std::sscanf(part.c_str(), "%llu:%llu-%llu%c", &p, &ms, &seq, &tail) != 3)
        return a + "," + b;  // not a token of the stream log: both, as they are (Covers checks every part)
      auto [it, fresh] = furthest.try_emplace(p, ms, seq);
      if (!fresh) it->second = std::max(it->second, std::pair<uint64_t, uint64_t>(ms, seq));
      start = end + 1;
    }
  }
  std::string out;
  for (const auto& [p, id] : furthest)
    out += fmt::format("{}{}:{}-{}", out.empty() ? "" : ",", p, id.first, id.second);
  return out;
}

Result<IngestResult> Service::IngestShared(std::span<const Result<RawEvent>> records, BatchMode mode) {
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready");
  IngestResult out;
  std::vector<RawEvent> to_send;
  {
    // What can be decided before the log: unreadable records, the clock bound, and the cleaner's checks that do
    // not depend on the state (the event time is fixed here, so that every node applies the same event).
    std::shared_lock lock(mu_);
    const Timestamp now = Now();
    for (size_t i = 0; i < records.size(); ++i) {
      Result<RawEvent> raw = Admit(records[i], now, opt_.max_future_s);
      Status s = raw.ok() ? cleaner_->Check(*raw) : raw.status();
      if (!s.ok()) {
        out.rejected.push_back({i, s.field().empty() ? "record" : s.field(), s.message()});
      } else {
        to_send.push_back(std::move(raw).value());
      }
    }
  }
  if (mode == BatchMode::kAllOrNothing && !out.rejected.empty()) return out;
  if (to_send.empty()) return out;
  VANE_ASSIGN_OR_RETURN(auto applied, AppendOwnBatch([&](const std::string& batch) {
                          return opt_.shared_log->Append(batch, std::span<const RawEvent>(to_send));
                        }, "the batch"));
  out.accepted = applied.second.accepted + applied.second.other_groups;
  out.other_groups = applied.second.other_groups;
  out.duplicates = applied.second.duplicates;
  out.position = applied.first;
  return out;
}

// Appends one batch of this node's under a fresh batch id, waits until this node has applied it, and returns its
// token with what the application found (the applier counts into own_batches_ from before the append on).
Result<std::pair<std::string, Service::BatchOutcome>> Service::AppendOwnBatch(
    const std::function<Result<std::string>(const std::string& batch)>& append, std::string_view what) {
  const std::string batch = batch_prefix_ + std::to_string(++batch_counter_);
  {
    std::lock_guard l(applied_mu_);
    own_batches_[batch];
  }
  auto forget = [&] {
    std::lock_guard l(applied_mu_);
    own_batches_.erase(batch);
  };
  Result<std::string> token = append(batch);
  if (!token.ok()) {
    forget();
    return token.status();
  }
  if (Status w = WaitForPosition(*token, opt_.apply_wait); !w.ok()) {
    forget();
    return Status::Unavailable("not_applied", fmt::format("the log holds {} (position {}) but this node has not "
                                                          "applied it yet: {}", what, *token, w.message()));
  }
  std::lock_guard l(applied_mu_);
  const BatchOutcome o = own_batches_[batch];
  own_batches_.erase(batch);
  return std::make_pair(*token, o);
}

Result<size_t> Service::PutItemsShared(const std::vector<Item>& items, std::string* position) {
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready");
  VANE_ASSIGN_OR_RETURN(auto applied, AppendOwnBatch(
      [&](const std::string& batch) { return opt_.shared_log->AppendItems(batch, items); }, "the items"));
  if (position) *position = applied.first;
  return items.size();
}

Result<std::pair<std::string, Service::BatchOutcome>> Service::AppendRecord(const std::string& kind,
                                                                             const std::string& user,
                                                                             const std::string& body) {
  return AppendOwnBatch([&](const std::string& batch) { return opt_.shared_log->AppendRecord(batch, kind, user, body); },
                        "the " + kind + " record");
}

// Applies a record entry (SharedLogEntry::record_kind) through this node's local write path; caller holds
// applied_mu_. `own`: the outcome for the node that appended it (null on the others).
void Service::ApplyRecord(const SharedLogEntry& e, BatchOutcome* own) {
  Status s;
  uint64_t n = 0;
  const nlohmann::json body = e.record_kind == "user" ? nlohmann::json() : nlohmann::json::parse(e.record_body, nullptr, false);
  auto str = [&](const char* k) {
    auto it = body.find(k);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (e.record_kind == "user") {
    s = PutUserRecordLocal(e.record_user, e.record_body);
    n = s.ok();
  } else if (body.is_discarded() || !body.is_object()) {
    s = Status::InvalidArgument("bad_record", "the body of a " + e.record_kind.substr(0, 64) + " record is not a JSON object");
  } else if (e.record_kind == "feedback") {
    auto r = experiments_.Record({str("user"), str("item"), str("type"), str("strategy"), str("variant"),
                                  str("source"), str("origin")});
    s = r.status();
    n = r.ok();
  } else if (e.record_kind == "unfeedback") {
    ++cluster_erasures_pending_;  // before the rebuild it starts can finish
    const std::string item = str("item"), type = str("type");
    auto r = DeleteUserEvents(e.record_user, [&](const RawEvent& ev) {
      return ev.item == item && (type.empty() || ev.action == type);
    });
    if (!r.ok()) --cluster_erasures_pending_;
    s = r.status();
    n = r.ok() ? *r : 0;
  } else {
    s = Status::InvalidArgument("bad_record", "unknown record kind '" + e.record_kind.substr(0, 64) + "'");
  }
  if (!s.ok() && s.code() != StatusCode::kNotFound)
    std::fprintf(stderr, "cluster: applying the %s record %s failed: %s\n", e.record_kind.substr(0, 64).c_str(),
                 e.batch.c_str(), s.ToString().c_str());
  if (own) {
    own->accepted += n;
    own->rejected += s.ok() ? 0 : 1;
    own->status = s;
  }
}

Result<uint64_t> Service::DeleteUserShared(const std::string& id, std::string* position) {
  if (!ready_) return Status::Unavailable("not_ready", "the service is not ready");
  {  // a user this node does not know (at its position) is not written into the log
    std::shared_lock lock(mu_);
    if (!FindLiveUser(id)) {
      auto rec = store_->GetUser(id);
      if (!rec.ok()) return Status::Unavailable("store_unavailable", rec.status().ToString());
      if (!*rec) return Status::NotFound("unknown_user", "user '" + id + "' has no events on this node (send the "
                                                                        "position of their last write to be sure)");
    }
  }
  VANE_ASSIGN_OR_RETURN(auto applied, AppendOwnBatch([&](const std::string& batch) {
                          return opt_.shared_log->AppendDeletion(batch, id);
                        }, "the deletion"));
  if (position) *position = applied.first;
  if (!applied.second.status.ok()) return applied.second.status;
  return applied.second.accepted;
}

Status Service::WaitForPosition(const std::string& token, std::chrono::milliseconds timeout) const {
  if (!opt_.shared_log || token.empty()) return Status::Ok();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock l(applied_mu_);
  for (;;) {
    VANE_ASSIGN_OR_RETURN(bool covered, opt_.shared_log->Covers(token));
    if (covered) return Status::Ok();
    if (applied_cv_.wait_until(l, deadline) == std::cv_status::timeout) {
      VANE_ASSIGN_OR_RETURN(bool late, opt_.shared_log->Covers(token));
      if (late) return Status::Ok();
      return Status::Unavailable("position_not_reached",
                                 fmt::format("this node has not applied position {} within {} ms (it is at {})",
                                             token.substr(0, 200), timeout.count(), opt_.shared_log->Position()));
    }
  }
}

void Service::ApplierLoop() {
  auto idle = std::chrono::milliseconds(1);
  while (!applier_stop_) {
    size_t released = 0;
    {
      // Held across the poll and the application: WaitForPosition reads the log's positions under it, so a
      // position counts as reached only once what it names is applied here.
      std::lock_guard l(applied_mu_);
      auto got = opt_.shared_log->Poll();
      if (!got.ok()) {
        if (got.status().reason() == "log_trimmed") {
          // Reading on would skip entries: this node stops applying and says why (a restart loads a snapshot).
          std::lock_guard e(cluster_error_mu_);
          if (cluster_error_.empty())
            std::fprintf(stderr, "cluster: this node cannot go on applying the log: %s\n",
                         got.status().ToString().c_str());
          cluster_error_ = got.status().message();
          idle = std::chrono::milliseconds(1000);
        } else {
          std::fprintf(stderr, "cluster: reading the shared log failed (retrying): %s\n",
                       got.status().ToString().c_str());
          idle = std::chrono::milliseconds(200);
        }
      } else {
        if (idle >= std::chrono::milliseconds(200)) idle = std::chrono::milliseconds(1);  // recovered
        released = got->size();
        for (const SharedLogEntry& e : *got) ApplyEntry(e);
        ++applied_polls_;
      }
    }
    applied_cv_.notify_all();
    // Poll at once while there is work; back off to 5 ms when the log is quiet (longer after a failure).
    if (idle < std::chrono::milliseconds(200))
      idle = released > 0 ? std::chrono::milliseconds(1) : std::min(idle * 2, std::chrono::milliseconds(5));
    std::this_thread::sleep_for(idle);
  }
}

// Applies one entry of the shared log through the local write path; caller holds applied_mu_.
void Service::ApplyEntry(const SharedLogEntry& e) {
  if (!e.error.empty()) {
    ++log_rejected_;
    std::fprintf(stderr, "cluster: a log entry was not applied: %s\n", e.error.c_str());
    return;
  }
  if (!e.delete_user.empty() && !OwnsUser(e.delete_user)) {
    ++cluster_erasures_pending_;  // another group's user: this group's snapshot must pass the entry before the trim
    return;
  }
  if (!e.delete_user.empty()) {
    ++cluster_erasures_pending_;  // before the rebuild it starts can finish
    auto n = DeleteUserLocal(e.delete_user);
    if (!n.ok()) --cluster_erasures_pending_;  // unknown here: this node's state never held them
    if (!n.ok() && n.status().code() != StatusCode::kNotFound)
      std::fprintf(stderr, "cluster: applying the deletion %s failed: %s\n", e.batch.c_str(),
                   n.status().ToString().c_str());
    if (auto it = own_batches_.find(e.batch); it != own_batches_.end()) {
      it->second.accepted += n.ok() ? *n : 0;
      it->second.rejected += n.ok() ? 0 : 1;
      it->second.status = n.ok() ? Status::Ok() : n.status();
    }
    return;
  }
  if (!e.record_kind.empty() && e.record_kind != "feedback" && !OwnsUser(e.record_user)) {
    if (e.record_kind == "unfeedback") ++cluster_erasures_pending_;  // as for a deletion of another group's user
    return;
  }
  if (!e.record_kind.empty()) {
    auto it = own_batches_.find(e.batch);
    ApplyRecord(e, it == own_batches_.end() ? nullptr : &it->second);
    return;
  }
  if (!e.items.empty()) {
    if (auto r = PutItemsLocal(e.items); !r.ok())
      std::fprintf(stderr, "cluster: applying items %s failed: %s\n", e.batch.c_str(), r.status().ToString().c_str());
    return;
  }
  std::vector<Result<RawEvent>> recs;
  uint64_t other = 0;
  for (const RawEvent& ev : e.events) {
    if (OwnsUser(ev.user)) recs.emplace_back(ev);
    else ++other;  // node groups: another group applies it
  }
  if (auto it = own_batches_.find(e.batch); it != own_batches_.end()) it->second.other_groups += other;
  if (recs.empty()) return;
  auto r = IngestLocal(recs, BatchMode::kPerRecord);
  if (!r.ok()) {
    std::fprintf(stderr, "cluster: applying batch %s failed: %s\n", e.batch.c_str(), r.status().ToString().c_str());
    return;
  }
  if (auto it = own_batches_.find(e.batch); it != own_batches_.end()) {
    it->second.accepted += r->accepted;
    it->second.duplicates += r->duplicates;
    it->second.rejected += r->rejected.size();
  }
}

}  // namespace vane
