// `vane tune`: a time-budgeted search over the behaviour model's configuration (width, depth, heads, dropout,
// learning rate, maximum length, loss), judged on validation NDCG@10 alone (the test split is never read).
//
// Trial 0 is the configuration given (the defaults); trial k > 0 is drawn from the search space by a generator
// seeded with (seed, k), so the sequence of trials is the same on every run and a search can resume: each finished
// trial is appended to `dir`/trials.jsonl (one JSON line), and a new run skips the trials the file holds (a torn last
// line is dropped and that trial runs again). A new trial starts only while the budget's remaining time exceeds the
// mean time of the trials so far. The best trial's model is kept in `dir`/model with the chosen configuration in
// `dir`/model/tune.json.
#pragma once

#include <string>
#include <vector>

#include "vane/core/status.h"
#include "vane/model/seq_model.h"

namespace vane {

struct TuneSpace {
  std::vector<int> dim = {32, 64, 96};
  std::vector<int> layers = {1, 2, 3};
  std::vector<int> heads = {1, 2, 4};
  std::vector<float> dropout = {0.1f, 0.2f, 0.3f, 0.5f};
  std::vector<float> lr = {5e-4f, 1e-3f, 2e-3f};
  std::vector<int> max_len = {50, 100, 200};
  std::vector<int> negatives = {0, 256, 1024};  // the loss: full softmax, or sampled softmax with K negatives
};

struct TuneOptions {
  double budget_s = 1200;
  int epochs = 10;       // per trial (early stopping as in training)
  // > 0: every trial plans this many epochs of learning-rate schedule and stops after `epochs` of them, so a short
  // trial sees the early part of a full training rather than a whole schedule squeezed into `epochs`.
  int schedule_epochs = 0;
  int patience = 3;
  int max_trials = 0;    // 0: as many as the budget allows
  uint64_t seed = 42;
  std::string dir;       // trials.jsonl and the best model
  bool progress = true;  // a line per trial with the best so far, the time used and left
};

struct TuneTrial {
  int index = 0;
  SeqModelConfig cfg;
  double val_ndcg10 = 0, val_hr10 = 0, seconds = 0;
  int epochs = 0;
  bool resumed = false;  // read back from trials.jsonl, not run now
};

struct TuneResult {
  std::vector<TuneTrial> trials;  // in trial order
  int best = -1;                  // index into trials
  double seconds = 0;             // this run's time
};

// The configuration of trial k: `base` itself for k = 0, else `base` with every searched field drawn from `space`
// (heads restricted to divisors of the width).
SeqModelConfig TrialConfig(const TuneSpace& space, const SeqModelConfig& base, uint64_t seed, int k);

Result<TuneResult> Tune(const SeqSplit& split, size_t num_items, const SeqModelConfig& base, const TuneSpace& space,
                        const TuneOptions& opt, const ItemText* text = nullptr, const ItemCategories* cats = nullptr,
                        const ItemKeywords* keywords = nullptr);

// What this machine's CPU offers for training (AVX2, AVX-512, AVX-512 BF16, AMX), what libtorch uses, and the
// threads training will run on (`threads`: the configuration's, which training sets; libtorch's own default before
// that is the count of physical cores).
std::string CpuTrainingReport(int threads);

}  // namespace vane
