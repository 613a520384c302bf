// vane recommend and vane interests: one user's recommendations, or interest graph and interest text, from the
// state the data replays into.
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "vane/core/strings.h"
#include "vane/eval/plot.h"
#include "vane/interest/describe.h"
#include "vane/model/decoder_pipeline.h"
#include "vane/model/pipeline.h"
#include "vane/serve/service.h"
#include "vane/serve/json.h"

namespace vane::cli {

namespace {

// The data replayed into an engine (with the model at `model`, if any), and "now" for requests. Not movable once
// prepared: the engine refers to the dataset.
struct LiveState {
  Dataset ds;
  std::unique_ptr<Engine> engine;
  Timestamp now = 0;
};

// What every command that replays the data shares: --now (default: a minute after the data's last event) and the
// fitted blend (--blend, from `vane eval --save-blend`).
struct TimeFlags {
  std::string now, blend;
};

void AddTimeFlags(CLI::App* cmd, TimeFlags& t, bool blend) {
  cmd->add_option("--now", t.now,
                  "judge the user at this time (unix seconds or ISO-8601; default: a minute after the data's last event)");
  if (blend) cmd->add_option("--blend", t.blend, "the fitted blend configuration `vane eval --save-blend` wrote");
}

Status Prepare(const DataFlags& f, const std::string& model, const TimeFlags& t, LiveState& live) {
  VANE_RETURN_IF_ERROR(Load(f, live.ds));
  EngineConfig cfg;
  VANE_RETURN_IF_ERROR(UseModel(model, live.ds, cfg));
  if (!t.blend.empty()) {
    VANE_ASSIGN_OR_RETURN(BlendConfig b, BlendConfig::Load(t.blend));
    b.ApplyTo(cfg);
  }
  live.engine = std::make_unique<Engine>(live.ds, cfg);
  IngestAll(live.ds, *live.engine, f.quiet);
  VANE_ASSIGN_OR_RETURN(live.now, ParseNow(t.now, DataNow(live.ds)));
  return Status::Ok();
}

struct RecommendArgs {
  DataFlags data;
  TimeFlags time;
  RecommendRequest rq;
  std::string exclude, categories, slates, model;
  bool json = false, zh = false;
};

int RunRecommend(const RecommendArgs& a) {
  LiveState live;
  if (Status s = Prepare(a.data, a.model, a.time, live); !s.ok()) return Fail(s);
  RecommendRequest rq = a.rq;
  if (!live.ds.users.Find(rq.user)) std::cerr << "note: user '" << rq.user << "' has no events: new-user strategy\n";
  rq.now = live.now;
  rq.exclude_ids = SplitList(a.exclude);
  rq.categories = SplitList(a.categories);
  rq.slate_types = SplitList(a.slates);
  if (Status s = CheckRequest(live.ds, rq); !s.ok()) return Fail(s);
  RecommendResponse r = live.engine->Recommend(rq);
  if (a.json) std::cout << RecsJson(r).dump(2) << "\n";
  else PrintRecs(r, a.zh);
  return 0;
}

struct InterestsArgs {
  DataFlags data;
  TimeFlags time;
  std::string user, svg, model;
  bool json = false;
};

void PrintInterestsJson(const LiveState& live, UserIdx u, const InterestSummary& sum, const ModelInterest* mi) {
  const Catalog& catalog = live.ds.catalog;
  nlohmann::json j = InterestsJson(sum);
  if (mi) {
    j["model_text"] = mi->text_en;
    j["model_text_zh"] = mi->text_zh;
    if (!mi->generated.empty()) j["model_generated"] = mi->generated;
  }
  j["graph"]["categories"] = nlohmann::json::array();
  for (auto& c : live.engine->interests().Categories(u, live.now))
    j["graph"]["categories"].push_back({{"name", catalog.category_vocab().Name(c.id)}, {"short", c.s}, {"long", c.l}});
  for (auto& k : live.engine->interests().Keywords(u, live.now))
    j["graph"]["keywords"].push_back({{"name", catalog.keyword_vocab().Name(k.id)}, {"short", k.s}, {"long", k.l}});
  std::cout << j.dump(2) << "\n";
}

void PrintInterestsText(const LiveState& live, UserIdx u, const InterestSummary& sum, const ModelInterest* mi) {
  const Catalog& catalog = live.ds.catalog;
  std::cout << sum.text_en << "\n" << sum.text_zh << "\n";
  if (mi && !mi->text_en.empty()) std::cout << mi->text_en << "\n" << mi->text_zh << "\n";
  if (mi && !mi->generated.empty()) std::cout << "The model writes what comes next: " << mi->generated << "\n";
  std::cout << "\ninterest graph (short-term / long-term weight):\n";
  for (auto& c : live.engine->interests().Categories(u, live.now))
    std::cout << fmt::format("  category {:<24} {:8.3f} {:8.3f}\n", catalog.category_vocab().Name(c.id), c.s, c.l);
  for (auto& k : live.engine->interests().Keywords(u, live.now))
    std::cout << fmt::format("  keyword  {:<24} {:8.3f} {:8.3f}\n", catalog.keyword_vocab().Name(k.id), k.s, k.l);
}

int RunInterests(const InterestsArgs& a) {
  LiveState live;
  if (Status s = Prepare(a.data, "", a.time, live); !s.ok()) return Fail(s);
  auto found = live.ds.users.Find(a.user);
  if (!found) return Fail(Status::NotFound("user '" + a.user + "' has no events in this data"));
  const UserIdx u(*found);
  InterestSummary sum = Describe(live.engine->interests(), u, live.now);
  std::optional<ModelInterest> mi;
  if (!a.model.empty()) {
    auto m = SeqModel::Load(a.model);
    if (!m.ok()) return Fail(m.status());
    mi = DescribeModelInterest(*m, live.engine->interests(), u, live.ds.catalog);
    auto dec = LoadModelDecoder(a.model);
    if (!dec.ok()) return Fail(dec.status());
    auto tok = LoadModelTokenizer(a.model);
    if (!tok.ok()) return Fail(tok.status());
    if (*dec && *tok && (*dec)->in_dim == m->config().dim) {
      std::vector<uint32_t> hist;
      for (ItemIdx i : live.engine->interests().Interacted(u)) hist.push_back(i.v);
      std::vector<float> h = m->Hidden(SeqInput{hist, {}});
      if (!h.empty())
        mi->generated = PiecesToText(**tok, (*dec)->Decode(h.data() + h.size() - static_cast<size_t>(m->config().dim)));
    }
    if (mi->text_en.empty() && mi->generated.empty()) mi.reset();
  }
  if (!a.svg.empty()) {
    if (Status ps = WriteInterestGraphSvg(live.engine->interests(), u, live.now, a.svg); !ps.ok()) return Fail(ps);
    std::cerr << "wrote " << a.svg << "\n";
  }
  if (a.json) PrintInterestsJson(live, u, sum, mi ? &*mi : nullptr);
  else PrintInterestsText(live, u, sum, mi ? &*mi : nullptr);
  return 0;
}

}  // namespace

Command AddRecommendCommand(CLI::App& app) {
  auto a = std::make_shared<RecommendArgs>();
  CLI::App* cmd = app.add_subcommand("recommend", "recommendations for a user from the live state");
  AddDataFlags(cmd, a->data);
  RecommendRequest& rq = a->rq;
  cmd->add_option("--user", rq.user, "user id")->required();
  cmd->add_option("-n", rq.n, "number of items")->capture_default_str();
  cmd->add_option("--type", rq.item_type, "only items of this type");
  cmd->add_option("--category", a->categories, "only items in these categories (comma separated)");
  cmd->add_option("--exclude", a->exclude, "item ids to leave out (comma separated)");
  cmd->add_option("--slates", a->slates, "per-type slates, e.g. page,product,video");
  cmd->add_flag("--include-consumed", rq.include_consumed, "keep items the user already consumed");
  cmd->add_flag("--explain,!--no-explain", rq.explain, "explain each item (default on)");
  cmd->add_flag("--json", a->json, "print JSON");
  cmd->add_flag("--zh", a->zh, "explanations in Chinese");
  cmd->add_option("--model", a->model, "a `vane train` model directory: adds the model to the sources");
  AddTimeFlags(cmd, a->time, true);
  return {cmd, [a] { return RunRecommend(*a); }};
}

Command AddInterestsCommand(CLI::App& app) {
  auto a = std::make_shared<InterestsArgs>();
  CLI::App* cmd = app.add_subcommand("interests", "a user's interest graph and what they are into, in words");
  AddDataFlags(cmd, a->data);
  cmd->add_option("--user", a->user, "user id")->required();
  cmd->add_flag("--json", a->json, "print JSON");
  cmd->add_option("--model", a->model, "a `vane train` model: add what the model says the user wants now");
  cmd->add_option("--plot", a->svg, "draw the interest graph (SVG) to this file");
  AddTimeFlags(cmd, a->time, false);
  return {cmd, [a] { return RunInterests(*a); }};
}

}  // namespace vane::cli
