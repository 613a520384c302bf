#include "vane/eval/capture.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vane/core/progress.h"

namespace vane {

Status BuildGeneratedDataset(const gen::Generated& g, Dataset& ds, ImportReport& report) {
  auto reg = ActionRegistry::Preset("ecommerce");
  if (!reg.ok()) return reg.status();
  ds.actions = std::move(reg.value());
  ds.name = "generated";
  ds.has_timestamps = true;
  for (const Item& it : g.items) ds.catalog.Upsert(it);
  ImportOptions opt;
  opt.dedup = false;
  opt.progress = false;
  EventCleaner cleaner(ds, opt, report);
  for (size_t i = 0; i < g.events.size(); ++i) {
    Status s = cleaner.Add(g.events[i], "generated", i + 1);
    if (!s.ok())
      return Status::Internal("generated event " + std::to_string(i) + " rejected: " + AtRecord(s, "generated", i + 1).message());
  }
  if (ds.events.size() != g.events.size()) return Status::Internal("generated events and dataset events differ");
  return Status::Ok();
}

namespace {

// The replay of the capture benchmark: one engine fed the events in order, and the counts it is scored on.
class CaptureReplay {
 public:
  CaptureReplay(const Dataset& ds, const EngineConfig& cfg, const CaptureOptions& opt)
      : ds_(ds), opt_(opt), engine_(ds, cfg), open_(ds.num_users()), last_segment_(ds.num_users(), UINT32_MAX) {}

  void Step(const Event& e, const gen::TruthRow& t, CaptureReport& rep) {
    noise_ += t.noise;
    auto intent = ds_.catalog.category_vocab().Find(t.intent);
    Open& o = open_[e.user.v];
    if (t.switch_point) {
      Switch(e, t, intent, o);
      ++rep.switches;
    } else if (o.active && o.segment != t.segment) {
      lags_.push_back(o.seen + 1.0);
      o.active = false;
    }
    engine_.Ingest(e);
    ScoreInterest(e, t, intent);
    if (o.active && o.segment == t.segment) CheckCaptured(e, intent, o, rep);
  }

  void Fill(CaptureReport& rep) {
    for (const Open& o : open_)
      if (o.active) lags_.push_back(o.seen + 1.0);
    auto share = [](size_t part, size_t whole) { return static_cast<double>(part) / static_cast<double>(whole); };
    rep.events = ds_.events.size();
    rep.interest_accuracy = rep.events ? share(acc_, rep.events) : 0;
    rep.interest_accuracy_settled = settled_ ? share(acc_settled_, settled_) : 0;
    rep.next_interest_accuracy = rep.switches ? share(next_hits_, rep.switches) : 0;
    rep.noise = rep.events ? share(noise_, rep.events) : 0;
    if (opt_.model_next_interest && rep.switches) rep.model_next_interest = share(model_next_hits_, rep.switches);
    if (opt_.model_interest && rep.events) {
      rep.model_interest_accuracy = share(model_hits_, rep.events);
      rep.model_interest_settled = settled_ ? share(model_hits_settled_, settled_) : 0;
    }
    if (!lags_.empty()) {
      std::sort(lags_.begin(), lags_.end());
      size_t n = lags_.size();
      rep.median_lag = n % 2 ? lags_[n / 2] : (lags_[n / 2 - 1] + lags_[n / 2]) / 2;
      double s = 0;
      for (double l : lags_) s += l;
      rep.mean_lag = s / static_cast<double>(n);
    }
  }

 private:
  // Per user: the open switch (segment id and how many of its events were seen) until captured.
  struct Open {
    uint32_t segment = UINT32_MAX;
    uint32_t seen = 0;
    bool active = false;
  };

  // A switch opens; a previous one still open was never captured: its lag is its length + 1. The next-interest
  // predictions (made before the switch event) are scored against the new intent.
  void Switch(const Event& e, const gen::TruthRow& t, std::optional<uint32_t> intent, Open& o) {
    if (o.active) lags_.push_back(o.seen + 1.0);
    o = Open{t.segment, 0, true};
    auto pred = engine_.interests().PredictNextCategory(e.user, 1, /*exclude_current=*/true);
    if (!pred.empty() && intent && pred[0].first == *intent) ++next_hits_;
    if (opt_.model_next_interest) {
      auto now_cats = engine_.interests().Categories(e.user, e.ts);
      auto mp = opt_.model_next_interest(e.user, now_cats.empty() ? UINT32_MAX : now_cats[0].id);
      model_next_hits_ += mp && intent && *mp == *intent;
    }
  }

  // After the event: is the user's top short-term interest (and the model's, when given) the true intent?
  void ScoreInterest(const Event& e, const gen::TruthRow& t, std::optional<uint32_t> intent) {
    auto cats = engine_.interests().Categories(e.user, e.ts);
    bool right = !cats.empty() && intent && cats[0].id == *intent;
    acc_ += right;
    bool first_of_segment = last_segment_[e.user.v] != t.segment;
    if (opt_.model_interest) {
      std::optional<uint32_t> mi = opt_.model_interest(e);
      bool hit = mi && intent && *mi == *intent;
      model_hits_ += hit;
      if (!first_of_segment) model_hits_settled_ += hit;
    }
    last_segment_[e.user.v] = t.segment;
    if (!first_of_segment) {
      ++settled_;
      acc_settled_ += right;
    }
  }

  // An open switch is captured once `need` of the top-k recommendations belong to the new intent.
  void CheckCaptured(const Event& e, std::optional<uint32_t> intent, Open& o, CaptureReport& rep) {
    ++o.seen;
    RecommendRequest req;
    req.user = ds_.users.Name(e.user.v);
    req.n = opt_.k;
    req.explain = false;
    req.now = e.ts;
    RecommendResponse r = engine_.Recommend(req);
    size_t on = 0;
    for (const auto& rec : r.items) {
      auto c = ds_.catalog.categories(rec.item);
      on += intent && std::find(c.begin(), c.end(), *intent) != c.end();
    }
    if (on >= opt_.need) {
      lags_.push_back(o.seen);
      ++rep.captured;
      rep.captured_within_1 += o.seen <= 1;
      o.active = false;
    }
  }

  const Dataset& ds_;
  const CaptureOptions& opt_;
  Engine engine_;
  std::vector<Open> open_;
  std::vector<uint32_t> last_segment_;
  std::vector<double> lags_;
  size_t acc_ = 0, acc_settled_ = 0, settled_ = 0, next_hits_ = 0, noise_ = 0;
  size_t model_hits_ = 0, model_hits_settled_ = 0, model_next_hits_ = 0;
};

}  // namespace

CaptureReport MeasureCapture(const gen::Generated& g, const Dataset& ds, const EngineConfig& cfg,
                             const CaptureOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  CaptureReport rep;
  CaptureReplay replay(ds, cfg, opt);
  Progress bar("capture replay", ds.events.size(), "events", false);
  if (!opt.progress) bar.Finish();
  for (size_t i = 0; i < ds.events.size(); ++i) {
    replay.Step(ds.events[i], g.truth[i], rep);
    if (opt.progress) bar.Update(i + 1);
  }
  replay.Fill(rep);
  bar.Finish();
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

std::string CaptureReport::ToJson() const {
  nlohmann::json j = {{"events", events},
                      {"switches", switches},
                      {"captured", captured},
                      {"captured_within_1_share", switches ? static_cast<double>(captured_within_1) / switches : 0.0},
                      {"median_lag", median_lag},
                      {"mean_lag", mean_lag},
                      {"interest_accuracy", interest_accuracy},
                      {"interest_accuracy_settled", interest_accuracy_settled},
                      {"next_interest_accuracy_markov", next_interest_accuracy},
                      {"noise", noise},
                      {"model_interest_accuracy", model_interest_accuracy},
                      {"model_interest_accuracy_settled", model_interest_settled},
                      {"next_interest_accuracy_model", model_next_interest},
                      {"seconds", seconds}};
  return j.dump(2);
}

std::string CaptureReport::ToText() const {
  std::string model = model_interest_accuracy < 0
                          ? ""
                          : fmt::format(" | model's top interest correct {:.1f}% (all), {:.1f}% (settled)",
                                        100 * model_interest_accuracy, 100 * model_interest_settled);
  if (model_next_interest >= 0) model += fmt::format(", next-interest top-1 {:.1f}%", 100 * model_next_interest);
  return fmt::format(
      "events {} (noise {:.1f}%) | switches {} | captured {} ({:.1f}% within 1 event) | lag median {:.1f} mean {:.2f} "
      "| top interest correct {:.1f}% (all events), {:.1f}% (after the first event of a segment) | Markov next-interest "
      "top-1 {:.1f}% | {:.1f} s",
      events, 100 * noise, switches, captured, switches ? 100.0 * captured_within_1 / switches : 0.0, median_lag,
      mean_lag, 100 * interest_accuracy, 100 * interest_accuracy_settled, 100 * next_interest_accuracy, seconds) +
         model;
}

}  // namespace vane
