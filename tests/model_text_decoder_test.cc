// The interest-text decoder: decoding rules, learning, the saved file, and the pipeline around a trained model
// (training pairs, the held-out measure, serving through the model source).
#include "vane/model/text_decoder.h"

#include <gtest/gtest.h>

#include "generated_data.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "vane/gen/generator.h"
#include "vane/interest/user_state.h"
#include "vane/model/decoder_pipeline.h"
#include "vane/model/model_source.h"
#include "vane/model/pipeline.h"

namespace vane {
namespace {

std::string TempPath(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("vane_decoder_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

// A decoder whose logits do not depend on its state: all weights zero, the output bias alone decides.
TextDecoder BiasOnly(std::vector<float> bias, std::vector<uint8_t> word_start) {
  TextDecoder d;
  d.in_dim = d.hidden = d.emb = 1;
  for (size_t c = 0; c + 1 < bias.size(); ++c) d.pieces.push_back(100 + static_cast<int>(c));
  d.word_start = std::move(word_start);
  const size_t C = d.classes();
  d.emb_w.assign(C + 1, 0.0f);
  d.init_w = {0.0f};
  d.init_b = {0.0f};
  d.w_ih.assign(3 * 2, 0.0f);
  d.b_ih.assign(3, 0.0f);
  d.w_hh.assign(3, 0.0f);
  d.b_hh.assign(3, 0.0f);
  d.out_w.assign(C, 0.0f);
  d.out_b = std::move(bias);
  return d;
}

TEST(TextDecoder, GreedyNeverRepeatsAWordStartStopsAtTheEndMarkAndIsBounded) {
  const float u = 0.5f;
  // Classes 100, 101 begin words, 102 continues one; the end mark's logit is the last bias.
  TextDecoder d = BiasOnly({3, 2, 1, 0}, {1, 1, 0});
  ASSERT_TRUE(d.Validate().ok());
  EXPECT_EQ(d.Decode(&u, {.max_pieces = 5}), (std::vector<int>{100, 101, 102, 102, 102}));
  EXPECT_EQ(d.Decode(&u, {.max_pieces = 1}), (std::vector<int>{100}));
  // The end mark above the continuation piece: stops once both words are written.
  TextDecoder e = BiasOnly({3, 2, 1, 1.5f}, {1, 1, 0});
  EXPECT_EQ(e.Decode(&u, {.max_pieces = 10}), (std::vector<int>{100, 101}));
  // The end mark first: still one piece is written.
  TextDecoder f = BiasOnly({3, 2, 1, 10}, {1, 1, 0});
  EXPECT_EQ(f.Decode(&u, {.max_pieces = 10}), (std::vector<int>{100}));
  // Log-probabilities of a teacher-forced sequence: softmax of the biases at every step.
  auto lp = d.LogProbs(&u, std::vector<int>{0, 1});
  ASSERT_EQ(lp.size(), 3u);
  const double z = std::log(std::exp(3.0) + std::exp(2.0) + std::exp(1.0) + std::exp(0.0));
  EXPECT_NEAR(lp[0], 3.0 - z, 1e-5);
  EXPECT_NEAR(lp[1], 2.0 - z, 1e-5);
  EXPECT_NEAR(lp[2], 0.0 - z, 1e-5);
}

// Three users (one-hot states) with three different texts; a fourth text shares its first piece with the first.
TEST(TextDecoder, LearnsToWriteEachUsersTextAndTheFileReadsBackTheSame) {
  const int C = 4;
  std::vector<std::vector<int>> texts = {{10, 11, 12}, {20, 21}, {30, 31, 32, 33}, {10, 40}};
  std::vector<float> u;
  std::vector<std::vector<int>> targets;
  for (int rep = 0; rep < 200; ++rep)
    for (int k = 0; k < C; ++k) {
      for (int j = 0; j < C; ++j) u.push_back(j == k ? 1.0f : 0.0f);
      targets.push_back(texts[static_cast<size_t>(k)]);
    }
  std::vector<uint8_t> ws(64, 1);
  TextDecoderConfig cfg;
  cfg.hidden = 32;
  cfg.emb = 16;
  cfg.epochs = 30;
  cfg.batch = 64;
  cfg.lr = 1e-2f;
  cfg.patience = 30;
  cfg.threads = 1;
  std::vector<DecoderEpoch> log;
  auto d = TrainTextDecoder(u, C, targets, ws, cfg, &log, false);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->pieces.size(), 10u);  // the distinct pieces
  ASSERT_FALSE(log.empty());
  EXPECT_LT(log.back().val_loss, log.front().val_loss);
  for (int k = 0; k < C; ++k) {
    std::vector<float> x(C, 0.0f);
    x[static_cast<size_t>(k)] = 1.0f;
    EXPECT_EQ(d->Decode(x.data(), {.max_pieces = 8}), texts[static_cast<size_t>(k)]) << "user " << k;
  }

  const std::string path = TempPath("roundtrip");
  ASSERT_TRUE(d->Save(path).ok());
  auto back = TextDecoder::Load(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::vector<float> x = {0.2f, 0.1f, 0.6f, 0.3f};
  EXPECT_EQ(back->Decode(x.data()), d->Decode(x.data()));
  EXPECT_EQ(back->LogProbs(x.data(), std::vector<int>{1, 2}), d->LogProbs(x.data(), std::vector<int>{1, 2}));

  // A damaged file is refused, never half-read: a flipped byte, a cut, and an empty file.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t at : {bytes.size() / 2, bytes.size() - 5}) {
    std::string bad = bytes;
    bad[at] ^= 0x5a;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bad;
    EXPECT_FALSE(TextDecoder::Load(path).ok()) << "flipped byte at " << at;
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 3);
  EXPECT_FALSE(TextDecoder::Load(path).ok());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "";
  EXPECT_FALSE(TextDecoder::Load(path).ok());
  std::filesystem::remove(path);
}

TEST(TextDecoder, RefusesInconsistentWeightsAndBadTrainingInput) {
  TextDecoder d = BiasOnly({1, 2, 0}, {1, 0});
  d.out_w.pop_back();
  EXPECT_FALSE(d.Validate().ok());
  EXPECT_FALSE(d.Save(TempPath("bad")).ok());
  TextDecoder nan = BiasOnly({1, std::nanf(""), 0}, {1, 0});
  EXPECT_FALSE(nan.Validate().ok());
  TextDecoderConfig cfg;
  std::vector<float> u = {1, 2, 3};
  EXPECT_FALSE(TrainTextDecoder(u, 2, {{1}, {2}}, {1, 1, 1}, cfg, nullptr, false).ok());  // 3 floats for 2 x 2
  std::vector<float> u4 = {1, 2, 3, 4};
  EXPECT_FALSE(TrainTextDecoder(u4, 2, {{}, {}}, {1}, cfg, nullptr, false).ok());  // nothing to write
}

using testing::Generated;

// The whole path on generated data: a small model, its decoder trained on the training sequences, the held-out
// measure, the saved decoder loaded beside the model, and the model source writing the text for a user.
TEST(TextDecoderPipeline, TrainsMeasuresAndServesTheGeneratedText) {
  Dataset ds = Generated(120);
  auto side = BuildSideInfo(ds, SmallSideOptions());
  ASSERT_TRUE(side.ok());
  SeqSplit split = MakeSeqSplit(ds, true);
  SeqModelConfig mc = SmallModelConfig();
  mc.epochs = 4;
  mc.threads = 1;
  auto model = SeqModel::Train(split, ds.num_items(), mc, nullptr, false, &side->text, &side->cats, &side->keywords);
  ASSERT_TRUE(model.ok());
  const text::SubwordTokenizer& tok = *side->tokenizer;

  // What it learns to write: an item's words, cut to the bound; a query's words.
  NextText nt = BuildNextText(ds, tok, 16);
  ASSERT_EQ(nt.item.size(), ds.num_items());
  ASSERT_EQ(nt.query.size(), ds.queries.size());
  for (const auto& t : nt.item) EXPECT_LE(t.size(), 16u);
  EXPECT_FALSE(nt.item[0].empty());
  EXPECT_FALSE(PiecesToText(tok, nt.item[0]).empty());

  TextDecoderConfig dc;
  dc.epochs = 4;
  dc.threads = 1;
  auto run = TrainDecoderForModel(*model, split, ds, tok, dc, 4000, false);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_GT(run->pairs, 1000u);
  EXPECT_LE(run->pairs, 4000u + 400u);  // a uniform sample around the bound
  EXPECT_EQ(run->decoder.in_dim, mc.dim);

  auto ev = EvaluateInterestText(*model, run->decoder, split, ds, tok, 0, 3, false);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_GT(ev->users, 100u);
  ASSERT_EQ(ev->rows.size(), 4u);
  for (const auto& r : ev->rows) {
    EXPECT_GE(r.precision, 0.0);
    EXPECT_LE(r.precision, 1.0);
    EXPECT_GE(r.recall, 0.0);
    EXPECT_LE(r.recall, 1.0);
  }
  // Even a few epochs write mostly words of what the user does next (full training: .67 precision).
  EXPECT_GT(ev->rows[0].precision, 0.25);
  EXPECT_GT(ev->rows[0].words, 1.0);
  EXPECT_EQ(ev->samples.size(), 3u);

  // Served: the model directory with its tokenizer and decoder, and the model source's view of a user.
  const std::string dir = TempPath("model");
  ASSERT_TRUE(model->Save(dir).ok());
  ASSERT_TRUE(tok.Save(dir + "/subword.model").ok());
  ASSERT_TRUE(run->decoder.Save(DecoderPath(dir)).ok());
  EngineConfig cfg;
  ASSERT_TRUE(UseModel(dir, ds, cfg).ok());
  InterestStore st(ds);
  for (const Event& e : ds.events) st.Apply(e);
  auto src = cfg.model_source(ds, st);
  auto view = src->DescribeUser(UserIdx(0));
  ASSERT_TRUE(view.has_value());
  EXPECT_FALSE(view->generated.empty());
  EXPECT_FALSE(view->generated_words.empty());

  // Generative retrieval: items the model knows by text alone enter its list at ranks 9 and 10 (two slots), with
  // the written words as their evidence; ranks 1-8 stay the model's own. Both the evaluation path (every item) and
  // the served path (the best `limit`).
  std::vector<uint8_t> text_only = model->TextOnlyItems();
  ASSERT_EQ(text_only.size(), ds.num_items());
  ASSERT_GT(std::count(text_only.begin(), text_only.end(), 1), 0);  // 120 users leave items untouched
  auto dec = std::make_shared<const TextDecoder>(run->decoder);
  auto tok_ptr = std::make_shared<const text::SubwordTokenizer>(std::move(*side->tokenizer));
  ModelSource gen_src(ds, st, std::make_shared<const SeqModel>(std::move(*model)), 100, 50000, tok_ptr, 1000, dec, 2);
  size_t users_with_generated = 0;
  for (uint32_t u = 0; u < 40; ++u) {
    for (size_t limit : {SIZE_MAX, size_t{200}}) {
      ScoreBuffer buf;
      buf.Reset(ds.num_items());
      RetrievalContext ctx{UserIdx(u), 0, st.Find(UserIdx(u)), limit};
      gen_src.Generate(ctx, buf);
      std::vector<uint8_t> seen(ds.num_items(), 0);
      for (ItemIdx i : st.Interacted(UserIdx(u))) seen[i.v] = 1;
      std::vector<std::pair<float, uint32_t>> ranked;
      for (uint32_t i : buf.touched())
        if (!seen[i]) ranked.emplace_back(buf.Score(ItemIdx(i)), i);
      std::sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });
      ASSERT_GE(ranked.size(), 10u);
      size_t generated = 0;
      for (size_t r = 0; r < 10; ++r) {
        const Evidence& ev = buf.EvidenceOf(ItemIdx(ranked[r].second));
        if (ev.kind == EvidenceKind::kGenerated) {
          ++generated;
          EXPECT_GE(r, 8u) << "user " << u << ": a written match above rank 9";
          EXPECT_TRUE(text_only[ranked[r].second]);
        }
      }
      EXPECT_LE(generated, 2u);
      users_with_generated += generated > 0;
    }
  }
  EXPECT_GT(users_with_generated, 10u);

  // A decoder of another width beside the model is refused, not half-used.
  TextDecoder other = run->decoder;
  other.in_dim += 1;
  other.init_w.resize(static_cast<size_t>(other.hidden * other.in_dim));
  other.w_ih.resize(static_cast<size_t>(3 * other.hidden * (other.emb + other.in_dim)));
  ASSERT_TRUE(other.Save(DecoderPath(dir)).ok());
  EngineConfig cfg2;
  EXPECT_FALSE(UseModel(dir, ds, cfg2).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vane
