// vane-train: trains the behaviour sequence model and reports full-ranking leave-one-out test metrics.
// A separate binary from `vane` because it loads libtorch (see src/CMakeLists.txt for why they cannot share one).
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vane/core/progress.h"
#include "vane/eval/capture.h"
#include "vane/eval/metrics.h"
#include "vane/events/formats.h"
#include "vane/model/seq_model.h"

using namespace vane;

int main(int argc, char** argv) {
  CLI::App app{"vane-train: train the behaviour sequence model"};
  std::string format = "generated", input, out = "data/model", json_out;
  bool quiet = false;
  SeqModelConfig mc;
  app.add_option("--format", format, "generated, or a dataset format of `vane import`")->capture_default_str();
  app.add_option("--input", input, "dataset file or folder");
  app.add_option("--out", out, "model directory")->capture_default_str();
  app.add_option("--json", json_out, "write the training curve and test metrics as JSON");
  app.add_option("--epochs", mc.epochs)->capture_default_str();
  app.add_option("--dim", mc.dim)->capture_default_str();
  app.add_option("--layers", mc.layers)->capture_default_str();
  app.add_option("--heads", mc.heads)->capture_default_str();
  app.add_option("--max-len", mc.max_len)->capture_default_str();
  app.add_option("--dropout", mc.dropout)->capture_default_str();
  app.add_option("--batch", mc.batch)->capture_default_str();
  app.add_option("--lr", mc.lr)->capture_default_str();
  app.add_option("--patience", mc.patience)->capture_default_str();
  app.add_option("--eval-users", mc.eval_users, "validation users per epoch (0 = all)")->capture_default_str();
  app.add_option("--threads", mc.threads)->capture_default_str();
  app.add_option("--seed", mc.seed)->capture_default_str();
  app.add_flag("--quiet", quiet, "no per-epoch lines");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  Dataset ds;
  ImportReport report;
  Status s;
  if (format == "generated") {
    gen::Generated g = gen::Generate(gen::GenOptions{});
    s = BuildGeneratedDataset(g, ds, report);
  } else {
    auto f = ParseFormat(format);
    if (!f.ok()) s = f.status();
    else if (input.empty()) s = Status::InvalidArgument("--input is required with --format " + format);
    else {
      LoadOptions lo;
      lo.import.progress = !quiet;
      s = LoadDataset(*f, input, lo, ds, report);
    }
  }
  if (!s.ok()) {
    std::cerr << "error: " << s.ToString() << "\n";
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }

  SeqSplit split = MakeSeqSplit(ds);
  std::vector<EpochLog> curve;
  auto t0 = std::chrono::steady_clock::now();
  auto model = SeqModel::Train(split, ds.num_items(), mc, &curve, !quiet);
  if (!model.ok()) {
    std::cerr << "error: " << model.status().ToString() << "\n";
    return 1;
  }
  double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (Status w = model->Save(out); !w.ok()) {
    std::cerr << "error: " << w.ToString() << "\n";
    return 1;
  }

  // Test: full ranking; history = training items + the validation item; the user's earlier items are excluded.
  std::vector<uint32_t> counts(ds.num_items(), 0);
  for (const auto& q : split.train)
    for (uint32_t i : q) ++counts[i];
  MetricAccumulator acc(ds.catalog, counts);
  std::vector<uint8_t> mask(ds.num_items(), 0);
  std::vector<uint32_t> all(ds.num_items());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  std::vector<float> scores;
  auto t1 = std::chrono::steady_clock::now();
  for (size_t u = 0; u < split.train.size(); ++u) {
    if (split.test_target[u] == UINT32_MAX) continue;
    std::vector<uint32_t> hist = split.train[u];
    hist.push_back(split.val_target[u]);
    model->Score(hist, scores);
    size_t excluded = 0;
    for (uint32_t i : hist)
      if (!mask[i] && i != split.test_target[u]) { mask[i] = 1; ++excluded; }
    // RankTarget reads a score of 0 as "unscored": shift the dense model scores above 0.
    float mn = *std::min_element(scores.begin(), scores.end());
    RankResult r = RankTarget(ItemIdx(split.test_target[u]), all, [&](uint32_t i) { return scores[i] - mn + 1.0f; },
                              mask, excluded, ds.num_items(), 10);
    acc.Add(r.rank, r.top);
    for (uint32_t i : hist) mask[i] = 0;
  }
  RankingMetrics m = acc.Result();
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::cout << fmt::format("model {} | {} epochs in {} | test users {} | hr@10 {:.4f} ndcg@10 {:.4f} hr@20 {:.4f} "
                           "ndcg@20 {:.4f} mrr {:.4f} | test scoring {:.1f} s\n",
                           out, curve.size(), FormatDuration(train_s), m.users, m.hr10, m.ndcg10, m.hr20, m.ndcg20,
                           m.mrr, m.seconds);
  if (!json_out.empty()) {
    nlohmann::json j;
    j["dataset"] = ds.name;
    j["train_seconds"] = train_s;
    j["test"] = {{"users", m.users}, {"hr@10", m.hr10}, {"ndcg@10", m.ndcg10}, {"hr@20", m.hr20},
                 {"ndcg@20", m.ndcg20}, {"mrr", m.mrr}};
    for (const auto& e : curve)
      j["curve"].push_back({{"epoch", e.epoch}, {"loss", e.loss}, {"val_ndcg@10", e.val_ndcg10}, {"val_hr@10", e.val_hr10},
                            {"seconds", e.seconds}, {"tokens_per_s", e.tokens_per_s}, {"lr", e.lr}});
    std::ofstream(json_out) << j.dump(2) << "\n";
  }
  return 0;
}
