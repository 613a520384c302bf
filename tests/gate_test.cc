// The learned strategy gate: its weights and words, its stored form and checks, the engine's use of it (and the
// rules as the fallback), and the fit inside the evaluation.
#include "vane/recommend/gate.h"

#include <gtest/gtest.h>

#include "generated_data.h"

#include <cmath>

#include "vane/eval/evaluator.h"
#include "vane/eval/capture.h"
#include "vane/gen/generator.h"
#include "vane/recommend/blend_config.h"
#include "test_util.h"

namespace vane {
namespace {

using json = nlohmann::json;
namespace g = gate_feature;

TEST(StrategyGate, MultipliersAreTheClampedExponentOfTheFeaturesAndTheWordsNameWhatMovedThem) {
  StrategyGate gate;
  gate.theta[kSrcCovisit][g::kBias] = 0.5f;
  gate.theta[kSrcCovisit][g::kSessionEvents] = 1.0f;
  gate.theta[kSrcPopular][g::kBias] = 10.0f;  // clamped to e^4
  gate.theta[kSrcContent][g::kSearched] = -1.0f;
  GateFeatures x{};
  x[g::kBias] = 1;
  x[g::kSessionEvents] = 0.5f;
  x[g::kSearched] = 1;
  BlendWeights m = gate.Multipliers(x);
  EXPECT_NEAR(m[kSrcCovisit], std::exp(1.0f), 1e-5);
  EXPECT_NEAR(m[kSrcPopular], std::exp(StrategyGate::kMaxLogMultiplier), 1e-3);
  EXPECT_NEAR(m[kSrcContent], std::exp(-1.0f), 1e-6);
  EXPECT_FLOAT_EQ(m[kSrcModel], 1.0f);
  const std::string why = gate.Explain(x);
  EXPECT_EQ(why.rfind("learned gate: popular x54.60, covisit x2.72", 0), 0u) << why;
  EXPECT_EQ(why.find("because of"), std::string::npos) << why;  // popular, moved most, has its bias alone
  StrategyGate cov;
  cov.theta[kSrcCovisit] = gate.theta[kSrcCovisit];
  const std::string cwhy = cov.Explain(x);
  EXPECT_EQ(cwhy, "learned gate: covisit x2.72, because of 6 events this session") << cwhy;  // e^(0.5 log 50) - 1
  StrategyGate zero;
  EXPECT_EQ(zero.Explain(x), "learned gate: the fitted base blend");
}

TEST(StrategyGate, JsonReadsBackAndRefusesWhatIsMissingOrNotFinite) {
  StrategyGate gate;
  for (int s = 0; s < kNumSources; ++s)
    for (int f = 0; f < kNumGateFeatures; ++f) gate.theta[s][f] = 0.01f * static_cast<float>(s * kNumGateFeatures + f);
  json j = gate.ToJson();
  auto back = StrategyGate::FromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->theta, gate.theta);

  auto refused = [](json bad, const std::string& field) {
    auto r = StrategyGate::FromJson(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().field(), field) << r.status().ToString();
  };
  json missing_source = j;
  missing_source["theta"].erase("covisit");
  refused(missing_source, "gate.theta.covisit");
  json missing_feature = j;
  missing_feature["theta"]["model"].erase("idle");
  refused(missing_feature, "gate.theta.model.idle");
  json text = j;
  text["theta"]["content"]["bias"] = "1";
  refused(text, "gate.theta.content.bias");
  json huge = j;
  huge["theta"]["content"]["bias"] = 1e300;
  refused(huge, "gate.theta.content.bias");
  refused(json::array(), "gate.theta");
  refused(json{{"theta", 3}}, "gate.theta");

  // In a blend file: written, read back, and a bad gate makes the whole file refused.
  BlendConfig b;
  b.gate = std::make_shared<const StrategyGate>(gate);
  auto bj = b.ToJson();
  auto bb = BlendConfig::FromJson(bj);
  ASSERT_TRUE(bb.ok()) << bb.status().ToString();
  ASSERT_TRUE(bb->gate);
  EXPECT_EQ(bb->gate->theta, gate.theta);
  bj["gate"]["theta"]["popular"]["bias"] = nullptr;
  EXPECT_FALSE(BlendConfig::FromJson(bj).ok());
}

TEST(StrategyGate, TheEngineUsesTheGateForUsersWithStateAndTheRulesOtherwise) {
  Dataset ds = testing::TwoTopicDataset();
  Engine engine(ds);
  const Timestamp t0 = 1'700'000'000;
  engine.Ingest(testing::Ev(ds, "u", "r0", "view", t0));
  engine.Ingest(testing::Ev(ds, "u", "r1", "view", t0 + 10));
  engine.Ingest(testing::Ev(ds, "u", "r2", "view", t0 + 20));
  const UserIdx u(*ds.users.Find("u"));
  Strategy st;
  std::string why;
  const BlendWeights rules = engine.ChooseWeights(u, t0 + 30, &st, &why);
  EXPECT_EQ(rules, engine.WeightsFor(st));
  EXPECT_EQ(why.find("learned gate"), std::string::npos);

  auto gate = std::make_shared<StrategyGate>();
  gate->theta[kSrcCovisit][g::kBias] = std::log(3.0f);
  gate->theta[kSrcContent][g::kEvents] = -2.0f;
  engine.config().gate = gate;
  ASSERT_TRUE(engine.gating());
  const BlendWeights w = engine.ChooseWeights(u, t0 + 30, &st, &why);
  const GateFeatures x = ComputeGateFeatures(engine, u, t0 + 30, st);
  EXPECT_FLOAT_EQ(x[g::kBias], 1.0f);
  EXPECT_NEAR(x[g::kEvents], std::log1p(3.0) / std::log(1000.0), 1e-6);
  EXPECT_NEAR(x[g::kSessionEvents], std::log1p(3.0) / std::log(50.0), 1e-6);
  EXPECT_FLOAT_EQ(x[g::kInSession], 1.0f);
  EXPECT_FLOAT_EQ(x[g::kTopShare], 1.0f);  // one interest
  EXPECT_NEAR(w[kSrcCovisit], engine.config().base[kSrcCovisit] * 3.0f, 1e-5);
  EXPECT_NEAR(w[kSrcContent], engine.config().base[kSrcContent] * std::exp(-2.0f * x[g::kEvents]), 1e-5);
  EXPECT_FLOAT_EQ(w[kSrcModel], engine.config().base[kSrcModel]);
  EXPECT_EQ(why.rfind("learned gate: covisit x3.00", 0), 0u) << why;
  EXPECT_NE(why.find("the rules would say"), std::string::npos);
  // What a request answers: the gate's reason.
  RecommendRequest req;
  req.user = "u";
  req.now = t0 + 30;
  EXPECT_EQ(engine.Recommend(req).strategy_reason.rfind("learned gate", 0), 0u);

  // A user with no state keeps the rules; so does every user with the gate switched off.
  const BlendWeights fresh = engine.ChooseWeights(UserIdx(12345), t0, &st, &why);
  EXPECT_EQ(st, Strategy::kNewUser);
  EXPECT_EQ(fresh, engine.WeightsFor(Strategy::kNewUser));
  EXPECT_EQ(why.find("learned gate"), std::string::npos);
  engine.config().use_gate = false;
  EXPECT_EQ(engine.ChooseWeights(u, t0 + 30, &st, &why), rules);
}

using testing::Generated;

// The fit inside the evaluation: the held-out comparison is reported; a kept gate beat the rules there, is tested
// as "blend" next to "blend_rules", and goes into the blend file.
TEST(StrategyGate, TheEvaluationFitsItOnValidationAndKeepsItOnlyWhenItWinsHeldOut) {
  Dataset ds = Generated(600);
  EvalOptions eo;
  eo.fit_gate = true;
  eo.per_source = false;
  eo.progress = false;
  auto rep = Evaluate(ds, EngineConfig{}, eo);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  ASSERT_FALSE(rep->gate_note.empty());
  double gate_v = 0, rules_v = 0, gain = 0, se = 0;
  size_t cases = 0;
  const bool kept = rep->gate_note.rfind("no gate", 0) != 0;
  const std::string note = kept ? rep->gate_note : rep->gate_note.substr(9);
  ASSERT_EQ(std::sscanf(note.c_str(), "gate %lf vs rules %lf ndcg@10 on %zu held-out validation cases (gain %lf, standard error %lf)",
                        &gate_v, &rules_v, &cases, &gain, &se),
            5)
      << rep->gate_note;
  EXPECT_NEAR(gain, gate_v - rules_v, 1e-4) << rep->gate_note;  // the paired mean is the difference of the means
  EXPECT_GE(se, 0.0);
  // Kept only when the gain is above one standard error of the paired differences (the default bar).
  EXPECT_EQ(kept, gate_v > rules_v && gain > se) << rep->gate_note;
  EXPECT_EQ(static_cast<bool>(rep->gate), kept);
  bool has_rules_row = false;
  for (const auto& r : rep->test) has_rules_row |= r.name == "blend_rules";
  EXPECT_EQ(has_rules_row, kept);
  BlendConfig b = FittedBlend(*rep, true);
  EXPECT_EQ(static_cast<bool>(b.gate), kept);
  EXPECT_TRUE(b.validation.contains("gate"));

  // With a bar no gain can clear, the rules stay and the note says why.
  eo.gate_min_gain_se = 1e6;
  auto strict = Evaluate(ds, EngineConfig{}, eo);
  ASSERT_TRUE(strict.ok()) << strict.status().ToString();
  EXPECT_FALSE(strict->gate);
  EXPECT_NE(strict->gate_note.find("kept only above 1000000 standard error(s)"), std::string::npos) << strict->gate_note;
}

}  // namespace
}  // namespace vane
