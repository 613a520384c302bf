#include "vane/recommend/blend_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace vane {
namespace {

TEST(BlendConfig, RoundTripsThroughAFile) {
  EngineConfig cfg;
  BlendConfig b = BlendConfig::From(cfg);
  b.base[kSrcCovisit] = 1.25f;
  b.multipliers[1][kSrcContent] = 3.5f;
  b.fitted = true;
  b.source = {{"dataset", "ml-100k"}};
  b.validation = {{"ndcg@10", 0.1}};
  std::string path = (std::filesystem::temp_directory_path() / "vane_blend_test" / "blend.json").string();
  ASSERT_TRUE(b.Save(path).ok());
  auto back = BlendConfig::Load(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->base, b.base);
  EXPECT_EQ(back->multipliers, b.multipliers);
  EXPECT_TRUE(back->fitted);
  EXPECT_EQ(back->source["dataset"], "ml-100k");
  EngineConfig applied;
  back->ApplyTo(applied);
  EXPECT_EQ(applied.base[kSrcCovisit], 1.25f);
  EXPECT_EQ(applied.strategy_multipliers[1][kSrcContent], 3.5f);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST(BlendConfig, BadFilesAreRefusedNamingTheField) {
  nlohmann::json good = BlendConfig::From(EngineConfig{}).ToJson();
  auto with = [&](auto edit) {
    nlohmann::json j = good;
    edit(j);
    return BlendConfig::FromJson(j);
  };
  EXPECT_TRUE(with([](auto&) {}).ok());
  auto missing = with([](auto& j) { j["base"].erase("covisit"); });
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("base.covisit"), std::string::npos) << missing.status().message();
  auto negative = with([](auto& j) { j["strategy_multipliers"]["session_intent"]["content"] = -1; });
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("strategy_multipliers.session_intent.content"), std::string::npos);
  auto unknown = with([](auto& j) { j["base"]["colaborative"] = 1; });
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("colaborative"), std::string::npos);
  EXPECT_EQ(with([](auto& j) { j["format"] = 99; }).status().field(), "format");
  EXPECT_FALSE(with([](auto& j) { j["base"]["model"] = "1"; }).ok());
  EXPECT_EQ(BlendConfig::Load("/nonexistent/blend.json").status().code(), StatusCode::kNotFound);
}

// Found by fuzz/blend_config_fuzz.cc: each was accepted (or threw) instead of being refused naming the field.
TEST(BlendConfig, FuzzFoundInputsAreRefused) {
  nlohmann::json good = BlendConfig::From(EngineConfig{}).ToJson();
  auto with = [&](auto edit) {
    nlohmann::json j = good;
    edit(j);
    return BlendConfig::FromJson(j);
  };
  // "fitted" of another type threw nlohmann's type_error out of FromJson (vane serve stopped on a stored blend).
  auto fitted = with([](auto& j) { j["fitted"] = "yes"; });
  ASSERT_FALSE(fitted.ok());
  EXPECT_EQ(fitted.status().field(), "fitted");
  EXPECT_TRUE(with([](auto& j) { j.erase("fitted"); }).ok());
  // A weight beyond the float range became +inf in the engine's weights.
  auto huge = with([](auto& j) { j["base"]["popular"] = 1e300; });
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().field(), "base");
  EXPECT_FALSE(with([](auto& j) { j["strategy_multipliers"]["new_user"]["model"] = 3.5e38; }).ok());
  // A format beyond int wrapped around to 1 and was accepted.
  EXPECT_EQ(with([](auto& j) { j["format"] = 4294967297LL; }).status().field(), "format");
}

}  // namespace
}  // namespace vane
