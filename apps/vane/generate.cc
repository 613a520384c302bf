// vane generate: writes the bilingual demo data with its truth.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "vane/gen/generator.h"

namespace vane::cli {

namespace {

struct GenerateArgs {
  std::string out = "data/generated";
  gen::GenOptions gen;
};

int RunGenerate(const GenerateArgs& a) {
  gen::Generated g = gen::Generate(a.gen);
  if (Status s = gen::WriteGenerated(g, a.out); !s.ok()) return Fail(s);
  std::cout << fmt::format("wrote {} items, {} events, {} truth rows to {}\n", g.items.size(), g.events.size(),
                           g.truth.size(), a.out);
  return 0;
}

}  // namespace

Command AddGenerateCommand(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "write bilingual demo data with known intents (items, events, truth)");
  cmd->add_option("--out", a->out, "output folder")->capture_default_str();
  cmd->add_option("--seed", a->gen.seed, "random seed")->capture_default_str();
  cmd->add_option("--users", a->gen.users, "number of users")->capture_default_str();
  cmd->add_option("--items-per-topic", a->gen.items_per_topic, "items per topic")->capture_default_str();
  cmd->add_option("--noise", a->gen.noise, "share of off-intent events")->capture_default_str();
  cmd->add_option("--zh-share", a->gen.zh_share, "share of users searching in Chinese")->capture_default_str();
  return {cmd, [a] { return RunGenerate(*a); }};
}

}  // namespace vane::cli
