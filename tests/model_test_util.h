// Helpers shared by the sequence-model tests (model_test.cc, model_slow_test.cc, model_events_test.cc,
// model_events_slow_test.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "vane/model/seq_model.h"

namespace vane::testing {

// Planted pattern: every user walks a chain i -> i+1 -> ... (mod n) from a random start.
inline SeqSplit Chains(int users, int items, int len, uint64_t seed) {
  SeqSplit s;
  uint64_t x = seed;
  for (int u = 0; u < users; ++u) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t start = static_cast<uint32_t>((x >> 33) % static_cast<uint64_t>(items));
    std::vector<uint32_t> q;
    for (int k = 0; k < len; ++k) q.push_back((start + k) % items);
    s.val_target.push_back(q[len - 2]);
    s.test_target.push_back(q[len - 1]);
    q.resize(len - 2);
    s.train.push_back(q);
  }
  return s;
}

inline SeqModelConfig Tiny() {
  SeqModelConfig c;
  c.dim = 16;
  c.layers = 1;
  c.heads = 2;
  c.max_len = 8;
  c.dropout = 0.0f;
  c.epochs = 30;
  c.batch = 32;
  c.lr = 1e-2f;
  c.warmup_steps = 5;
  c.patience = 30;
  c.eval_users = 0;
  c.threads = 1;
  return c;
}

// Like Tiny, trained longer and without side dropout (the event tests).
inline SeqModelConfig Small() {
  SeqModelConfig c = Tiny();
  c.epochs = 40;
  c.patience = 40;
  c.side_dropout = 0.0f;
  return c;
}

}  // namespace vane::testing
