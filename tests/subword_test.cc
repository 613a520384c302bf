#include "vane/text/subword.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "vane/gen/generator.h"
#include "vane/text/tokenize.h"

namespace vane::text {
namespace {

std::vector<std::string> CatalogueText() {
  gen::GenOptions go;
  go.users = 50;
  gen::Generated g = gen::Generate(go);
  std::vector<std::string> texts;
  for (const Item& it : g.items) {
    texts.push_back(it.title);
    texts.push_back(it.text);
  }
  for (const RawEvent& e : g.events)
    if (!e.query.empty()) texts.push_back(e.query);
  return texts;
}

class Subword : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SubwordTokenizer::Options opt;
    opt.vocab_size = 800;
    auto t = SubwordTokenizer::Train(CatalogueText(), opt);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tok_ = new SubwordTokenizer(std::move(t.value()));
  }
  static void TearDownTestSuite() { delete tok_; }
  static SubwordTokenizer* tok_;
};
SubwordTokenizer* Subword::tok_ = nullptr;

TEST_F(Subword, LearnsAVocabularyAndEncodesBothLanguages) {
  EXPECT_GT(tok_->vocab_size(), 100);
  EXPECT_LE(tok_->vocab_size(), 800);
  for (std::string_view s : {"trail running shoes", "越野跑鞋", "露营帐篷 tent"}) {
    auto ids = tok_->Encode(s);
    ASSERT_FALSE(ids.empty()) << s;
    for (int id : ids) EXPECT_NE(id, tok_->unk_id()) << s;
    // Pieces concatenate back to the normalised text (sentencepiece marks word starts with U+2581).
    std::string joined;
    for (const auto& p : tok_->EncodePieces(s)) joined += p;
    std::string expect = "\u2581" + Normalize(s);
    for (size_t k = 0; (k = expect.find(' ', k)) != std::string::npos;) expect.replace(k, 1, "\u2581");
    EXPECT_EQ(joined, expect);
  }
  // Frequent catalogue words become single pieces.
  EXPECT_EQ(tok_->EncodePieces("trail").size(), 1u);
}

TEST_F(Subword, NormalisesBeforeEncoding) {
  EXPECT_EQ(tok_->Encode("ＴＲＡＩＬ  Running"), tok_->Encode("trail running"));
}

TEST_F(Subword, UnseenCharactersFallBackToBytesNotUnknown) {
  auto ids = tok_->Encode("龘");  // a rare ideograph absent from the catalogue
  ASSERT_FALSE(ids.empty());
  for (int id : ids) EXPECT_NE(id, tok_->unk_id());
}

TEST_F(Subword, SaveLoadRoundTrip) {
  auto path = (std::filesystem::temp_directory_path() / "vane_subword_test.model").string();
  ASSERT_TRUE(tok_->Save(path).ok());
  auto back = SubwordTokenizer::Load(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->vocab_size(), tok_->vocab_size());
  EXPECT_EQ(back->Encode("越野跑鞋 trail shoes"), tok_->Encode("越野跑鞋 trail shoes"));
  std::filesystem::remove(path);
}

TEST(SubwordErrors, EmptyCorpusAndMissingFile) {
  auto t = SubwordTokenizer::Train({"", "   "}, {});
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  auto l = SubwordTokenizer::Load("/nonexistent/vane.model");
  EXPECT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kNotFound);
  SubwordTokenizer empty;
  EXPECT_TRUE(empty.Encode("x").empty());
  EXPECT_FALSE(empty.Save("/tmp/x.model").ok());
}

}  // namespace
}  // namespace vane::text
