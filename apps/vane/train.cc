// vane train: trains the behaviour sequence model and reports its full-ranking test metrics.
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "vane/core/progress.h"
#include "vane/eval/evaluator.h"
#include "vane/model/pipeline.h"

namespace vane::cli {

namespace {

struct TrainArgs {
  DataFlags data;
  SeqModelConfig mc;
  SideOptions side;
  std::string out = "data/model", json;
  bool no_text = false, no_searches = false;
  double cold = 0;
};

// Prints the test line (and the cold-start line first when the protocol is on); writes the JSON report if asked.
Status Report(const TrainArgs& a, const Dataset& ds, const std::vector<EpochLog>& curve, double train_s,
            const FullRankingTest& test, bool cold) {
  if (cold) {
    const RankingMetrics& mc = test.cold;
    std::cout << fmt::format("cold-start test ({} users whose target had no training event): hr@10 {:.4f} ndcg@10 "
                             "{:.4f} hr@20 {:.4f} ndcg@20 {:.4f} mrr {:.4f}\n",
                             mc.users, mc.hr10, mc.ndcg10, mc.hr20, mc.ndcg20, mc.mrr);
  }
  const RankingMetrics& m = test.all;
  std::cout << fmt::format("model {} | {} epochs in {} | test users {} | hr@10 {:.4f} ndcg@10 {:.4f} hr@20 {:.4f} "
                           "ndcg@20 {:.4f} mrr {:.4f} | test scoring {:.1f} s\n",
                           a.out, curve.size(), FormatDuration(train_s), m.users, m.hr10, m.ndcg10, m.hr20, m.ndcg20,
                           m.mrr, m.seconds);
  if (a.json.empty()) return Status::Ok();
  nlohmann::json j;
  j["dataset"] = ds.name;
  j["train_seconds"] = train_s;
  j["test"] = {{"users", m.users}, {"hr@10", m.hr10}, {"ndcg@10", m.ndcg10}, {"hr@20", m.hr20},
               {"ndcg@20", m.ndcg20}, {"mrr", m.mrr}};
  for (const auto& e : curve)
    j["curve"].push_back({{"epoch", e.epoch}, {"loss", e.loss}, {"val_ndcg@10", e.val_ndcg10}, {"val_hr@10", e.val_hr10},
                          {"seconds", e.seconds}, {"tokens_per_s", e.tokens_per_s}, {"lr", e.lr}});
  return WriteText(a.json, j.dump(2) + "\n");
}

int RunTrain(const TrainArgs& a) {
  Dataset ds;
  if (Status s = Load(a.data, ds); !s.ok()) return Fail(s);
  std::vector<uint8_t> cold;
  if (a.cold > 0) cold = MakeColdItems(ds, a.cold, 42);
  SideOptions so = a.side;
  so.text = !a.no_text;
  so.quiet = a.data.quiet;
  auto side = BuildSideInfo(ds, so);
  if (!side.ok()) return Fail(side.status());
  const bool text = side->text.vocab_size > 0;
  SeqSplit split = MakeSeqSplit(ds, !a.no_searches && text);
  std::vector<EpochLog> curve;
  auto t0 = std::chrono::steady_clock::now();
  auto model = SeqModel::Train(split, ds.num_items(), a.mc, &curve, !a.data.quiet, text ? &side->text : nullptr,
                               side->cats.num_categories > 0 ? &side->cats : nullptr,
                               side->keywords.names.empty() ? nullptr : &side->keywords);
  if (!model.ok()) return Fail(model.status());
  double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (Status w = model->Save(a.out); !w.ok()) return Fail(w);
  if (side->tokenizer)
    if (Status w = side->tokenizer->Save(a.out + "/subword.model"); !w.ok()) return Fail(w);
  auto test = TestFullRanking(*model, split, ds, cold);
  if (!test.ok()) return Fail(test.status());
  if (Status w = Report(a, ds, curve, train_s, *test, !cold.empty()); !w.ok()) return Fail(w);
  return 0;
}

void AddModelOptions(CLI::App* cmd, SeqModelConfig& mc) {
  cmd->add_option("--epochs", mc.epochs)->capture_default_str();
  cmd->add_option("--dim", mc.dim)->capture_default_str();
  cmd->add_option("--layers", mc.layers)->capture_default_str();
  cmd->add_option("--heads", mc.heads)->capture_default_str();
  cmd->add_option("--max-len", mc.max_len)->capture_default_str();
  cmd->add_option("--dropout", mc.dropout)->capture_default_str();
  cmd->add_option("--batch", mc.batch)->capture_default_str();
  cmd->add_option("--lr", mc.lr)->capture_default_str();
  cmd->add_option("--patience", mc.patience)->capture_default_str();
  cmd->add_option("--eval-users", mc.eval_users, "validation users per epoch (0 = all)")->capture_default_str();
  cmd->add_option("--threads", mc.threads)->capture_default_str();
  cmd->add_option("--model-seed", mc.seed)->capture_default_str();
  cmd->add_flag("--profile", mc.profile, "print where each epoch's time goes");
  cmd->add_option("--checkpoint", mc.checkpoint_dir, "write a checkpoint here after every epoch");
  cmd->add_flag("--resume", mc.resume, "continue from --checkpoint when it holds one");
}

}  // namespace

Command AddTrainCommand(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "train the behaviour sequence model; report full-ranking test metrics");
  AddDataFlags(cmd, a->data);
  cmd->add_option("--out", a->out, "model directory")->capture_default_str();
  cmd->add_option("--json", a->json, "write the training curve and test metrics as JSON");
  AddModelOptions(cmd, a->mc);
  cmd->add_flag("--no-text", a->no_text, "ignore item and query text (ids only)");
  cmd->add_flag("--no-searches", a->no_searches, "leave search events out of the sequences");
  cmd->add_option("--cold-items", a->cold,
                  "cold-start protocol (as `vane eval --cold-items`): train without any event on this share of "
                  "the test-target items; the test is also reported on users whose target is one of them");
  cmd->add_option("--text-vocab", a->side.text_vocab, "subword vocabulary bound for item text")->capture_default_str();
  cmd->add_option("--keyword-head", a->side.keywords, "keywords the keyword head predicts (0: no head)")->capture_default_str();
  cmd->add_option("--word-vectors", a->side.word_vectors,
                  "initialise subword embeddings from word vectors (GloVe / word2vec / fastText .vec text format)");
  SeqModelConfig& mc = a->mc;
  cmd->add_option("--negatives", mc.negatives, "0: full softmax; K: sampled softmax with K negatives")->capture_default_str();
  cmd->add_option("--id-dropout", mc.id_dropout,
                  "share of items per batch seen through their text alone (helps items without interactions)")
      ->capture_default_str();
  cmd->add_option("--interest-weight", mc.interest_weight, "weight of the interest head in the loss")->capture_default_str();
  cmd->add_option("--keyword-weight", mc.keyword_weight, "weight of the keyword head in the loss")->capture_default_str();
  return {cmd, [a] { return RunTrain(*a); }};
}

}  // namespace vane::cli
