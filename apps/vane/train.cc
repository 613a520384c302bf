// vane train: trains the behaviour sequence model and reports its full-ranking test metrics.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "vane/core/progress.h"
#include "vane/eval/evaluator.h"
#include "vane/model/decoder_pipeline.h"
#include "vane/model/pipeline.h"
#include "vane/model/tune.h"

namespace vane::cli {

namespace {

// The interest-text decoder's settings (`vane train --text-decoder`, `vane decoder`).
struct DecoderFlags {
  TextDecoderConfig dc;
  size_t max_pairs = 200000;
  size_t eval_users = 2000;
  size_t samples = 8;
  std::string json;
};

struct TrainArgs {
  DataFlags data;
  bool text_decoder = false;
  DecoderFlags dec;
  SeqModelConfig mc;
  SideOptions side;
  std::string out = "data/model", json;
  bool no_text = false, no_searches = false;
  double cold = 0;
};

// Trains the interest-text decoder of `model` (saved as `dir`/decoder.bin), then measures its words against the
// templates on held-out users and prints the table, the decode time and samples.
Status TrainAndMeasureDecoder(const SeqModel& model, const text::SubwordTokenizer& tok, const SeqSplit& split,
                              const Dataset& ds, const std::string& dir, const DecoderFlags& f, bool quiet) {
  VANE_ASSIGN_OR_RETURN(DecoderRun run, TrainDecoderForModel(model, split, ds, tok, f.dc, f.max_pairs, !quiet));
  VANE_RETURN_IF_ERROR(run.decoder.Save(DecoderPath(dir)));
  VANE_ASSIGN_OR_RETURN(InterestTextEval ev, EvaluateInterestText(model, run.decoder, split, ds, tok, f.eval_users,
                                                                  f.samples, !quiet));
  std::cout << fmt::format("text decoder {} | {} classes, {} pairs ({} s of states) | {} epochs in {} | decode p50 "
                           "{:.0f} us p99 {:.0f} us\n",
                           DecoderPath(dir), run.decoder.classes(), run.pairs, static_cast<int>(run.state_seconds),
                           run.log.size(), FormatDuration(run.train_seconds), ev.decode_p50_us, ev.decode_p99_us);
  std::cout << fmt::format("interest text against the words of the next two items ({} held-out users):\n", ev.users);
  std::cout << fmt::format("  {:<44} {:>9} {:>7} {:>6} {:>6}\n", "method", "precision", "recall", "F1", "words");
  for (const auto& r : ev.rows)
    std::cout << fmt::format("  {:<44} {:>9.4f} {:>7.4f} {:>6.4f} {:>6.1f}\n", r.method, r.precision, r.recall, r.f1,
                             r.words);
  for (const auto& x : ev.samples)
    std::cout << fmt::format("  sample {} (P {:.2f} R {:.2f})\n    generated: {}\n    model template: {}\n    graph "
                             "template: {}\n    next items: {}\n",
                             x.user, x.precision, x.recall, x.generated, x.model_template, x.graph_template, x.next);
  if (f.json.empty()) return Status::Ok();
  nlohmann::json j;
  j["dataset"] = ds.name;
  j["users"] = ev.users;
  j["pairs"] = run.pairs;
  j["classes"] = run.decoder.classes();
  j["train_seconds"] = run.train_seconds;
  j["decode_p50_us"] = ev.decode_p50_us;
  j["decode_p99_us"] = ev.decode_p99_us;
  for (const auto& e : run.log)
    j["curve"].push_back({{"epoch", e.epoch}, {"loss", e.train_loss}, {"held_out_loss", e.val_loss}, {"seconds", e.seconds}});
  for (const auto& r : ev.rows)
    j["rows"].push_back({{"method", r.method}, {"precision", r.precision}, {"recall", r.recall}, {"f1", r.f1},
                         {"words", r.words}});
  for (const auto& x : ev.samples)
    j["samples"].push_back({{"user", x.user}, {"generated", x.generated}, {"model_template", x.model_template},
                            {"graph_template", x.graph_template}, {"next", x.next}, {"precision", x.precision},
                            {"recall", x.recall}});
  return WriteText(f.json, j.dump(2) + "\n");
}

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
  if (a.text_decoder) {
    if (!side->tokenizer) return Fail(Status::InvalidArgument("--text-decoder: the data has no item or query text"));
    if (Status w = TrainAndMeasureDecoder(*model, *side->tokenizer, split, ds, a.out, a.dec, a.data.quiet); !w.ok())
      return Fail(w);
  }
  return 0;
}

struct DecoderArgs {
  DataFlags data;
  std::string model = "data/model";
  double cold = 0;
  DecoderFlags dec;
};

int RunDecoder(const DecoderArgs& a) {
  Dataset ds;
  if (Status s = Load(a.data, ds); !s.ok()) return Fail(s);
  if (a.cold > 0) MakeColdItems(ds, a.cold, 42);
  auto model = SeqModel::Load(a.model);
  if (!model.ok()) return Fail(model.status());
  auto tok = LoadModelTokenizer(a.model);
  if (!tok.ok()) return Fail(tok.status());
  if (!*tok) return Fail(Status::InvalidArgument(a.model + ": the model has no subword tokenizer (trained without text)"));
  if (model->num_items() != ds.num_items())
    return Fail(Status::InvalidArgument(fmt::format("{}: trained on {} items, the data has {} (same data and flags as "
                                                    "`vane train`, --cold-items included)",
                                                    a.model, model->num_items(), ds.num_items())));
  SeqSplit split = MakeSeqSplit(ds, model->has_text());
  if (Status w = TrainAndMeasureDecoder(*model, **tok, split, ds, a.model, a.dec, a.data.quiet); !w.ok()) return Fail(w);
  return 0;
}

struct TuneArgs {
  DataFlags data;
  SeqModelConfig mc;
  SideOptions side;
  TuneOptions to;
  TuneSpace space;
  double budget_min = 20;
  std::string out = "data/tune";
};

void PrintTrials(const TuneResult& r) {
  std::vector<const TuneTrial*> order;
  for (const auto& t : r.trials) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->val_ndcg10 > b->val_ndcg10; });
  std::cout << fmt::format("{:>5} {:>4} {:>6} {:>5} {:>7} {:>7} {:>6} {:>9} {:>9} {:>8} {:>7} {:>9}\n", "trial", "dim",
                           "layers", "heads", "dropout", "lr", "len", "negatives", "val ndcg", "val hr", "epochs",
                           "time");
  for (const TuneTrial* t : order)
    std::cout << fmt::format("{:>5} {:>4} {:>6} {:>5} {:>7.2f} {:>7.0e} {:>6} {:>9} {:>9.4f} {:>8.4f} {:>7} {:>9}{}\n",
                             t->index, t->cfg.dim, t->cfg.layers, t->cfg.heads, t->cfg.dropout, t->cfg.lr,
                             t->cfg.max_len, t->cfg.negatives, t->val_ndcg10, t->val_hr10, t->epochs,
                             FormatDuration(t->seconds), t->resumed ? " (earlier run)" : "");
}

int RunTune(const TuneArgs& a) {
  Dataset ds;
  if (Status s = Load(a.data, ds); !s.ok()) return Fail(s);
  std::cerr << CpuTrainingReport(a.mc.threads) << "\n";
  SideOptions so = a.side;
  so.quiet = a.data.quiet;
  auto side = BuildSideInfo(ds, so);
  if (!side.ok()) return Fail(side.status());
  const bool text = side->text.vocab_size > 0;
  SeqSplit split = MakeSeqSplit(ds, text);
  TuneOptions to = a.to;
  to.dir = a.out;
  to.budget_s = a.budget_min * 60;
  to.progress = !a.data.quiet;
  auto r = Tune(split, ds.num_items(), a.mc, a.space, to, text ? &side->text : nullptr,
                side->cats.num_categories > 0 ? &side->cats : nullptr,
                side->keywords.names.empty() ? nullptr : &side->keywords);
  if (!r.ok()) return Fail(r.status());
  if (r->best < 0) return Fail(Status::FailedPrecondition("tune: the budget allowed no trial"));
  if (side->tokenizer)
    if (Status w = side->tokenizer->Save(a.out + "/model/subword.model"); !w.ok()) return Fail(w);
  std::cout << fmt::format("vane tune | {} | {} trials ({} run now, {}) | validation only\n", ds.name, r->trials.size(),
                           std::count_if(r->trials.begin(), r->trials.end(), [](auto& t) { return !t.resumed; }),
                           FormatDuration(r->seconds));
  PrintTrials(*r);
  const TuneTrial& b = r->trials[static_cast<size_t>(r->best)];
  std::cout << fmt::format("chosen: trial {} (validation NDCG@10 {:.4f}), saved with its configuration in {}/model "
                           "(tune.json)\n",
                           b.index, b.val_ndcg10, a.out);
  return 0;
}

// The search space, one list per field (`--space-dim 64,128`), and trial 0's configuration (`--dim 64`).
void AddTuneSpaceOptions(CLI::App* cmd, TuneSpace& sp, SeqModelConfig& base) {
  auto list = [&](const char* name, auto& v, const char* what) {
    cmd->add_option(name, v, std::string("values searched for ") + what)->delimiter(',')->capture_default_str();
  };
  list("--space-dim", sp.dim, "the width");
  list("--space-layers", sp.layers, "the depth");
  list("--space-heads", sp.heads, "the heads (divisors of the width only)");
  list("--space-dropout", sp.dropout, "the dropout");
  list("--space-lr", sp.lr, "the learning rate");
  list("--space-max-len", sp.max_len, "the maximum length");
  list("--space-negatives", sp.negatives, "the loss (0: full softmax; K: K sampled negatives)");
  cmd->add_option("--dim", base.dim, "trial 0's width")->capture_default_str();
  cmd->add_option("--layers", base.layers, "trial 0's depth")->capture_default_str();
  cmd->add_option("--heads", base.heads, "trial 0's heads")->capture_default_str();
  cmd->add_option("--dropout", base.dropout, "trial 0's dropout")->capture_default_str();
  cmd->add_option("--lr", base.lr, "trial 0's learning rate")->capture_default_str();
  cmd->add_option("--max-len", base.max_len, "trial 0's maximum length")->capture_default_str();
  cmd->add_option("--negatives", base.negatives, "trial 0's loss")->capture_default_str();
}

void AddDecoderOptions(CLI::App* cmd, DecoderFlags& f) {
  cmd->add_option("--decoder-epochs", f.dc.epochs)->capture_default_str();
  cmd->add_option("--decoder-hidden", f.dc.hidden)->capture_default_str();
  cmd->add_option("--decoder-lr", f.dc.lr)->capture_default_str();
  cmd->add_option("--decoder-pairs", f.max_pairs, "training pairs (state, next text) sampled")->capture_default_str();
  cmd->add_option("--decoder-eval-users", f.eval_users, "held-out users measured (0 = all)")->capture_default_str();
  cmd->add_option("--decoder-samples", f.samples, "users whose texts are printed")->capture_default_str();
  cmd->add_option("--decoder-json", f.json, "write the decoder's curve, measure and samples as JSON");
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
  cmd->add_option("--patience", mc.patience, "epochs without a new high of the smoothed validation curve")
      ->capture_default_str();
  cmd->add_option("--smooth-epochs", mc.smooth_epochs,
                  "the stop decision reads the mean validation NDCG@10 of this many epochs (1 = the raw curve)")
      ->capture_default_str();
  cmd->add_option("--eval-users", mc.eval_users, "validation users per epoch (0 = all)")->capture_default_str();
  cmd->add_option("--threads", mc.threads)->capture_default_str();
  cmd->add_option("--model-seed", mc.seed)->capture_default_str();
  cmd->add_flag("--profile", mc.profile, "print where each epoch's time goes");
  cmd->add_option("--stop-after-epoch", mc.stop_after_epoch,
                  "stop after this epoch as if interrupted (the learning-rate schedule still plans --epochs)");
  cmd->add_flag("--bf16", mc.bf16, "train the forward passes in bfloat16 (CPU autocast; AMX/AVX-512 BF16 via oneDNN)");
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
  cmd->add_flag("--text-decoder", a->text_decoder,
                "also train the interest-text decoder (saved as decoder.bin) and measure its words on held-out users");
  AddDecoderOptions(cmd, a->dec);
  return {cmd, [a] { return RunTrain(*a); }};
}

Command AddTuneCommand(CLI::App& app) {
  auto a = std::make_shared<TuneArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "search the model's configuration on validation within a time budget (resumable); keep the best");
  AddDataFlags(cmd, a->data);
  cmd->add_option("--out", a->out, "directory: trials.jsonl (resume) and the best model in model/")->capture_default_str();
  cmd->add_option("--budget-min", a->budget_min, "time budget in minutes")->capture_default_str();
  cmd->add_option("--trial-epochs", a->to.epochs, "epochs per trial")->capture_default_str();
  cmd->add_option("--trial-patience", a->to.patience, "early-stopping patience per trial")->capture_default_str();
  cmd->add_option("--max-trials", a->to.max_trials, "stop after this many trials (0: the budget decides)")
      ->capture_default_str();
  cmd->add_option("--tune-seed", a->to.seed, "seed of the trial sequence (a resume needs the same)")->capture_default_str();
  cmd->add_option("--trial-schedule-epochs", a->to.schedule_epochs,
                  "trials plan this many epochs of learning-rate schedule and stop after --trial-epochs (0: the "
                  "schedule is --trial-epochs long)")
      ->capture_default_str();
  AddTuneSpaceOptions(cmd, a->space, a->mc);
  cmd->add_option("--eval-users", a->mc.eval_users, "validation users per epoch (0 = all)")->capture_default_str();
  cmd->add_option("--threads", a->mc.threads)->capture_default_str();
  cmd->add_option("--batch", a->mc.batch)->capture_default_str();
  cmd->add_option("--model-seed", a->mc.seed)->capture_default_str();
  cmd->add_flag("--bf16", a->mc.bf16, "train every trial's forward passes in bfloat16 (as `vane train --bf16`)");
  return {cmd, [a] { return RunTune(*a); }};
}

Command AddDecoderCommand(CLI::App& app) {
  auto a = std::make_shared<DecoderArgs>();
  CLI::App* cmd = app.add_subcommand(
      "decoder", "train the interest-text decoder of a trained model; measure its words against the templates");
  AddDataFlags(cmd, a->data);
  cmd->add_option("--model", a->model, "model directory (`vane train --out`)")->capture_default_str();
  cmd->add_option("--cold-items", a->cold, "the cold-start share the model was trained with (as `vane train`)");
  AddDecoderOptions(cmd, a->dec);
  return {cmd, [a] { return RunDecoder(*a); }};
}

}  // namespace vane::cli
