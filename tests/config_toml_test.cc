// The configuration of `vane serve` (apps/vane/config_toml.h): every setting of the table has its environment
// variable, VANE_<SECTION>_<KEY>, and the Gorse settings (lists, durations) are read and refused by name.
#include "config_toml.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

// TrainerSpec's default lives in the libtorch module, which this test does not link: the plain config stands in.
vane::SeqModelConfig vane::BackgroundModelConfig() { return {}; }

namespace vane::cli {
namespace {

struct Options {
  ServiceOptions so;
  HttpOptions ho;
  std::string model;
  TrainerSpec spec;
  std::vector<SettingInfo> Describe() { return DescribeSettings(so, ho, model, spec); }
  Status Apply(const std::string& path = "") {
    CLI::App cmd("test");
    for (const char* f : {"--host", "--port", "--store", "--model", "--threads", "--retrain-every", "--train-epochs",
                          "--model-cache-users", "--model-cache-vectors", "--max-future", "--diversity", "--snapshot-every"})
      cmd.add_option(f, flag_);
    cmd.parse(std::vector<std::string>{});
    return ApplyConfig(path, &cmd, so, ho, model, spec);
  }
  std::string flag_;
};

// A value of the setting's kind, inside its range and unlike the defaults, as text; and how it reads back.
std::pair<std::string, std::string> Sample(const SettingInfo& s) {
  if (s.kind == "list") return {"alpha,beta", "alpha,beta"};
  if (s.kind == "string") return {"/tmp/sample-" + s.key, "/tmp/sample-" + s.key};
  if (s.kind == "duration") return {"1m30s", "90"};
  const double v = s.hi >= 7 ? std::max(s.lo, 7.0) : s.hi;
  return {fmt::format("{}", v), fmt::format("{}", v)};
}

TEST(ConfigEnvironment, EverySettingOfASectionHasItsVariable) {
  Options defaults;
  std::set<std::string> names;
  size_t checked = 0;
  for (const SettingInfo& s : defaults.Describe()) {
    if (s.section.empty()) continue;  // flags only
    SCOPED_TRACE(s.section + "." + s.key);
    std::string want = "VANE_" + s.section + "_" + s.key;
    for (char& c : want) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(s.env, want);
    EXPECT_TRUE(names.insert(s.env).second) << "two settings share " << s.env;
    auto [text, reads] = Sample(s);
    ASSERT_EQ(::setenv(s.env.c_str(), text.c_str(), 1), 0);
    Options o;
    Status st = o.Apply();
    ::unsetenv(s.env.c_str());
    ASSERT_TRUE(st.ok()) << st.ToString();
    for (const SettingInfo& x : o.Describe())
      if (x.section == s.section && x.key == s.key) {
        if (s.kind == "list" || s.kind == "string") EXPECT_EQ(x.value, reads);
        else EXPECT_DOUBLE_EQ(std::stod(x.value), std::stod(reads)) << x.value;
      }
    if (s.kind != "list" && s.kind != "string") {  // a value that is not one is refused, naming the variable
      ASSERT_EQ(::setenv(s.env.c_str(), "not-a-number", 1), 0);
      Options bad;
      Status refused = bad.Apply();
      ::unsetenv(s.env.c_str());
      EXPECT_FALSE(refused.ok());
      EXPECT_NE(refused.message().find(s.env), std::string::npos) << refused.message();
    }
    ++checked;
  }
  EXPECT_GE(checked, 30u) << "the table lost its settings";
}

TEST(ConfigEnvironment, TheLongNameWinsOverTheShortOne) {
  ASSERT_EQ(::setenv("VANE_PORT", "1111", 1), 0);
  ASSERT_EQ(::setenv("VANE_SERVER_PORT", "2222", 1), 0);
  Options o;
  Status st = o.Apply();
  ::unsetenv("VANE_PORT");
  ::unsetenv("VANE_SERVER_PORT");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(o.ho.port, 2222);
}

std::string WriteToml(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / fmt::format("vane_config_test_{}.toml", ::getpid());
  std::ofstream(path) << text;
  return path.string();
}

TEST(ConfigGorse, ListsDurationsAndCorsAreReadAsGorseWritesThem) {
  Options o;
  const std::string path = WriteToml(R"([gorse]
positive_feedback_types = ["star", "like", "upvote"]
read_feedback_types = ["read"]
default_n = 20
item_ttl = "720h"
feedback_ttl = 86400
[server]
cors_origins = ["https://shop.example"]
)");
  Status st = o.Apply(path);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(o.so.positive_feedback_types, (std::vector<std::string>{"star", "like", "upvote"}));
  EXPECT_EQ(o.so.read_feedback_types, (std::vector<std::string>{"read"}));
  EXPECT_EQ(o.ho.gorse_default_n, 20u);
  EXPECT_EQ(o.ho.gorse_item_ttl_s, 720.0 * 3600);
  EXPECT_EQ(o.ho.gorse_feedback_ttl_s, 86400.0);
  EXPECT_EQ(o.ho.cors_origins, (std::vector<std::string>{"https://shop.example"}));
}

TEST(ConfigGorse, WrongValuesAreRefusedByFileLineAndKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[gorse]\npositive_feedback_types = \"star\"\n", ":2: [gorse] positive_feedback_types: expected an array of strings, got a string"},
      {"[gorse]\nread_feedback_types = [\"read\", 5]\n", ":2: [gorse] read_feedback_types[1]: expected a non-empty string, got an integer"},
      {"[gorse]\nread_feedback_types = [\"\"]\n", "read_feedback_types[0]: expected a non-empty string, got an empty string"},
      {"[gorse]\nitem_ttl = \"ten days\"\n", ":2: [gorse] item_ttl: expected a duration"},
      {"[gorse]\nitem_ttl = \"-5s\"\n", "[gorse] item_ttl: expected a duration"},
      {"[gorse]\nfeedback_ttl = -1\n", "[gorse] feedback_ttl: -1 is out of range"},
      {"[gorse]\ndefault_n = 0\n", "[gorse] default_n: 0 is out of range 1..1000"},
      {"[gorse]\ndefault_n = 5000\n", "[gorse] default_n: 5000 is out of range 1..1000"},
      {"[server]\ncors_origins = \"*\"\n", "[server] cors_origins: expected an array of strings"},
      {"[gorse]\nnegative_feedback_types = []\n", "[gorse] negative_feedback_types: unknown setting"},
  };
  for (const auto& [toml, want] : cases) {
    Options o;
    Status st = o.Apply(WriteToml(toml));
    EXPECT_FALSE(st.ok()) << toml;
    EXPECT_NE(st.message().find(want), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace vane::cli
