#include "vane/text/tokenize.h"

#include <gtest/gtest.h>

namespace vane::text {
namespace {

using V = std::vector<std::string>;

TEST(Tokenize, EnglishLowercasesAndDropsStopwords) {
  EXPECT_EQ(Tokenize("The Trail Running Shoes for Women"), (V{"trail", "running", "shoes", "women"}));
}

// The dictionary-free tokenisation (asked for here; also the fallback without a dictionary: segmenter_test).
TEST(Tokenize, ChineseBigramsWhenAsked) {
  TokenizeOptions o;
  o.zh_bigrams = true;
  EXPECT_EQ(Tokenize("越野跑鞋", o), (V{"越野", "野跑", "跑鞋"}));
  EXPECT_EQ(Tokenize("鞋", o), (V{"鞋"}));
}

TEST(Tokenize, MixedScriptsSplitAtBoundaries) {
  TokenizeOptions o;
  o.zh_bigrams = true;
  EXPECT_EQ(Tokenize("Nike越野跑鞋 GT-2000", o), (V{"nike", "越野", "野跑", "跑鞋", "gt", "2000"}));
}

TEST(Tokenize, FullWidthFoldsToAscii) {
  EXPECT_EQ(Normalize("ＡＢＣ　１２３"), "abc 123");
  EXPECT_EQ(Tokenize("ｔｒａｉｌ　ｓｈｏｅｓ"), (V{"trail", "shoes"}));
}

TEST(Tokenize, PunctuationSeparatesWords) {
  EXPECT_EQ(Tokenize("hiking, camping & (tents)!"), (V{"hiking", "camping", "tents"}));
  EXPECT_EQ(Tokenize("露营，帐篷。"), (V{"露营", "帐篷"}));
}

TEST(Tokenize, AccentedLatinStaysInWords) {
  EXPECT_EQ(Tokenize("Café crème"), (V{"café", "crème"}));
}

TEST(Utf8, ValidAndInvalid) {
  EXPECT_TRUE(IsValidUtf8("hello 越野 \xEF\xBF\xBD"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));            // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));        // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));    // surrogate
  EXPECT_FALSE(IsValidUtf8("ab\xFF"));
}

TEST(Utf8, RoundTrip) {
  std::string s;
  for (char32_t c : {U'a', U'é', U'越', U'😀'}) AppendUtf8(s, c);
  size_t i = 0;
  EXPECT_EQ(DecodeUtf8(s, i), U'a');
  EXPECT_EQ(DecodeUtf8(s, i), U'é');
  EXPECT_EQ(DecodeUtf8(s, i), U'越');
  EXPECT_EQ(DecodeUtf8(s, i), U'😀');
  EXPECT_EQ(i, s.size());
}

}  // namespace
}  // namespace vane::text
