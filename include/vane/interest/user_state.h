// Per-user real-time interest state and the global statistics it is smoothed with.
//
// UserState is a fixed-size record (no heap; see kBytes) so that memory per user is bounded and known:
//  - an interest graph of category nodes and keyword nodes, each with a short-term weight s and a long-term
//    weight l. On every event all weights decay by 2^(-dt/h) (h = short or long half-life; one multiply per node,
//    so decay is exact without per-node times) and the nodes the event touches gain the event's signed weight.
//    When the graph is full the weakest node is replaced (bounded memory, top-K by max(s, l) share);
//  - per-user transitions between category nodes (edges of the graph), used to smooth the global Markov model;
//  - a ring of the last kRecent events (item or query, action, time) for explanations and session intent;
//  - counters for the session, used by strategy selection.
// InterestStore owns one UserState per user plus the global models: category transition counts (Markov),
// category popularity (the Bayesian prior) and a keyword -> category index (so a search for "trail shoes" raises
// the "Trail running" category). Consumed items (actions with consumes=true) are kept apart in per-user history
// lists, which grow with the user's history (they are the event log's projection, not hot state).
// Thread-compatible: one writer, or external locking.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "vane/events/dataset.h"

namespace vane {

class BinaryWriter;
class BinaryReader;

struct InterestConfig {
  double short_half_life_s = 120;               // "now": half-life of 2 minutes (see docs/interest.md)
  double long_half_life_s = 30 * 24 * 3600.0;  // "usually": half-life of 30 days
  // Long-term weights decay with the user's own time, not the calendar: a gap between two of the user's events
  // (or between the last one and a read) counts for at most this long. A user who was away for a year comes back
  // with the long-term profile they left with; the short-term weights decay over the whole gap ("now" is empty
  // until they act). docs/interest.md.
  double long_idle_cap_s = 7 * 24 * 3600.0;
  double session_gap_s = 30 * 60;              // idle gap that starts a new session
  float keyword_share = 0.5f;                  // share of an event's weight each keyword node receives
  float search_category_share = 2.0f;          // a search's weight spread over its keywords' categories
  float markov_user_beta = 3.0f;               // per-user smoothing strength towards the global model
  float markov_global_gamma = 1.0f;            // global smoothing towards the category prior
  float bayes_alpha = 2.0f;                    // prior strength of the Bayesian interest estimate
  // 0: the per-user history lists (consumed, interacted) keep every item. Otherwise each keeps its newest
  // history_cap items (trimmed when 1.5 times that is reached), so a long-running server's memory is bounded.
  size_t history_cap = 0;
};

struct InterestNode {
  uint32_t id = 0;   // category id or keyword id (catalog vocabularies)
  float s = 0;       // short-term weight
  float l = 0;       // long-term weight
};

struct RecentEvent {
  uint32_t ref;      // ItemIdx.v, or query id when is_query
  uint32_t ts;       // seconds since epoch (uint32 is enough until 2106)
  ActionId action;
  bool is_query;
};

struct UserState {
  static constexpr int kCats = 8;
  static constexpr int kKeywords = 10;
  static constexpr int kRecent = 8;
  static constexpr int kEdges = 8;

  struct Edge {
    uint8_t from = 0, to = 0;  // category slots
    uint16_t count = 0;
  };

  std::array<InterestNode, kCats> cats{};
  std::array<InterestNode, kKeywords> kws{};
  std::array<RecentEvent, kRecent> recent{};
  std::array<Edge, kEdges> edges{};
  uint32_t last_ts = 0;
  uint32_t session_start_ts = 0;
  uint32_t num_events = 0;
  uint16_t session_events = 0;
  uint16_t session_searches = 0;
  uint8_t num_cats = 0, num_kws = 0, num_recent = 0, recent_head = 0;
  uint8_t num_edges = 0;
  int8_t current_cat = -1;   // slot of the category of the last positive event

  // The i-th most recent event (0 = newest). REQUIRES: i < num_recent.
  const RecentEvent& Recent(int i) const { return recent[(recent_head + kRecent - 1 - i) % kRecent]; }
};

// A weighted interest as exposed to callers (retrieval, explanations, text).
struct WeightedInterest {
  uint32_t id;
  float s, l;
};

class InterestStore {
 public:
  InterestStore(const Dataset& ds, InterestConfig cfg = {});

  // Applies one event to its user's state (read-your-writes: the next read sees it). Unknown users are added.
  // Events of one user are expected in time order; an older timestamp is treated as "now" (no negative decay).
  void Apply(const Event& e);
  // Like Apply but leaves global models (Markov counts, category prior) untouched: for evaluation phases whose
  // global statistics must come from training data only.
  void ApplyUserOnly(const Event& e);
  // Re-indexes keyword -> category after catalogue changes (called by the owner when items are added).
  void RebuildKeywordIndex();

  size_t num_users() const { return users_.size(); }
  const UserState* Find(UserIdx u) const { return u.v < users_.size() ? &users_[u.v] : nullptr; }
  std::span<const ItemIdx> Consumed(UserIdx u) const;
  std::span<const ItemIdx> Interacted(UserIdx u) const;
  void ForgetUser(UserIdx u);

  // Categories / keywords of a user decayed to time `now`, strongest short-term first.
  std::vector<WeightedInterest> Categories(UserIdx u, Timestamp now) const;
  std::vector<WeightedInterest> Keywords(UserIdx u, Timestamp now) const;

  // Markov: P(next interest = j | current interest i) for the user, smoothed towards the global model, for the
  // user's current interest. Returns (category, probability), most likely first, at most k entries.
  // With exclude_current, the current interest itself is left out: "what will they switch to".
  std::vector<std::pair<uint32_t, float>> PredictNextCategory(UserIdx u, size_t k = 5, bool exclude_current = false) const;
  // Global P(j | i).
  float GlobalTransition(uint32_t i, uint32_t j) const;
  // Bayesian estimate P(user likes c) = (alpha * prior_c + l_c+) / (alpha + sum l+), with the category's global
  // popularity share as the prior and the user's positive long-term weights as evidence.
  float LikeProbability(UserIdx u, uint32_t category, Timestamp now) const;
  float CategoryPrior(uint32_t c) const;

  // Categories a keyword points to (share of catalogue items with that keyword in each category), strongest first.
  std::span<const std::pair<uint32_t, float>> KeywordCategories(uint32_t keyword) const;

  const InterestConfig& config() const { return cfg_; }
  const Dataset& dataset() const { return ds_; }
  // Bytes of hot state per user (fixed) and of history lists (total, heap).
  static constexpr size_t kStateBytes = sizeof(UserState);
  size_t HistoryBytes() const;

  // Snapshot (core/binary_io.h): user states, history lists and the global Markov and category counts. The
  // keyword -> category index derives from the catalogue alone: the constructor builds it, so Load expects a
  // store constructed on the dataset loaded from the same snapshot.
  void Save(BinaryWriter& w) const;
  Status Load(BinaryReader& r);

 private:
  void ApplyImpl(const Event& e, bool global);
  // The stages of ApplyImpl. Decays every node to `ts` and opens a new session after a long gap; counts the event.
  void DecayAndCount(UserState& st, uint32_t ts);
  // An item event: weight to its categories (and, globally, the category prior), its keywords and history lists.
  // Returns the slot of its main category (-1: none).
  int ApplyItem(UserState& st, const Event& e, float w, bool global);
  // A search: weight to its keywords and to the categories they point to. Returns the slot of the strongest one
  // (-1: none).
  int ApplyQuery(UserState& st, const Event& e, float w);
  // The transition from the current category to `primary` (user edge and, globally, the Markov counts).
  void ApplyTransition(UserState& st, int primary, bool global);
  static void PushRecent(UserState& st, const Event& e, uint32_t ts);
  UserState& Touch(UserIdx u);
  // Adds w to the node `id` or takes a slot for it (the weakest node is replaced when the graph is full); the
  // slots the current event already wrote (cats_written_, kws_written_) are never replaced. Returns the slot, or
  // -1 when none was taken.
  int UpsertCat(UserState& st, uint32_t id, float w);
  void UpsertKw(UserState& st, uint32_t id, float w);
  void AddEdge(UserState& st, int from_slot, int to_slot);

  const Dataset& ds_;
  InterestConfig cfg_;
  std::vector<UserState> users_;
  std::vector<std::vector<ItemIdx>> consumed_, interacted_;
  // Global Markov counts over categories.
  std::unordered_map<uint64_t, float> trans_;
  std::vector<std::vector<uint32_t>> trans_succ_;  // successors seen per category
  std::vector<float> trans_row_;                   // row totals
  std::vector<float> cat_pop_;                     // positive weight per category
  double cat_pop_total_ = 0;
  std::vector<std::vector<std::pair<uint32_t, float>>> kw_cats_;
  std::vector<uint32_t> scratch_cats_;
  uint32_t cats_written_ = 0, kws_written_ = 0;  // slots written by the event being applied (bit masks)
};

// Whether the user is in a session at `now`: their last event is at most session_gap_s before it. Outside a
// session the short-term weights have decayed for over 15 half-lives (~0): what the user is into "now" is nothing,
// and strategy selection (recommend/engine.h) and the interest text (interest/describe.h) both read this one
// definition, so that they never disagree about it.
bool InSession(const UserState& st, Timestamp now, const InterestConfig& cfg);

// A short name for relative times: "just now", "2 minutes ago", "yesterday", "3 days ago" (en) / "2 分钟前" (zh).
std::string Ago(Timestamp then, Timestamp now, bool zh = false);

}  // namespace vane
