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

CaptureReport MeasureCapture(const gen::Generated& g, const Dataset& ds, const EngineConfig& cfg,
                             const CaptureOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  CaptureReport rep;
  Engine engine(ds, cfg);
  // Per user: the open switch (segment id and how many of its events were seen) until captured.
  struct Open {
    uint32_t segment = UINT32_MAX;
    uint32_t seen = 0;
    bool active = false;
  };
  std::vector<Open> open(ds.num_users());
  std::vector<uint32_t> last_segment(ds.num_users(), UINT32_MAX);
  std::vector<double> lags;
  size_t acc = 0, acc_settled = 0, settled = 0, next_hits = 0;
  size_t noise = 0;
  size_t model_hits = 0, model_hits_settled = 0, model_next_hits = 0;
  Progress bar("capture replay", ds.events.size(), "events", false);
  if (!opt.progress) bar.Finish();
  for (size_t i = 0; i < ds.events.size(); ++i) {
    const Event& e = ds.events[i];
    const gen::TruthRow& t = g.truth[i];
    noise += t.noise;
    Open& o = open[e.user.v];
    auto intent = ds.catalog.category_vocab().Find(t.intent);
    if (t.switch_point) {
      // A previous switch still open was never captured: its lag is its length + 1.
      if (o.active) lags.push_back(o.seen + 1.0);
      o = Open{t.segment, 0, true};
      ++rep.switches;
      auto pred = engine.interests().PredictNextCategory(e.user, 1, /*exclude_current=*/true);
      if (!pred.empty() && intent && pred[0].first == *intent) ++next_hits;
      if (opt.model_next_interest) {
        auto now_cats = engine.interests().Categories(e.user, e.ts);
        auto mp = opt.model_next_interest(e.user, now_cats.empty() ? UINT32_MAX : now_cats[0].id);
        model_next_hits += mp && intent && *mp == *intent;
      }
    } else if (o.active && o.segment != t.segment) {
      lags.push_back(o.seen + 1.0);
      o.active = false;
    }
    engine.Ingest(e);
    auto cats = engine.interests().Categories(e.user, e.ts);
    bool right = !cats.empty() && intent && cats[0].id == *intent;
    acc += right;
    bool first_of_segment = last_segment[e.user.v] != t.segment;
    if (opt.model_interest) {
      std::optional<uint32_t> mi = opt.model_interest(e);
      bool hit = mi && intent && *mi == *intent;
      model_hits += hit;
      if (!first_of_segment) model_hits_settled += hit;
    }
    last_segment[e.user.v] = t.segment;
    if (!first_of_segment) {
      ++settled;
      acc_settled += right;
    }
    if (o.active && o.segment == t.segment) {
      ++o.seen;
      RecommendRequest req;
      req.user = ds.users.Name(e.user.v);
      req.n = opt.k;
      req.explain = false;
      req.now = e.ts;
      RecommendResponse r = engine.Recommend(req);
      size_t on = 0;
      for (const auto& rec : r.items) {
        auto c = ds.catalog.categories(rec.item);
        on += intent && std::find(c.begin(), c.end(), *intent) != c.end();
      }
      if (on >= opt.need) {
        lags.push_back(o.seen);
        ++rep.captured;
        rep.captured_within_1 += o.seen <= 1;
        o.active = false;
      }
    }
    if (opt.progress) bar.Update(i + 1);
  }
  for (const Open& o : open)
    if (o.active) lags.push_back(o.seen + 1.0);
  bar.Finish();
  rep.events = ds.events.size();
  rep.interest_accuracy = rep.events ? static_cast<double>(acc) / static_cast<double>(rep.events) : 0;
  rep.interest_accuracy_settled = settled ? static_cast<double>(acc_settled) / static_cast<double>(settled) : 0;
  rep.next_interest_accuracy = rep.switches ? static_cast<double>(next_hits) / static_cast<double>(rep.switches) : 0;
  rep.noise = rep.events ? static_cast<double>(noise) / static_cast<double>(rep.events) : 0;
  if (opt.model_next_interest && rep.switches)
    rep.model_next_interest = static_cast<double>(model_next_hits) / static_cast<double>(rep.switches);
  if (opt.model_interest && rep.events) {
    rep.model_interest_accuracy = static_cast<double>(model_hits) / static_cast<double>(rep.events);
    rep.model_interest_settled = settled ? static_cast<double>(model_hits_settled) / static_cast<double>(settled) : 0;
  }
  if (!lags.empty()) {
    std::sort(lags.begin(), lags.end());
    size_t n = lags.size();
    rep.median_lag = n % 2 ? lags[n / 2] : (lags[n / 2 - 1] + lags[n / 2]) / 2;
    double s = 0;
    for (double l : lags) s += l;
    rep.mean_lag = s / static_cast<double>(n);
  }
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
