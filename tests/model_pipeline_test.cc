// The model's pipeline: side information, the small model's settings, loading a model into the blend, the
// background trainer and the full-ranking test.
#include "vane/model/pipeline.h"

#include <gtest/gtest.h>

#include "generated_data.h"

#include <unistd.h>

#include <filesystem>

#include "vane/eval/capture.h"
#include "vane/gen/generator.h"

namespace vane {
namespace {

using testing::Generated;

std::string TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("vane_pipeline_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

TEST(ModelPipeline, SideInfoCoversEveryItemAndQuery) {
  Dataset ds = Generated(30);
  SideOptions so = SmallSideOptions();
  auto side = BuildSideInfo(ds, so);
  ASSERT_TRUE(side.ok()) << side.status().ToString();
  EXPECT_GT(side->text.vocab_size, 0);
  EXPECT_LE(side->text.vocab_size, so.text_vocab);
  EXPECT_EQ(side->text.pieces.size(), ds.num_items());
  EXPECT_EQ(side->text.query_pieces.size(), ds.queries.size());
  EXPECT_TRUE(side->tokenizer.has_value());
  EXPECT_EQ(side->cats.main.size(), ds.num_items());
  EXPECT_EQ(side->keywords.ids.size(), ds.num_items());
  EXPECT_GT(side->keywords.names.size(), 0u);
  EXPECT_LE(side->keywords.names.size(), static_cast<size_t>(so.keywords));
  EXPECT_EQ(SubwordCorpus(ds).size(), ds.num_items() + ds.queries.size());

  so.text = false;
  so.keywords = 0;
  auto bare = BuildSideInfo(ds, so);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->text.vocab_size, 0);
  EXPECT_FALSE(bare->tokenizer.has_value());
  EXPECT_TRUE(bare->keywords.names.empty());
}

TEST(ModelPipeline, SmallAndBackgroundSizes) {
  SeqModelConfig small = SmallModelConfig();
  EXPECT_EQ(small.dim, 32);
  EXPECT_EQ(small.max_len, 50);
  EXPECT_EQ(small.batch, 32);
  EXPECT_FLOAT_EQ(small.lr, 5e-3f);
  EXPECT_EQ(small.warmup_steps, 10);
  SeqModelConfig bg = TrainerSpec().model;
  EXPECT_EQ(bg.dim, small.dim);
  EXPECT_EQ(bg.epochs, 10);
  EXPECT_EQ(bg.eval_users, 500);
  EXPECT_EQ(bg.threads, 1);
}

TEST(ModelPipeline, UseModelWithoutDirectoryLeavesTheConfig) {
  Dataset ds = Generated(10);
  EngineConfig cfg;
  EXPECT_TRUE(UseModel("", ds, cfg).ok());
  EXPECT_FALSE(cfg.model_source);
  EXPECT_FALSE(UseModel(TempDir("missing"), ds, cfg).ok());
}

// One background training end to end: the trainer writes the version, the version loads into the blend (exactly on
// the same catalogue, only when not exact on a smaller one), and the full-ranking test ranks every test user.
TEST(ModelPipeline, TrainerWritesAModelThatLoadsAndTests) {
  Dataset ds = Generated(40);
  TrainerSpec spec;
  spec.model.epochs = 1;
  spec.model.eval_users = 0;
  const std::string dir = TempDir("trainer");
  std::filesystem::create_directories(dir);
  auto tm = MakeTrainer(spec, 10, 100)(ds, dir);
  ASSERT_TRUE(tm.ok()) << tm.status().ToString();
  EXPECT_TRUE(tm->factory);
  EXPECT_EQ(tm->info["epochs"], 1);
  EXPECT_EQ(tm->info["items"], ds.num_items());
  EXPECT_EQ(tm->info["curve"].size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/subword.model"));

  EngineConfig cfg;
  ASSERT_TRUE(UseModel(dir, ds, cfg).ok());
  EXPECT_TRUE(cfg.model_source);
  auto tok = LoadModelTokenizer(dir);
  ASSERT_TRUE(tok.ok());
  EXPECT_TRUE(tok.value());

  Dataset smaller;  // no items
  EngineConfig strict, loose;
  Status s = UseModel(dir, smaller, strict);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("trained on"), std::string::npos);
  EXPECT_TRUE(UseModel(dir, smaller, loose, {.exact = false}).ok());

  auto model = SeqModel::Load(dir);
  ASSERT_TRUE(model.ok());
  SeqSplit split = MakeSeqSplit(ds, model->has_text());
  size_t testable = 0;
  for (uint32_t t : split.test_target) testable += t != UINT32_MAX;
  auto test = TestFullRanking(*model, split, ds, {});
  ASSERT_TRUE(test.ok()) << test.status().ToString();
  EXPECT_EQ(test->all.users, testable);
  EXPECT_EQ(test->cold.users, 0u);
  EXPECT_GE(test->all.hr20, test->all.hr10);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vane
