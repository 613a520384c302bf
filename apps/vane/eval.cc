// vane eval: offline full-ranking evaluation of every source and the blend, optionally with the streaming replay.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "vane/eval/evaluator.h"
#include "vane/eval/plot.h"
#include "vane/model/pipeline.h"

namespace vane::cli {

namespace {

struct EvalArgs {
  DataFlags data;
  EvalOptions eo;
  EngineConfig cfg;
  std::string json, svg, model, save_blend;
  size_t stream_every = 0;
  bool no_fit = false;
  double cold = 0;
  size_t generated_slots = 1;
  bool warm_targets = false;  // --cold-items: test the users whose target is warm instead
  std::vector<std::string> controls;  // --control
};

// "div=0.3,tail=0.1,cap=0.5" (any subset; omitted = off) -> RankControls.
Result<RankControls> ParseControl(const std::string& text) {
  RankControls c;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(at, end - at);
    at = end + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    const std::string key = part.substr(0, eq);
    float v = 0;
    try {
      size_t used = 0;
      if (eq == std::string::npos) throw std::invalid_argument("no value");
      v = std::stof(part.substr(eq + 1), &used);
      if (used != part.size() - eq - 1 || !std::isfinite(v) || v < 0) throw std::invalid_argument("bad value");
    } catch (const std::exception&) {
      return Status::InvalidArgument(fmt::format("--control '{}': '{}' needs a finite number >= 0 (key=value)", text, part));
    }
    if (key == "div") c.diversity = v;
    else if (key == "tail") c.long_tail = v;
    else if (key == "cap") {
      if (v <= 0 || v > 1) return Status::InvalidArgument(fmt::format("--control '{}': cap must be in (0, 1]", text));
      c.category_cap = v;
    } else return Status::InvalidArgument(fmt::format("--control '{}': unknown key '{}' (div, tail, cap)", text, key));
  }
  return c;
}

// The streaming replay with the fitted blend; prints its line and returns its JSON.
nlohmann::json RunStreaming(const Dataset& ds, EngineConfig cfg, const EvalReport& rep, const EvalArgs& a) {
  cfg.base = rep.weights;
  cfg.strategy_multipliers = rep.multipliers;
  StreamingReport sr = EvaluateStreaming(ds, cfg, a.stream_every, !a.data.quiet);
  std::cout << fmt::format("streaming replay: {} predictions over {} events | hr@10 {:.4f} ndcg@10 {:.4f} mrr {:.4f} | "
                           "ingest {:.2f} s, predict {:.2f} s\n",
                           sr.predictions, sr.events, sr.metrics.hr10, sr.metrics.ndcg10, sr.metrics.mrr,
                           sr.ingest_seconds, sr.predict_seconds);
  return nlohmann::json::parse(sr.ToJson());
}

int RunEval(const EvalArgs& a) {
  Dataset ds;
  if (Status s = Load(a.data, ds); !s.ok()) return Fail(s);
  EvalOptions eo = a.eo;
  if (a.cold > 0) {
    eo.test_items = MakeColdItems(ds, a.cold, 42);
    std::cerr << fmt::format("cold-start protocol: {} cold items{}\n",
                             std::count(eo.test_items.begin(), eo.test_items.end(), 1),
                             a.warm_targets ? "; testing the users whose target is warm" : "");
    if (a.warm_targets)
      for (auto& c : eo.test_items) c = !c;
  }
  eo.fit_weights = !a.no_fit;
  eo.progress = !a.data.quiet;
  for (const auto& t : a.controls) {
    auto c = ParseControl(t);
    if (!c.ok()) return Fail(c.status());
    eo.controls.push_back(*c);
  }
  EngineConfig cfg = a.cfg;
  if (Status ms = UseModel(a.model, ds, cfg, {.generated_slots = a.generated_slots}); !ms.ok()) return Fail(ms);
  auto rep = Evaluate(ds, cfg, eo);
  if (!rep.ok()) return Fail(rep.status());
  rep->Print(std::cout);
  nlohmann::json j = nlohmann::json::parse(rep->ToJson());
  if (a.stream_every > 0) {
    cfg.ranker = rep->ranker;
    j["streaming"] = RunStreaming(ds, cfg, *rep, a);
  }
  if (!a.svg.empty()) {
    if (Status ps = WriteMetricsSvg(*rep, a.svg); !ps.ok()) return Fail(ps);
    std::cout << "wrote " << a.svg << "\n";
  }
  if (!a.json.empty())
    if (Status w = WriteText(a.json, j.dump(2) + "\n"); !w.ok()) return Fail(w);
  if (!a.save_blend.empty()) {
    if (Status w = FittedBlend(*rep, eo.fit_weights).Save(a.save_blend); !w.ok()) return Fail(w);
    std::cout << "wrote the blend configuration to " << a.save_blend << "\n";
  }
  return 0;
}

}  // namespace

Command AddEvalCommand(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "offline full-ranking evaluation of every source and the blend");
  AddDataFlags(cmd, a->data);
  EvalOptions& eo = a->eo;
  EngineConfig& cfg = a->cfg;
  cmd->add_option("--protocol", eo.protocol, "loo or temporal")->check(CLI::IsMember({"loo", "temporal"}))->capture_default_str();
  cmd->add_option("--max-users", eo.max_users, "evaluate a seeded sample of users (0 = all)");
  cmd->add_option("--fit-users", eo.fit_users, "validation users used to fit the blend")->capture_default_str();
  cmd->add_flag("--no-fit", a->no_fit, "keep the configured blend weights");
  cmd->add_option("--dump-lists", eo.dump_lists,
                  "with --strict: write each test user's ranked list (top 20) as JSON lines to this file");
  cmd->add_flag("--strict", eo.strict,
                "rank test targets as a served list does: ties by catalogue order, and the items the server filters "
                "(consumed, the last 8 events) left out; what `vane replay` is compared with");
  cmd->add_flag("--gate", eo.fit_gate,
                "fit the learned strategy gate (source weights from the user's state) on validation; kept when it "
                "beats the rules on held-out validation users; the test reports blend (gate) and blend_rules");
  cmd->add_option("--gate-min-gain-se", eo.gate_min_gain_se,
                  "keep the gate only when its held-out gain over the rules exceeds this many standard errors")
      ->capture_default_str();
  cmd->add_flag("--ranker", eo.fit_ranker,
                "fit the learned ranking stage (LambdaMART over the head of the blend) on validation, test with it and "
                "save it with --save-blend");
  cmd->add_option("--ranker-users", eo.ranker_users, "validation users the ranker is fitted on (seeded sample)")->capture_default_str();
  cmd->add_option("--ranker-depth", eo.ranker.depth, "candidates the ranker re-orders per user")->capture_default_str();
  cmd->add_option("--ranker-rounds", eo.ranker.max_rounds, "most boosting rounds")->capture_default_str();
  cmd->add_option("--ranker-max-depth", eo.ranker.max_depth, "depth of each tree")->capture_default_str();
  cmd->add_option("--ranker-eta", eo.ranker.eta, "learning rate of the boosting")->capture_default_str();
  cmd->add_option("--ranker-min-gain-se", eo.ranker.min_gain_se,
                  "keep the ranker only when its held-out gain over the blend order exceeds this many standard errors")
      ->capture_default_str();
  cmd->add_flag("--ranker-ablation", eo.ranker_ablation, "also fit and test the ranker without each feature group");
  cmd->add_option("--control", a->controls,
                  "also test the blend under these ranking-stage controls, e.g. div=0.3,tail=0.1,cap=0.5 (repeat for a "
                  "table): div = intra-list distance weight, tail = long-tail bonus, cap = most share of one category");
  cmd->add_option("--json", a->json, "write the report as JSON to this file");
  cmd->add_option("--save-blend", a->save_blend,
                  "write the blend it chose (weights, multipliers, validation figures) to this file, for "
                  "`vane recommend --blend` and `vane serve --blend`");
  cmd->add_option("--plot", a->svg, "write a bar chart of the test metrics (SVG) to this file");
  cmd->add_option("--stream-every", a->stream_every, "also run the streaming replay, predicting every N-th event");
  cmd->add_option("--model", a->model, "a `vane train` model directory: adds the model to the sources");
  cmd->add_option("--generated-slots", a->generated_slots,
                  "top-10 slots the model's written text may fill with items it knows by text alone (a model with "
                  "a text decoder; 0 = off)")
      ->capture_default_str();
  cmd->add_flag("--warm-targets", a->warm_targets,
               "with --cold-items: test the users whose target is not cold (what the cold items cost the others)");
  cmd->add_option("--cold-items", a->cold,
                  "cold-start protocol: this share of the test-target items loses every other event; only "
                  "users whose test target is such an item are tested (same share in `vane train`)");
  cmd->add_option("--covisit-window", cfg.covisit.window, "co-visitation window (events)")->capture_default_str();
  cmd->add_option("--covisit-recent", cfg.covisit.recent_items, "recent items queried")->capture_default_str();
  cmd->add_option("--covisit-decay", cfg.covisit.recency_decay, "weight decay per older recent item")->capture_default_str();
  cmd->add_option("--covisit-reverse", cfg.covisit.reverse_weight, "weight of reverse edges")->capture_default_str();
  cmd->add_option("--knn-history", cfg.item_knn.history_items, "history items for item_knn")->capture_default_str();
  cmd->add_option("--knn-decay", cfg.item_knn.history_decay, "item_knn decay per older item")->capture_default_str();
  return {cmd, [a] { return RunEval(*a); }};
}

}  // namespace vane::cli
