#include "vane/eval/evaluator.h"

#include "vane/recommend/gate.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>
#include <ostream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vane/core/progress.h"

namespace vane {
namespace {

using Steady = std::chrono::steady_clock;
double Since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }


struct Target {
  UserIdx user;
  uint32_t event;   // index of the target event
};

// Per-user targets for the two phases, and the index in `order` position before which an event is "history".
struct Split {
  std::vector<Target> val, test;
  std::vector<uint8_t> phase;   // per event: 0 = train; 1 = between validation and test (LOO: user state only,
                                // temporal: fully); 2 = never ingested
};

Split MakeLooSplit(const Dataset& ds, const std::vector<uint32_t>& order) {
  Split s;
  std::vector<std::vector<uint32_t>> pos(ds.num_users());
  for (uint32_t idx : order) {
    const Event& e = ds.events[idx];
    if (ds.IsPositiveItemEvent(e)) pos[e.user.v].push_back(idx);
  }
  // Position of each event in `order`, to compare "before".
  std::vector<uint32_t> at(ds.events.size());
  for (uint32_t k = 0; k < order.size(); ++k) at[order[k]] = k;
  std::vector<uint32_t> val_at(ds.num_users(), UINT32_MAX), test_at(ds.num_users(), UINT32_MAX);
  for (uint32_t u = 0; u < ds.num_users(); ++u) {
    if (pos[u].size() < 3) continue;
    uint32_t v = pos[u][pos[u].size() - 2], t = pos[u].back();
    s.val.push_back({UserIdx(u), v});
    s.test.push_back({UserIdx(u), t});
    val_at[u] = at[v];
    test_at[u] = at[t];
  }
  s.phase.assign(ds.events.size(), 0);
  for (uint32_t idx = 0; idx < ds.events.size(); ++idx) {
    uint32_t u = ds.events[idx].user.v;
    if (val_at[u] == UINT32_MAX) continue;
    if (at[idx] >= test_at[u]) s.phase[idx] = 2;
    else if (at[idx] >= val_at[u]) s.phase[idx] = 1;
  }
  return s;
}

Split MakeTemporalSplit(const Dataset& ds, const std::vector<uint32_t>& order, double share) {
  Split s;
  s.phase.assign(ds.events.size(), 2);
  if (order.empty()) return s;
  size_t n = order.size();
  size_t cut_t = static_cast<size_t>(static_cast<double>(n) * (1.0 - share));
  size_t cut_v = static_cast<size_t>(static_cast<double>(n) * (1.0 - 2 * share));
  Timestamp tv = ds.events[order[std::min(cut_v, n - 1)]].ts, tt = ds.events[order[std::min(cut_t, n - 1)]].ts;
  std::vector<uint8_t> has_hist(ds.num_users(), 0), got_v(ds.num_users(), 0), got_t(ds.num_users(), 0);
  for (uint32_t idx : order) {
    const Event& e = ds.events[idx];
    uint32_t u = e.user.v;
    if (e.ts < tv) {
      s.phase[idx] = 0;
      if (ds.IsPositiveItemEvent(e)) has_hist[u] = 1;
    } else if (e.ts < tt) {
      s.phase[idx] = 1;  // ingested fully (global + user) before the test phase
      if (ds.IsPositiveItemEvent(e) && has_hist[u] && !got_v[u]) {
        got_v[u] = 1;
        s.val.push_back({UserIdx(u), idx});
      }
    } else if (ds.IsPositiveItemEvent(e) && !got_t[u]) {
      got_t[u] = 1;
      if (has_hist[u]) s.test.push_back({UserIdx(u), idx});
    }
  }
  return s;
}

// Evaluates one scorer over targets; `score` fills the buffer for (user, now).
template <class Scorer>
RankingMetrics RunTargets(const Dataset& ds, const Engine& engine, const std::vector<Target>& targets,
                          std::span<const uint32_t> counts, Scorer score, const std::string& label, bool progress,
                          bool strict = false, const std::function<void(const Target&)>& before = nullptr,
                          std::ostream* dump = nullptr) {
  auto t0 = Steady::now();
  MetricAccumulator acc(ds.catalog, counts);
  std::vector<uint8_t> mask(ds.num_items(), 0);
  std::vector<uint32_t> unavailable;  // never served
  if (strict)
    for (uint32_t i = 0; i < ds.num_items(); ++i)
      if (!ds.catalog.item(ItemIdx(i)).available) unavailable.push_back(i);
  Progress bar(label, targets.size(), "users", false);
  if (!progress) bar.Finish();
  size_t done = 0;
  for (const Target& t : targets) {
    if (before) before(t);
    const Event& e = ds.events[t.event];
    // The user's earlier items are left out; strictly, exactly what a served list filters instead (docs/evaluation.md):
    // consumed items and the items of the last events (an item viewed but not consumed long ago may be served again).
    std::span<const ItemIdx> hist;
    if (!strict) hist = engine.interests().Interacted(t.user);
    size_t excluded = 0;
    for (ItemIdx i : hist)
      if (!mask[i.v] && i != e.item) { mask[i.v] = 1; ++excluded; }
    std::vector<uint32_t> served_filter;
    if (strict) {
      for (ItemIdx i : engine.interests().Consumed(t.user)) served_filter.push_back(i.v);
      served_filter.insert(served_filter.end(), unavailable.begin(), unavailable.end());
      if (const UserState* st = engine.interests().Find(t.user))
        for (int k = 0; k < st->num_recent; ++k)
          if (!st->Recent(k).is_query) served_filter.push_back(st->Recent(k).ref);
      for (uint32_t i : served_filter)
        if (i < mask.size() && !mask[i] && i != e.item.v) { mask[i] = 1; ++excluded; }
    }
    // A target the server filters (the user consumed it, or acted on it moments ago) is never served: a miss.
    const bool unservable = strict && std::find(served_filter.begin(), served_filter.end(), e.item.v) != served_filter.end();
    const ScoreBuffer& buf = score(t.user, e.ts);
    RankResult r = RankTarget(e.item, buf.touched(), [&](uint32_t i) { return buf.Score(ItemIdx(i)); }, mask,
                              excluded, ds.num_items(), dump ? 20 : 10, strict);
    if (unservable) r.rank = static_cast<double>(ds.num_items());
    if (dump) {
      nlohmann::json line = {{"user", ds.users.Name(t.user.v)}, {"target", ds.catalog.item(e.item).id}, {"rank", r.rank}};
      line["top"] = nlohmann::json::array();
      for (ItemIdx i : r.top) line["top"].push_back(ds.catalog.item(i).id);
      *dump << line.dump() << "\n";
      if (r.top.size() > 10) r.top.resize(10);
    }
    acc.Add(r.rank, r.top);
    for (ItemIdx i : hist) mask[i.v] = 0;
    for (uint32_t i : served_filter)
      if (i < mask.size()) mask[i] = 0;
    if (progress) bar.Update(++done);
  }
  bar.Finish();
  RankingMetrics m = acc.Result();
  m.seconds = Since(t0);
  return m;
}

// Per-user sparse per-source scores on validation, for fitting blend weights without re-running the sources.
struct FitCase {
  std::vector<std::pair<uint32_t, std::array<float, kNumSources>>> cand;  // union of per-source top lists
  std::array<float, kNumSources> target{};
  std::array<float, kNumSources> mult{};
  int strategy = 0;
  GateFeatures x{};  // the learned gate's features of the request (recommend/gate.h)
};

// NDCG@10 of one case's target under weights w (times the case's multipliers).
double CaseNdcg(const FitCase& c, const BlendWeights& w) {
  float ts = 0;
  for (int s = 0; s < kNumSources; ++s) ts += w[s] * c.mult[s] * c.target[s];
  double ahead = 0;  // ties count half, as in evaluation
  for (const auto& [i, sc] : c.cand) {
    float v = 0;
    for (int s = 0; s < kNumSources; ++s) v += w[s] * c.mult[s] * sc[s];
    ahead += v > ts ? 1.0 : v == ts ? 0.5 : 0.0;
    if (ahead >= 10) break;
  }
  return NdcgAt(1.0 + ahead, 10);
}

double FitObjective(const std::vector<FitCase>& cases, const BlendWeights& w) {
  double sum = 0;
  for (const FitCase& c : cases) sum += CaseNdcg(c, w);
  return cases.empty() ? 0 : sum / static_cast<double>(cases.size());
}

// The users evaluated: a seeded sample of at most max_users test users (with their validation targets), and only
// those whose test target is a selected item when test_items is set.
Status SelectUsers(const Dataset& ds, const EvalOptions& opt, Split& split) {
  if (split.test.empty()) return Status::FailedPrecondition("no user has enough events to evaluate");
  if (opt.max_users > 0 && split.test.size() > opt.max_users) {
    std::mt19937_64 rng(opt.seed);
    std::vector<uint8_t> keep(ds.num_users(), 0);
    std::vector<Target> t = split.test;
    std::shuffle(t.begin(), t.end(), rng);
    t.resize(opt.max_users);
    for (auto& x : t) keep[x.user.v] = 1;
    std::erase_if(split.test, [&](const Target& x) { return !keep[x.user.v]; });
    std::erase_if(split.val, [&](const Target& x) { return !keep[x.user.v]; });
  }
  if (!opt.test_items.empty()) {
    std::erase_if(split.test, [&](const Target& x) {
      uint32_t i = ds.events[x.event].item.v;
      return i >= opt.test_items.size() || !opt.test_items[i];
    });
    if (split.test.empty()) return Status::FailedPrecondition("no test target is among the selected items");
  }
  return Status::Ok();
}

// Ingests the training events (phase 0) in order; returns their interaction counts per item (novelty, long tail).
std::vector<uint32_t> IngestTraining(const Dataset& ds, const std::vector<uint32_t>& order, const Split& split,
                                     Engine& engine, bool progress) {
  std::vector<uint32_t> counts(ds.num_items(), 0);
  Progress bar("train events", order.size(), "events", false);
  if (!progress) bar.Finish();
  size_t k = 0;
  for (uint32_t idx : order) {
    if (split.phase[idx] == 0) {
      const Event& e = ds.events[idx];
      engine.Ingest(e);
      if (ds.IsPositiveItemEvent(e)) ++counts[e.item.v];
    }
    if (progress && (++k & 4095) == 0) bar.Update(k);
  }
  bar.Finish();
  return counts;
}

// One validation target's per-source scores: the target's, and those of the union of every source's top
// candidates (the user's earlier items excluded), each source normalised by its maximum.
FitCase ScoreFitCase(const Dataset& ds, const Engine& engine, const EngineConfig& cfg, const Target& t,
                     std::vector<uint8_t>& mask) {
  const Event& e = ds.events[t.event];
  FitCase c;
  Strategy st = engine.ChooseStrategy(t.user, e.ts);
  c.mult = cfg.strategy_multipliers[static_cast<int>(st)];
  c.strategy = static_cast<int>(st);
  c.x = ComputeGateFeatures(engine, t.user, e.ts, st);
  if (!cfg.use_strategies) c.mult.fill(1.0f);
  auto hist = engine.interests().Interacted(t.user);
  for (ItemIdx i : hist) mask[i.v] = 1;
  mask[e.item.v] = 0;
  std::unordered_map<uint32_t, size_t> slot;
  std::vector<std::pair<ItemIdx, float>> top;
  for (int s = 0; s < kNumSources; ++s) {
    const ScoreBuffer& buf = engine.ScoreSource(s, t.user, e.ts, SIZE_MAX);
    float mx = buf.MaxScore();
    if (mx <= 0) continue;
    c.target[s] = buf.Score(e.item) / mx;
    TopK(buf, 200 + hist.size(), top);
    size_t kept = 0;
    for (auto& [i, sc] : top) {
      if (mask[i.v] || i == e.item) continue;
      auto [it, fresh] = slot.emplace(i.v, c.cand.size());
      if (fresh) c.cand.emplace_back(i.v, std::array<float, kNumSources>{});
      (void)sc;
      if (++kept >= 200) break;
    }
  }
  // Second pass: every source's score for every candidate (a candidate from one source's head usually has a
  // score in the others too; leaving those at 0 would favour the target, which gets all of its scores).
  for (int s = 0; s < kNumSources; ++s) {
    const ScoreBuffer& buf = engine.ScoreSource(s, t.user, e.ts, SIZE_MAX);
    float mx = buf.MaxScore();
    if (mx <= 0) continue;
    for (auto& [i, sc] : c.cand) sc[s] = buf.Score(ItemIdx(i)) / mx;
  }
  for (ItemIdx i : hist) mask[i.v] = 0;
  return c;
}

std::vector<FitCase> ScoreFitCases(const Dataset& ds, const Engine& engine, const EngineConfig& cfg,
                                   const std::vector<Target>& fit, bool progress) {
  std::vector<FitCase> cases;
  cases.reserve(fit.size());
  std::vector<uint8_t> mask(ds.num_items(), 0);
  Progress bar("fit: scoring validation", fit.size(), "users", false);
  if (!progress) bar.Finish();
  size_t done = 0;
  for (const Target& t : fit) {
    cases.push_back(ScoreFitCase(ds, engine, cfg, t, mask));
    if (progress) bar.Update(++done);
  }
  bar.Finish();
  return cases;
}

// Multiplicative steps of the coordinate ascent.
constexpr float kFitSteps[] = {0.0f, 0.25f, 0.5f, 0.7f, 1.4f, 2.0f, 4.0f};

// Coordinate ascent over the base weights, multiplicative steps, from `w`; `best` is the objective at `w` and
// returns the objective reached.
BlendWeights FitBaseWeights(const std::vector<FitCase>& cases, BlendWeights w, double& best,
                            std::vector<std::string>& fit_log) {
  for (int round = 0; round < 3; ++round) {
    bool improved = false;
    for (int s = 0; s < kNumSources; ++s) {
      BlendWeights bw = w;
      for (float f : kFitSteps) {
        BlendWeights cand = w;
        cand[s] = w[s] == 0 && f > 0 ? 0.05f * f : w[s] * f;
        double v = FitObjective(cases, cand);
        if (v > best + 1e-6) {
          best = v;
          bw = cand;
          improved = true;
        }
      }
      w = bw;
    }
    std::string ws;
    for (int s = 0; s < kNumSources; ++s) ws += fmt::format("{}{}={:.3f}", s ? " " : "", SourceName(s), w[s]);
    fit_log.push_back(fmt::format("round {} {:.4f} weights {}", round + 1, best, ws));
    if (!improved) break;
  }
  return w;
}

// One strategy's multipliers, fitted on the validation users that strategy serves (at least 50), the base `w`
// fixed. Returns nullopt when too few users have that strategy.
std::optional<BlendWeights> FitStrategyMultipliers(std::vector<FitCase>& cases, int st, BlendWeights mult,
                                                   const BlendWeights& w, double& best,
                                                   std::vector<std::string>& fit_log) {
  auto apply = [&](const BlendWeights& m) {
    for (FitCase& c : cases)
      if (c.strategy == st) c.mult = m;
  };
  size_t n = 0;
  for (const FitCase& c : cases) n += c.strategy == st;
  if (n < 50) return std::nullopt;  // too few users to fit on
  for (int round = 0; round < 2; ++round) {
    for (int s = 0; s < kNumSources; ++s) {
      BlendWeights bm = mult;
      for (float f : kFitSteps) {
        BlendWeights cand = mult;
        cand[s] = mult[s] == 0 && f > 0 ? 0.25f * f : mult[s] * f;
        apply(cand);
        double v = FitObjective(cases, w);
        if (v > best + 1e-6) {
          best = v;
          bm = cand;
        }
      }
      mult = bm;
      apply(mult);
    }
  }
  std::string ms;
  for (int s = 0; s < kNumSources; ++s) ms += fmt::format("{}{}={:.2f}", s ? " " : "", SourceName(s), mult[s]);
  fit_log.push_back(fmt::format("strategy {} ({} users): {:.4f} multipliers {}", StrategyName(static_cast<Strategy>(st)),
                                n, best, ms));
  return mult;
}

// Fits the base blend, then each strategy's multipliers, on a seeded sample of validation users; the fitted
// values go into both `cfg` and the engine's configuration.
std::vector<RankCase> RankCases(const Dataset& ds, const std::vector<Target>& val, size_t max_users, uint64_t seed) {
  std::vector<Target> fit = val;
  if (fit.size() > max_users) {
    std::mt19937_64 rng(seed + 2);
    std::shuffle(fit.begin(), fit.end(), rng);
    fit.resize(max_users);
  }
  std::vector<RankCase> cases;
  for (const Target& t : fit) cases.push_back({t.user, ds.events[t.event].item, ds.events[t.event].ts});
  return cases;
}

// The learned strategy gate, fitted on validation cases. 75% of the cases (seeded) fit, 25% judge. On the fitting
// part, the rules are fitted again from the unfitted start (`initial`): base weights, then each strategy's
// multipliers, so that the rules and the gate have seen the same users. theta starts where it reproduces those
// rules (bias = log of the stable-taste multipliers, the rules' one-hot features = the other strategies' log
// ratios), then coordinate ascent with additive steps. Kept only when it beats the rules on the judging part by more
// than min_gain_se standard errors of the paired per-case differences; then `cfg` takes the gate and the rules fitted
// with it (the same base, so blend and blend_rules differ by the gate alone). Returns null (and why in `note`) when
// it does not win.
std::shared_ptr<const StrategyGate> FitGate(std::vector<FitCase> cases, const EngineConfig& initial, EngineConfig& cfg,
                                            uint64_t seed, double min_gain_se, std::string& note,
                                            std::vector<std::string>& fit_log) {
  namespace g = gate_feature;
  if (cases.size() < 200) {
    note = fmt::format("no gate: {} validation cases, fewer than 200", cases.size());
    return nullptr;
  }
  std::mt19937_64 rng(seed + 3);
  std::shuffle(cases.begin(), cases.end(), rng);
  const size_t n_hold = cases.size() / 4;
  std::vector<FitCase> hold(cases.end() - static_cast<std::ptrdiff_t>(n_hold), cases.end());
  cases.resize(cases.size() - n_hold);
  std::vector<std::string> refit_log;
  for (FitCase& c : cases) c.mult = initial.strategy_multipliers[static_cast<size_t>(c.strategy)];
  double rb = FitObjective(cases, initial.base);
  const BlendWeights base = FitBaseWeights(cases, initial.base, rb, refit_log);
  std::array<BlendWeights, 3> sm = initial.strategy_multipliers;
  for (int st = 0; st < 3; ++st)
    if (auto m = FitStrategyMultipliers(cases, st, sm[st], base, rb, refit_log)) sm[st] = *m;
  auto lg = [](float m) { return std::log(std::max(m, std::exp(-StrategyGate::kMaxLogMultiplier))); };
  StrategyGate gate;
  for (int s = 0; s < kNumSources; ++s) {
    gate.theta[s][g::kBias] = lg(sm[2][s]);
    gate.theta[s][g::kRulesNewUser] = lg(sm[0][s]) - lg(sm[2][s]);
    gate.theta[s][g::kRulesSession] = lg(sm[1][s]) - lg(sm[2][s]);
  }
  auto with_gate = [&](std::vector<FitCase>& cs, const StrategyGate& gt) {
    for (FitCase& c : cs) c.mult = gt.Multipliers(c.x);
    return FitObjective(cs, base);
  };
  double best = with_gate(cases, gate);
  const double start = best;
  constexpr float kSteps[] = {-1.0f, -0.5f, -0.25f, 0.25f, 0.5f, 1.0f};
  for (int round = 0; round < 2; ++round) {
    bool improved = false;
    for (int s = 0; s < kNumSources; ++s)
      for (int f = 0; f < kNumGateFeatures; ++f) {
        const float base = gate.theta[s][f];
        float keep = base;
        for (float d : kSteps) {
          gate.theta[s][f] = base + d;
          double v = with_gate(cases, gate);
          if (v > best + 1e-6) {
            best = v;
            keep = base + d;
            improved = true;
          }
        }
        gate.theta[s][f] = keep;
      }
    fit_log.push_back(fmt::format("gate round {}: {:.4f} ndcg@10 on {} fitting cases (rules {:.4f})", round + 1, best,
                                  cases.size(), start));
    if (!improved) break;
  }
  // Each held-out case under the gate and under the rules: the two means and the paired differences.
  std::vector<double> diff(hold.size());
  double hold_gate = 0, hold_rules = 0;
  for (size_t k = 0; k < hold.size(); ++k) {
    FitCase& c = hold[k];
    c.mult = gate.Multipliers(c.x);
    const double with = CaseNdcg(c, base);
    c.mult = sm[static_cast<size_t>(c.strategy)];
    const double without = CaseNdcg(c, base);
    hold_gate += with;
    hold_rules += without;
    diff[k] = with - without;
  }
  hold_gate /= static_cast<double>(hold.size());  // at least 50 cases (200 or more, a quarter held out)
  hold_rules /= static_cast<double>(hold.size());
  const PairedGain gain = MeasurePairedGain(diff);
  note = fmt::format("gate {:.4f} vs rules {:.4f} ndcg@10 on {} held-out validation cases (gain {:+.4f}, standard error "
                     "{:.4f})",
                     hold_gate, hold_rules, hold.size(), gain.mean, gain.se);
  fit_log.push_back(note);
  // A gain within the noise of the held-out cases is no reason to replace the rules.
  if (!gain.Beyond(min_gain_se)) {  // (also when the gain is not positive)
    note = fmt::format("no gate: {} (kept only above {} standard error(s))", note, min_gain_se);
    return nullptr;
  }
  cfg.base = base;
  cfg.strategy_multipliers = sm;
  return std::make_shared<const StrategyGate>(gate);
}

void FitBlend(const Dataset& ds, const std::vector<Target>& val, const EvalOptions& opt, EngineConfig& cfg,
              Engine& engine, std::vector<std::string>& fit_log, std::shared_ptr<const StrategyGate>* gate = nullptr,
              std::string* gate_note = nullptr) {
  const EngineConfig initial = cfg;
  std::vector<Target> fit = val;
  if (fit.size() > opt.fit_users) {
    std::mt19937_64 rng(opt.seed + 1);
    std::shuffle(fit.begin(), fit.end(), rng);
    fit.resize(opt.fit_users);
  }
  if (!opt.fit_weights || fit.empty()) return;
  std::vector<FitCase> cases = ScoreFitCases(ds, engine, cfg, fit, opt.progress);
  double best = FitObjective(cases, cfg.base);
  fit_log.push_back(fmt::format("start {:.4f} ndcg@10 (validation, {} users)", best, cases.size()));
  BlendWeights w = FitBaseWeights(cases, cfg.base, best, fit_log);
  cfg.base = w;
  engine.config().base = w;
  if (!cfg.use_strategies) return;
  for (int st = 0; st < 3; ++st) {
    auto mult = FitStrategyMultipliers(cases, st, cfg.strategy_multipliers[st], w, best, fit_log);
    if (!mult) continue;
    cfg.strategy_multipliers[st] = *mult;
    engine.config().strategy_multipliers[st] = *mult;
  }
  if (opt.fit_gate && gate && gate_note) {
    *gate = FitGate(std::move(cases), initial, cfg, opt.seed, opt.gate_min_gain_se, *gate_note, fit_log);
    cfg.gate = *gate;
    engine.config().gate = *gate;
    engine.config().base = cfg.base;
    engine.config().strategy_multipliers = cfg.strategy_multipliers;
  }
}

// The test phase: each source alone (when per_source), the fixed blend (no strategy selection) and the blend.
void RunTests(const Dataset& ds, Engine& engine, const std::vector<Target>& test, std::span<const uint32_t> counts,
              const EvalOptions& opt, EvalReport& rep) {
  auto blend_scorer = [&](UserIdx u, Timestamp now) -> const ScoreBuffer& { return engine.ScoreAll(u, now); };
  if (opt.per_source) {
    for (int s = 0; s < kNumSources; ++s) {
      if (!engine.source_active(s)) continue;
      auto scorer = [&, s](UserIdx u, Timestamp now) -> const ScoreBuffer& { return engine.ScoreSource(s, u, now, SIZE_MAX); };
      rep.test.push_back({SourceName(s), RunTargets(ds, engine, test, counts, scorer, SourceName(s), opt.progress, opt.strict)});
    }
  }
  bool saved = engine.config().use_strategies;
  engine.config().use_strategies = false;
  rep.test.push_back({"blend_fixed", RunTargets(ds, engine, test, counts, blend_scorer, "blend_fixed", opt.progress, opt.strict)});
  engine.config().use_strategies = saved;
  if (engine.gating()) {
    engine.config().use_gate = false;
    rep.test.push_back({"blend_rules", RunTargets(ds, engine, test, counts, blend_scorer, "blend_rules", opt.progress, opt.strict)});
    engine.config().use_gate = true;
  }
  if (engine.ranking()) {
    engine.config().use_ranker = false;
    rep.test.push_back({"blend_no_ranker", RunTargets(ds, engine, test, counts, blend_scorer, "blend_no_ranker", opt.progress, opt.strict)});
    engine.config().use_ranker = true;
  }
  rep.test.push_back({"blend", RunTargets(ds, engine, test, counts, blend_scorer, "blend", opt.progress, opt.strict)});
}

// The blend under each of the options' ranking-stage controls, on `targets`; the engine's own controls come back.
std::vector<std::pair<RankControls, RankingMetrics>> RunControls(const Dataset& ds, Engine& engine,
                                                                 const std::vector<Target>& targets,
                                                                 std::span<const uint32_t> counts, const EvalOptions& opt,
                                                                 const std::string& label) {
  std::vector<std::pair<RankControls, RankingMetrics>> out;
  if (opt.controls.empty()) return out;
  auto blend_scorer = [&](UserIdx u, Timestamp now) -> const ScoreBuffer& { return engine.ScoreAll(u, now); };
  engine.RefreshLongTail();
  const RankControls saved = engine.config().controls;
  for (const RankControls& c : opt.controls) {
    engine.config().controls = c;
    out.emplace_back(c, RunTargets(ds, engine, targets, counts, blend_scorer,
                                   fmt::format("{}controls div {} tail {} cap {}", label, c.diversity, c.long_tail, c.category_cap),
                                   opt.progress));
  }
  engine.config().controls = saved;
  return out;
}

}  // namespace

Result<EvalReport> Evaluate(const Dataset& ds, const EngineConfig& cfg_in, const EvalOptions& opt) {
  auto t0 = Steady::now();
  if (opt.protocol != "loo" && opt.protocol != "temporal")
    return Status::InvalidArgument("protocol must be 'loo' or 'temporal', got '" + opt.protocol + "'");
  if (opt.protocol == "temporal" && !ds.has_timestamps)
    return Status::InvalidArgument("the temporal protocol needs timestamps; dataset '" + ds.name + "' is order-only");
  EvalReport rep;
  rep.dataset = ds.name;
  rep.protocol = opt.protocol == "loo" ? "leave-one-out, full ranking" : "temporal, full ranking";
  rep.items = ds.num_items();
  rep.events = ds.events.size();

  std::vector<uint32_t> order = ds.TimeOrder();  // ingestion order
  Split split = opt.protocol == "loo" ? MakeLooSplit(ds, order) : MakeTemporalSplit(ds, order, opt.temporal_test_share);
  VANE_RETURN_IF_ERROR(SelectUsers(ds, opt, split));
  rep.users = split.test.size();

  EngineConfig cfg = cfg_in;
  Engine engine(ds, cfg);
  std::vector<uint32_t> counts = IngestTraining(ds, order, split, engine, opt.progress);
  FitBlend(ds, split.val, opt, cfg, engine, rep.fit_log, &rep.gate, &rep.gate_note);
  rep.weights = engine.config().base;  // with a gate: the base it was fitted with
  rep.multipliers = engine.config().strategy_multipliers;
  std::vector<RankCase> rank_cases;
  std::vector<std::shared_ptr<const Ranker>> ablated;
  if (opt.fit_ranker) {
    rank_cases = RankCases(ds, split.val, opt.ranker_users, opt.seed);
    RankerFitOptions ro = opt.ranker;
    ro.progress = opt.progress;
    VANE_ASSIGN_OR_RETURN(RankerFitResult fr, FitRanker(engine, rank_cases, ro));
    for (auto& l : fr.log) rep.fit_log.push_back(l);
    rep.ranker = fr.ranker;
    if (!fr.ranker) rep.ranker_note = fr.log.back();
    engine.config().ranker = fr.ranker;
    if (fr.ranker) rep.ablation.push_back({"", fr.holdout_ranker_ndcg, {}});
    if (fr.ranker && opt.ranker_ablation) {
      engine.config().ranker = nullptr;  // the rows do not depend on it; kept off while the others are fitted
      for (const std::string& g : RankFeatureGroups()) {
        ro.progress = false;
        ro.drop_groups = {g};
        ro.gate = false;  // the ablation reports every group, also where the ranker would not be used
        auto ar = FitRanker(engine, rank_cases, ro);
        if (!ar.ok()) {
          rep.fit_log.push_back("ablation without " + g + ": " + ar.status().ToString());
          continue;
        }
        rep.fit_log.push_back("without " + g + ": " + ar->log.back());
        ablated.push_back(ar->ranker);
        rep.ablation.push_back({g, ar->holdout_ranker_ndcg, {}});
      }
      engine.config().ranker = fr.ranker;
    }
  }

  auto blend_scorer = [&](UserIdx u, Timestamp now) -> const ScoreBuffer& { return engine.ScoreAll(u, now); };
  rep.validation.push_back({"blend", RunTargets(ds, engine, split.val, counts, blend_scorer, "validation", opt.progress)});
  // Each control on the validation users too (before their validation events reach their states): the figures a
  // setting is chosen on.
  rep.controls_validation = RunControls(ds, engine, split.val, counts, opt, "validation: ");

  if (opt.strict && opt.protocol == "loo") {
    // The protocol a live server can follow (`vane replay`): per test user in turn, the events from the validation
    // target up to the test target are ingested fully (a server learns from every event it is sent), then the user
    // is asked. Only the blend is scored this way.
    std::vector<std::vector<uint32_t>> middle(ds.num_users());
    for (uint32_t idx : order)
      if (split.phase[idx] == 1) middle[ds.events[idx].user.v].push_back(idx);
    auto before = [&](const Target& t) {
      for (uint32_t idx : middle[t.user.v]) engine.Ingest(ds.events[idx]);
    };
    // Each source's candidates capped as a served request caps them.
    auto served_scorer = [&](UserIdx u, Timestamp now) -> const ScoreBuffer& {
      return engine.ScoreAll(u, now, nullptr, engine.config().per_source_limit);
    };
    std::ofstream dump;
    if (!opt.dump_lists.empty()) dump.open(opt.dump_lists);
    rep.test.push_back({"blend", RunTargets(ds, engine, split.test, counts, served_scorer, "blend", opt.progress, true, before,
                                            dump.is_open() ? &dump : nullptr)});
    rep.seconds = Since(t0);
    return rep;
  }
  // Between validation and test: LOO lets the user's own state see the validation event (global statistics stay
  // on training data); temporal ingests the middle period fully.
  for (uint32_t idx : order) {
    if (split.phase[idx] != 1) continue;
    if (opt.protocol == "loo") engine.IngestUserOnly(ds.events[idx]);
    else engine.Ingest(ds.events[idx]);
  }
  RunTests(ds, engine, split.test, counts, opt, rep);
  rep.controls = RunControls(ds, engine, split.test, counts, opt, "");
  if (!ablated.empty()) {
    // Each feature group left out in turn: fitted above on the same validation users (on the validation-time
    // state, as the full ranker), tested here on the same test users.
    auto blend_scorer = [&](UserIdx u, Timestamp now) -> const ScoreBuffer& { return engine.ScoreAll(u, now); };
    for (auto& r : rep.test)
      if (r.name == "blend") rep.ablation[0].test = r.metrics;
    auto full = engine.config().ranker;
    for (size_t k = 1; k < rep.ablation.size(); ++k) {
      engine.config().ranker = ablated[k - 1];
      rep.ablation[k].test = RunTargets(ds, engine, split.test, counts, blend_scorer, "without " + rep.ablation[k].without,
                                        opt.progress);
    }
    engine.config().ranker = full;
  }
  rep.seconds = Since(t0);
  return rep;
}

namespace {
nlohmann::json MetricsJson(const RankingMetrics& m) {
  return {{"users", m.users},       {"hr@10", m.hr10},           {"ndcg@10", m.ndcg10},
          {"hr@20", m.hr20},        {"ndcg@20", m.ndcg20},       {"mrr", m.mrr},
          {"coverage@10", m.coverage10}, {"diversity@10", m.diversity10}, {"novelty@10", m.novelty10},
          {"long_tail@10", m.long_tail10}, {"seconds", m.seconds}};
}
}  // namespace

std::string EvalReport::ToJson() const {
  nlohmann::json j;
  j["dataset"] = dataset;
  j["protocol"] = protocol;
  j["users"] = users;
  j["items"] = items;
  j["events"] = events;
  j["seconds"] = seconds;
  j["weights"] = nlohmann::json::object();
  for (int s = 0; s < kNumSources; ++s) j["weights"][SourceName(s)] = weights[s];
  for (int st = 0; st < 3; ++st)
    for (int s = 0; s < kNumSources; ++s)
      j["strategy_multipliers"][StrategyName(static_cast<Strategy>(st))][SourceName(s)] = multipliers[st][s];
  j["fit_log"] = fit_log;
  for (const auto& r : validation) j["validation"][r.name] = MetricsJson(r.metrics);
  for (const auto& r : test) j["test"][r.name] = MetricsJson(r.metrics);
  if (ranker) j["ranker"] = ranker->info();
  if (gate) j["gate"] = gate->ToJson();
  if (!gate_note.empty()) j["gate_note"] = gate_note;
  for (const auto& [key, list] : {std::pair{"controls", &controls}, std::pair{"controls_validation", &controls_validation}})
    for (const auto& [c, m] : *list) {
      nlohmann::json cj = MetricsJson(m);
      cj["diversity"] = c.diversity;
      cj["long_tail"] = c.long_tail;
      cj["category_cap"] = c.category_cap;
      j[key].push_back(cj);
    }
  for (const auto& a : ablation) {
    nlohmann::json aj = MetricsJson(a.test);
    aj["holdout_ndcg@10"] = a.holdout_ndcg10;
    j["ranker_ablation"][a.without.empty() ? "all features" : "without " + a.without] = aj;
  }
  return j.dump(2);
}

void EvalReport::Print(std::ostream& os) const {
  os << fmt::format("dataset {} | protocol {} | users {} | items {} | events {} | {:.1f} s\n", dataset, protocol, users,
                    items, events, seconds);
  os << fmt::format("{:<14} {:>7} {:>8} {:>7} {:>8} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7}\n", "test", "hr@10", "ndcg@10",
                    "hr@20", "ndcg@20", "mrr", "cov@10", "div@10", "nov@10", "tail@10", "sec");
  for (const auto& r : test) {
    const auto& m = r.metrics;
    os << fmt::format("{:<14} {:>7.4f} {:>8.4f} {:>7.4f} {:>8.4f} {:>7.4f} {:>8.4f} {:>7.3f} {:>7.2f} {:>7.3f} {:>7.2f}\n",
                      r.name, m.hr10, m.ndcg10, m.hr20, m.ndcg20, m.mrr, m.coverage10, m.diversity10, m.novelty10,
                      m.long_tail10, m.seconds);
  }
  for (const auto& r : validation)
    os << fmt::format("validation {:<8} hr@10 {:.4f} ndcg@10 {:.4f}\n", r.name, r.metrics.hr10, r.metrics.ndcg10);
  if (ranker) os << "ranker: " << ranker->info().dump() << "\n";
  else if (!ranker_note.empty()) os << ranker_note << "\n";  // why none serves
  if (!gate_note.empty()) os << "strategy gate: " << gate_note << "\n";
  for (const auto& [title, list] : {std::pair{"controls (blend, validation)", &controls_validation},
                                     std::pair{"controls (blend, test)", &controls}}) {
    if (list->empty()) continue;
    os << fmt::format("{:<30} {:>7} {:>8} {:>8} {:>7} {:>8}\n", title, "hr@10", "ndcg@10", "cov@10", "div@10", "tail@10");
    for (const auto& [c, m] : *list)
      os << fmt::format("{:<30} {:>7.4f} {:>8.4f} {:>8.4f} {:>7.3f} {:>8.3f}\n",
                        fmt::format("div {} tail {} cap {}", c.diversity, c.long_tail, c.category_cap), m.hr10, m.ndcg10,
                        m.coverage10, m.diversity10, m.long_tail10);
  }
  if (ablation.size() > 1) {
    os << fmt::format("{:<28} {:>12} {:>9} {:>9}\n", "ranker ablation", "holdout ndcg", "test hr", "test ndcg");
    for (const auto& a : ablation)
      os << fmt::format("{:<28} {:>12.4f} {:>9.4f} {:>9.4f}\n", a.without.empty() ? "all features" : "without " + a.without,
                        a.holdout_ndcg10, a.test.hr10, a.test.ndcg10);
  }
  os << "fitted weights:";
  for (int s = 0; s < kNumSources; ++s) os << fmt::format(" {}={:.3f}", SourceName(s), weights[s]);
  os << "\n";
}

StreamingReport EvaluateStreaming(const Dataset& ds, const EngineConfig& cfg, size_t every, bool progress) {
  StreamingReport rep;
  Engine engine(ds, cfg);
  std::vector<uint32_t> order = ds.TimeOrder();  // ingestion order
  // Item popularity for novelty and long tail: interactions over the whole replay.
  std::vector<uint32_t> counts(ds.num_items(), 0);
  for (const Event& e : ds.events)
    if (ds.IsPositiveItemEvent(e)) ++counts[e.item.v];
  MetricAccumulator acc(ds.catalog, counts);
  std::vector<uint8_t> mask(ds.num_items(), 0);
  Progress bar("streaming replay", order.size(), "events", false);
  if (!progress) bar.Finish();
  size_t k = 0, positives = 0;
  double ingest = 0, predict = 0;
  for (uint32_t idx : order) {
    const Event& e = ds.events[idx];
    if (ds.IsPositiveItemEvent(e)) {
      const UserState* st = engine.interests().Find(e.user);
      if (st && st->num_events > 0 && (positives++ % std::max<size_t>(1, every)) == 0) {
        auto t = Steady::now();
        auto hist = engine.interests().Interacted(e.user);
        size_t excluded = 0;
        for (ItemIdx i : hist)
          if (!mask[i.v] && i != e.item) { mask[i.v] = 1; ++excluded; }
        const ScoreBuffer& buf = engine.ScoreAll(e.user, e.ts);
        RankResult r = RankTarget(e.item, buf.touched(), [&](uint32_t i) { return buf.Score(ItemIdx(i)); }, mask,
                                  excluded, ds.num_items(), 10);
        acc.Add(r.rank, r.top);
        for (ItemIdx i : hist) mask[i.v] = 0;
        ++rep.predictions;
        predict += Since(t);
      }
    }
    auto t = Steady::now();
    engine.Ingest(e);
    ingest += Since(t);
    ++rep.events;
    if (progress && (++k & 1023) == 0) bar.Update(k);
  }
  bar.Finish();
  rep.metrics = acc.Result();
  rep.ingest_seconds = ingest;
  rep.predict_seconds = predict;
  return rep;
}

std::string StreamingReport::ToJson() const {
  nlohmann::json j = MetricsJson(metrics);
  j["predictions"] = predictions;
  j["events"] = events;
  j["ingest_seconds"] = ingest_seconds;
  j["predict_seconds"] = predict_seconds;
  return j.dump(2);
}

std::vector<uint8_t> MakeColdItems(Dataset& ds, double share, uint64_t seed) {
  std::vector<uint8_t> cold(ds.num_items(), 0);
  std::vector<uint32_t> order = ds.TimeOrder();  // ingestion order
  Split split = MakeLooSplit(ds, order);
  std::vector<uint8_t> is_target_event(ds.events.size(), 0);
  std::vector<uint32_t> candidates;
  for (const Target& t : split.test) {
    is_target_event[t.event] = 1;
    candidates.push_back(ds.events[t.event].item.v);
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::mt19937_64 rng(seed);
  std::shuffle(candidates.begin(), candidates.end(), rng);
  size_t n = static_cast<size_t>(std::lround(share * static_cast<double>(candidates.size())));
  for (size_t k = 0; k < n && k < candidates.size(); ++k) cold[candidates[k]] = 1;
  std::vector<Event> kept;
  kept.reserve(ds.events.size());
  for (uint32_t idx = 0; idx < ds.events.size(); ++idx) {
    const Event& e = ds.events[idx];
    if (e.item.valid() && cold[e.item.v] && !is_target_event[idx]) continue;
    kept.push_back(e);
  }
  ds.events = std::move(kept);
  return cold;
}

BlendConfig FittedBlend(const EvalReport& rep, bool fitted) {
  BlendConfig b;
  b.base = rep.weights;
  b.multipliers = rep.multipliers;
  b.fitted = fitted;
  b.ranker = rep.ranker;
  b.gate = rep.gate;
  b.source = {{"dataset", rep.dataset}, {"protocol", rep.protocol}, {"users", rep.users}, {"items", rep.items},
              {"events", rep.events}};
  for (const auto& v : rep.validation)
    if (v.name == "blend")
      b.validation = {{"users", v.metrics.users}, {"hr@10", v.metrics.hr10}, {"ndcg@10", v.metrics.ndcg10},
                      {"mrr", v.metrics.mrr}};
  if (!rep.ranker_note.empty()) b.validation["ranker"] = rep.ranker_note;  // why no ranker serves
  if (!rep.gate_note.empty()) b.validation["gate"] = rep.gate_note;        // the gate against the rules
  return b;
}

Result<BlendConfig> FitBlend(const Dataset& ds, const EngineConfig& cfg, size_t fit_users, bool fit_ranker,
                             bool fit_gate) {
  EvalOptions eo;
  eo.fit_ranker = fit_ranker;
  eo.fit_gate = fit_gate;
  EngineConfig c = cfg;
  c.ranker = nullptr;  // a fit replaces the whole fitted configuration: the old ranker must not score its validation
  c.gate = nullptr;    // nor the old gate choose its weights
  eo.fit_weights = true;
  eo.fit_users = fit_users;
  eo.per_source = false;
  eo.progress = false;
  VANE_ASSIGN_OR_RETURN(EvalReport rep, Evaluate(ds, c, eo));
  return FittedBlend(rep, true);
}

Result<LooPlan> PlanLeaveOneOut(const Dataset& ds, size_t max_users, uint64_t seed) {
  LooPlan plan;
  plan.order = ds.TimeOrder();  // ingestion order
  Split split = MakeLooSplit(ds, plan.order);
  EvalOptions opt;
  opt.max_users = max_users;
  opt.seed = seed;
  VANE_RETURN_IF_ERROR(SelectUsers(ds, opt, split));
  plan.phase = std::move(split.phase);
  for (const Target& t : split.test) plan.test.push_back(t.event);
  return plan;
}

}  // namespace vane
