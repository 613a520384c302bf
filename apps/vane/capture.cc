// vane capture: the interest-capture benchmark on generated data (how fast and how well the interest state follows
// the known intents), optionally scoring a trained model's interest head too.
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "vane/eval/capture.h"
#include "vane/model/pipeline.h"

namespace vane::cli {

namespace {

struct CaptureArgs {
  gen::GenOptions gen;
  EngineConfig cfg;
  std::vector<float> weights;
  std::string json, model;
};

int RunCapture(const CaptureArgs& a) {
  gen::Generated g = gen::Generate(a.gen);
  Dataset ds;
  ImportReport report;
  if (Status s = BuildGeneratedDataset(g, ds, report); !s.ok()) return Fail(s);
  CaptureOptions co;
  co.progress = true;
  if (!a.model.empty())
    if (Status s = AddModelToCapture(a.model, ds, co); !s.ok()) return Fail(s);
  EngineConfig cfg = a.cfg;
  for (size_t i = 0; i < a.weights.size() && i < kNumSources; ++i) cfg.base[i] = a.weights[i];
  CaptureReport rep = MeasureCapture(g, ds, cfg, co);
  std::cout << rep.ToText() << "\n";
  if (!a.json.empty())
    if (Status w = WriteText(a.json, rep.ToJson() + "\n"); !w.ok()) return Fail(w);
  return 0;
}

}  // namespace

Command AddCaptureCommand(CLI::App& app) {
  auto a = std::make_shared<CaptureArgs>();
  CLI::App* cmd = app.add_subcommand("capture", "interest-capture benchmark on generated data (lag, accuracy)");
  cmd->add_option("--seed", a->gen.seed, "random seed of the generated users and catalogue")->capture_default_str();
  cmd->add_option("--users", a->gen.users, "generated users")->capture_default_str();
  cmd->add_option("--noise", a->gen.noise, "share of events off the user's current intent (0..1)")->capture_default_str();
  cmd->add_option("--json", a->json, "write the report as JSON to this file");
  EngineConfig& cfg = a->cfg;
  cmd->add_option("--short-half-life", cfg.interest.short_half_life_s, "half-life of the short-term interest weights, seconds")->capture_default_str();
  cmd->add_option("--covisit-decay", cfg.covisit.recency_decay, "co-visitation: weight lost per step back in the session")->capture_default_str();
  cmd->add_option("--search-share", cfg.interest.search_category_share, "interest a search gives the categories it matches, relative to a view")->capture_default_str();
  cmd->add_option("--keyword-share", cfg.interest.keyword_share, "interest an event gives its item's keywords, relative to its category")->capture_default_str();
  cmd->add_option("--model", a->model, "a `vane train` model of the same generated data: also score its interest head");
  std::string names;
  for (int i = 0; i < kNumSources; ++i) names += std::string(i ? "," : "") + SourceName(i);
  cmd->add_option("--weights", a->weights, "base blend weights, one per source in this order: " + names)
      ->delimiter(',')
      ->expected(kNumSources);
  return {cmd, [a] { return RunCapture(*a); }};
}

}  // namespace vane::cli
