// Change notification for live views (the dashboard's streams): a global change sequence that grows with every
// change of any user's state, the value it had at each user's last change, and a wait for the next change.
// Thread-safe: Note* are called by the service's writers (under the service's exclusive lock), the reads and
// waits from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace vane {

class ChangeNotifier {
 public:
  // Every user whose state changed (empty: every user of the `num_users` known); wakes every waiter.
  void Note(std::span<const uint32_t> users, size_t num_users);
  // Forgets every user's sequence (after a rebuild) and notes a change of everyone.
  void Reset(size_t num_users);
  uint64_t Seq() const { return seq_.load(); }
  // The sequence at the user's last change; 0 for an unknown user.
  uint64_t UserSeq(uint32_t user) const;
  // Blocks until Seq() != seen, Stop() or the timeout; returns Seq().
  uint64_t Wait(uint64_t seen, std::chrono::milliseconds timeout) const;
  // Wakes every waiter for good (shutdown).
  void Stop();

 private:
  std::atomic<uint64_t> seq_{0};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;  // guards user_; also the condition variable's
  mutable std::condition_variable cv_;
  std::vector<uint64_t> user_;  // by UserIdx
};

}  // namespace vane
