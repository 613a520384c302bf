// The sequence model as a candidate source of the blend (slot kSrcModel): scores every item as the user's next one
// from the user's history (the last max_len positive items of the interest store). Scores are softmax
// probabilities (non-negative, as the blend expects). Explanations point at the history item the last position
// attended to most.
//
// This first cut recomputes the forward pass per request (~1-3 ms for 200 events); per-event key/value caching is
// the next step. Generate is const but runs libtorch: it serialises calls with a mutex.
#pragma once

#include <memory>
#include <mutex>

#include "vane/model/seq_model.h"
#include "vane/retrieve/source.h"

namespace vane {

class ModelSource final : public CandidateSource {
 public:
  ModelSource(const Dataset& ds, const InterestStore& interests, std::shared_ptr<const SeqModel> model);
  std::string_view name() const override { return "model"; }
  void Observe(const Event&, const UserState&) override {}
  void Generate(const RetrievalContext& ctx, ScoreBuffer& out) const override;
  size_t MemoryBytes() const override { return 0; }

 private:
  const Dataset& ds_;
  const InterestStore& interests_;
  std::shared_ptr<const SeqModel> model_;
  mutable std::mutex mu_;
  mutable std::vector<float> scores_;
  mutable std::vector<uint32_t> hist_;
};

}  // namespace vane
