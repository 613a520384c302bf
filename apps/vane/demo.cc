// vane demo: the worked example on the built-in data, with a small behaviour model trained first.
#include <iostream>
#include <memory>

#include <ctime>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "commands.h"
#include "vane/core/progress.h"
#include "vane/eval/scenario.h"
#include "vane/interest/describe.h"
#include "vane/model/model_source.h"
#include "vane/model/pipeline.h"

namespace vane::cli {

namespace {

struct DemoArgs {
  DataFlags data;
  int epochs = 8;
};

// A small behaviour model, trained here in seconds, to join the blend.
Result<std::shared_ptr<const SeqModel>> TrainDemoModel(const Dataset& ds, int epochs, bool quiet) {
  SeqModelConfig mc = SmallModelConfig();
  mc.epochs = epochs;
  if (!quiet)
    std::cerr << fmt::format("training a small behaviour model ({} epochs; --model-epochs 0 skips it): a line per "
                             "epoch follows\n", epochs);
  VANE_ASSIGN_OR_RETURN(TrainedSeqModel t, TrainWithSideInfo(ds, mc, SmallSideOptions(), !quiet));
  std::cout << fmt::format("trained a behaviour model ({} epochs, width 32, item and query text, interest and keyword heads) in {}\n",
                           epochs, FormatDuration(t.seconds));
  return t.model;
}

// The worked example: user A's steps, interests (and what the model says) and recommendations.
Status PrintWorkedExample(Dataset& ds, Engine& engine, const SeqModel* model) {
  Timestamp start = DataNow(ds) + 3600;
  VANE_ASSIGN_OR_RETURN(SeedExampleResult res, RunSeedExample(ds, engine, "A", start));
  std::cout << "The worked example - user A:\n";
  for (const auto& st : res.steps) std::cout << "  - " << st.description << "\n";
  std::cout << "\nWhat A is into (from the interest graph):\n  " << res.interests.text_en << "\n  "
            << res.interests.text_zh << "\n";
  if (model) {
    ModelInterest mi = DescribeModelInterest(*model, engine.interests(), UserIdx(*ds.users.Find("A")), ds.catalog);
    std::cout << "What the behaviour model says:\n  " << mi.text_en << "\n  " << mi.text_zh << "\n";
  }
  std::cout << "\nRecommendations for A, with reasons:\n";
  PrintRecs(res.recommendations, false);
  return Status::Ok();
}

// A generated user with a long history, for contrast.
void PrintContrastUser(const Dataset& ds, const Engine& engine) {
  if (!ds.users.Find("u0")) return;
  UserIdx u0(*ds.users.Find("u0"));
  Timestamp now = engine.interests().Find(u0)->last_ts + 60;
  // Judged a minute after u0's own last event, and said so: `vane interests --user u0 --now <that time>` agrees.
  std::cout << fmt::format("\nUser u0 (generated history of {} events), as of {:%Y-%m-%dT%H:%M:%SZ} (--now {}):\n  ",
                           engine.interests().Find(u0)->num_events, fmt::gmtime(static_cast<std::time_t>(now)), now)
            << Describe(engine.interests(), u0, now).text_en << "\n";
  RecommendRequest rq;
  rq.user = "u0";
  rq.n = 5;
  rq.now = now;
  PrintRecs(engine.Recommend(rq), false);
}

int RunDemo(const DemoArgs& a) {
  Dataset ds;
  if (Status s = Load(a.data, ds); !s.ok()) return Fail(s);
  EngineConfig cfg;
  std::shared_ptr<const SeqModel> model;
  if (a.epochs > 0) {
    auto m = TrainDemoModel(ds, a.epochs, a.data.quiet);
    if (!m.ok()) return Fail(m.status());
    model = *m;
    cfg.model_source = [model](const Dataset& d, const InterestStore& st) -> std::unique_ptr<CandidateSource> {
      return std::make_unique<ModelSource>(d, st, model);
    };
  }
  Engine engine(ds, cfg);
  IngestAll(ds, engine, false);
  std::cout << fmt::format("vane demo on '{}' data: {} users, {} items ({} types), {} events\n\n", ds.name,
                           ds.num_users(), ds.num_items(), ds.catalog.type_vocab().size(), ds.events.size());
  if (Status s = PrintWorkedExample(ds, engine, model.get()); !s.ok()) return Fail(s);
  PrintContrastUser(ds, engine);
  return 0;
}

}  // namespace

Command AddDemoCommand(CLI::App& app) {
  auto a = std::make_shared<DemoArgs>();
  CLI::App* cmd = app.add_subcommand("demo", "the worked example on the built-in data: interests and recommendations");
  AddDataFlags(cmd, a->data);
  cmd->add_option("--model-epochs", a->epochs, "train a small behaviour model first (0 = none)")->capture_default_str();
  return {cmd, [a] { return RunDemo(*a); }};
}

}  // namespace vane::cli
