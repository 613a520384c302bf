#include "vane/serve/notify.h"

#include <algorithm>

namespace vane {

void ChangeNotifier::Note(std::span<const uint32_t> users, size_t num_users) {
  {
    std::lock_guard l(mu_);  // a waiter between its check and its wait cannot miss the notification
    uint64_t seq = ++seq_;
    if (user_.size() < num_users) user_.resize(num_users, seq);
    if (users.empty()) std::fill(user_.begin(), user_.end(), seq);
    for (uint32_t u : users) {
      if (u >= user_.size()) user_.resize(u + 1, seq);
      user_[u] = seq;
    }
  }
  cv_.notify_all();
}

void ChangeNotifier::Reset(size_t num_users) {
  {
    std::lock_guard l(mu_);
    user_.clear();
  }
  Note({}, num_users);
}

uint64_t ChangeNotifier::UserSeq(uint32_t user) const {
  std::lock_guard l(mu_);
  return user < user_.size() ? user_[user] : 0;
}

uint64_t ChangeNotifier::Wait(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock l(mu_);
  cv_.wait_for(l, timeout, [&] { return seq_.load() != seen || stopping_.load(); });
  return seq_.load();
}

void ChangeNotifier::Stop() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

}  // namespace vane
