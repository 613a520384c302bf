// Candidate sources: the small interface every retrieval strategy implements, and the scratch buffer they score
// into.
//
// A CandidateSource keeps global statistics that Observe() updates incrementally per event (popularity counts,
// co-visitation edges, ...), and Generate() writes scored candidates for one user into a ScoreBuffer, each with
// the Evidence that produced it (the recent item, search, keyword or category), from which explanations are
// written. Sources never include one another's internals; the recommend module blends them.
// Thread-safety: Observe needs exclusive access; Generate is const and may run concurrently with other Generates
// (each caller brings its own ScoreBuffer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <limits>
#include <string_view>
#include <vector>

#include "vane/interest/user_state.h"

namespace vane {

class BinaryWriter;
class BinaryReader;

enum class EvidenceKind : uint8_t {
  kNone = 0,
  kPopular,        // globally popular (ref unused)
  kTrending,       // popular in a category now (ref = category)
  kAfterItem,      // often chosen after/with an item the user acted on (ref = item, ts/action of that event)
  kSearched,       // matches a recent search (ref = query id, ts = time of the search)
  kKeyword,        // matches a keyword of the user's interests (ref = keyword id)
  kCategoryNow,    // in a category the user is into now (ref = category)
  kCategoryLong,   // in a long-standing interest (ref = category)
  kNextCategory,   // in the category the user's transitions point to next (ref = category)
  kModel,          // scored by a model
  kGenerated,      // an item the model knows by its text alone, matching the words the model wrote for the user
                   // (ref = the best-matching keyword)
};

struct Evidence {
  uint32_t ref = 0;
  uint32_t ts = 0;
  EvidenceKind kind = EvidenceKind::kNone;
  ActionId action = 0;
  uint8_t source = 0;   // index of the source in the blend (set by the blender)
};

// Dense scratch scores over the catalogue with a list of touched items, so that Reset costs O(touched).
// Keeps, per item, the evidence of its largest single contribution.
class ScoreBuffer {
 public:
  void Reset(size_t num_items);
  void Add(ItemIdx i, float score, const Evidence& ev) {
    if (!seen_[i.v]) {
      seen_[i.v] = 1;
      touched_.push_back(i.v);
      score_[i.v] = 0;
      best_[i.v] = -std::numeric_limits<float>::infinity();
    }
    score_[i.v] += score;
    if (score > best_[i.v]) {
      best_[i.v] = score;
      ev_[i.v] = ev;
    }
  }
  // Replaces the score of an item already added (its evidence stays). REQUIRES: Has(i).
  void Set(ItemIdx i, float score) { score_[i.v] = score; }
  bool Has(ItemIdx i) const { return seen_[i.v] != 0; }
  float Score(ItemIdx i) const { return seen_[i.v] ? score_[i.v] : 0.0f; }
  const Evidence& EvidenceOf(ItemIdx i) const { return ev_[i.v]; }
  const std::vector<uint32_t>& touched() const { return touched_; }
  float MaxScore() const;
  size_t size() const { return score_.size(); }

 private:
  std::vector<float> score_, best_;
  std::vector<Evidence> ev_;
  std::vector<uint8_t> seen_;
  std::vector<uint32_t> touched_;
};

struct RetrievalContext {
  UserIdx user;
  Timestamp now = 0;
  const UserState* state = nullptr;   // null for an unknown user
  size_t limit = 200;                 // candidates wanted from each source (SIZE_MAX: every item it can score)
};

// What a source can say of a user in words and numbers (the behaviour model: its interest and keyword heads).
struct SourceView {
  std::vector<std::pair<uint32_t, float>> interests;       // (category, probability), most likely first
  std::vector<std::pair<std::string, float>> keywords;     // (keyword, probability), most likely first
  std::string text_en, text_zh;
  // What the model's text decoder writes the user will do next (model/text_decoder.h), in the data's own words;
  // empty without a decoder.
  std::string generated;
  std::vector<std::string> generated_words;
};

class CandidateSource {
 public:
  virtual ~CandidateSource() = default;
  virtual std::string_view name() const = 0;
  // Updates global statistics with one event. `before` is the user's state before the event is applied.
  virtual void Observe(const Event& e, const UserState& before) = 0;
  // Called after catalogue changes (items added or edited).
  virtual void OnCatalogChanged() {}
  virtual void Generate(const RetrievalContext& ctx, ScoreBuffer& out) const = 0;
  virtual size_t MemoryBytes() const = 0;
  // The source's own view of the user, when it has one (nullopt: none, the default).
  virtual std::optional<SourceView> DescribeUser(UserIdx) const { return std::nullopt; }
  // How sure the source is about the user's next step, in [0, 1] (0: it cannot tell). The behaviour model: the top
  // probability of its interest head. A feature of the learned strategy gate (recommend/gate.h).
  virtual float Confidence(UserIdx) const { return 0.0f; }
  // Computes ahead of time what the user's first request would compute (the behaviour model: its state over the
  // user's history) and keeps it, if the source's caches have room; never evicts what requests brought in. Thread-
  // safe like Generate; history must not change meanwhile (the caller holds the engine's read lock). Returns false
  // when the caches are full (a pass over users stops there) or the source keeps nothing per user (the default).
  virtual bool Prepare(UserIdx) const { return false; }
  // Drops whatever the source keeps of one user alone (caches of the user's state); shared statistics the user
  // contributed to stay until the owner rebuilds them. Needs exclusive access, like Observe.
  virtual void ForgetUser(UserIdx) {}
  // Snapshot (core/binary_io.h) of what Observe learnt. State that derives from the catalogue alone is rebuilt by
  // the constructor (and OnCatalogChanged) instead, and caches refill lazily, so neither is saved. LoadState
  // expects a source constructed on the dataset loaded from the same snapshot. Default: nothing to keep.
  virtual void SaveState(BinaryWriter&) const {}
  virtual Status LoadState(BinaryReader&) { return Status::Ok(); }
};

// Keeps the `k` highest-scored of (item, score) pairs; ties broken by smaller item id for determinism.
void TopK(const ScoreBuffer& buf, size_t k, std::vector<std::pair<ItemIdx, float>>& out);

}  // namespace vane
