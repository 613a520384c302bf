// `vane tune`: the trial sequence, the budget and trial bounds, the kept best model, and resuming (also after a
// torn line).
#include "vane/model/tune.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace vane {
namespace {

// Users walking chains i -> i+1 over `items` items.
SeqSplit Chains(int users, uint32_t items) {
  SeqSplit s;
  for (int u = 0; u < users; ++u) {
    std::vector<uint32_t> q;
    for (uint32_t k = 0; k < 6; ++k) q.push_back((static_cast<uint32_t>(u) + k) % items);
    s.train.push_back(q);
    s.val_target.push_back((static_cast<uint32_t>(u) + 6) % items);
    s.test_target.push_back((static_cast<uint32_t>(u) + 7) % items);
  }
  return s;
}

SeqModelConfig Small() {
  SeqModelConfig c;
  c.dim = 16;
  c.layers = 1;
  c.heads = 1;
  c.max_len = 8;
  c.batch = 16;
  c.threads = 1;
  c.eval_users = 0;
  return c;
}

TuneSpace SmallSpace() {
  TuneSpace sp;
  sp.dim = {8, 16};
  sp.layers = {1};
  sp.heads = {1, 2, 4};
  sp.max_len = {4, 8};
  sp.negatives = {0, 5};
  return sp;
}

// A fresh directory under the temporary folder, per process, and options that write there quietly.
std::string FreshDir(const std::string& tag) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / (tag + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  return dir;
}

TuneOptions QuietOptions(const std::string& dir) {
  TuneOptions o;
  o.dir = dir;
  o.progress = false;
  return o;
}

TEST(Tune, TrialZeroIsTheBaseAndEveryOtherTrialIsADeterministicDrawFromTheSpace) {
  const TuneSpace sp = SmallSpace();
  const SeqModelConfig base = Small();
  SeqModelConfig t0 = TrialConfig(sp, base, 7, 0);
  EXPECT_EQ(t0.dim, base.dim);
  EXPECT_EQ(t0.max_len, base.max_len);
  bool differs = false;
  for (int k = 1; k < 30; ++k) {
    SeqModelConfig a = TrialConfig(sp, base, 7, k), b = TrialConfig(sp, base, 7, k);
    EXPECT_EQ(a.dim, b.dim);
    EXPECT_EQ(a.heads, b.heads);
    EXPECT_EQ(a.lr, b.lr);
    EXPECT_EQ(a.dim % a.heads, 0);
    EXPECT_EQ((a.dim / a.heads) % 2, 0);
    EXPECT_NE(std::find(sp.dim.begin(), sp.dim.end(), a.dim), sp.dim.end());
    EXPECT_NE(std::find(sp.max_len.begin(), sp.max_len.end(), a.max_len), sp.max_len.end());
    differs |= TrialConfig(sp, base, 8, k).dim != a.dim || TrialConfig(sp, base, 8, k).lr != a.lr;
  }
  EXPECT_TRUE(differs);  // another seed, another sequence
}

TEST(Tune, KeepsTheBestTrialsModelAndResumesWhereItStopped) {
  const std::string dir = FreshDir("vane_tune_");
  SeqSplit s = Chains(40, 12);
  TuneOptions o = QuietOptions(dir);
  o.epochs = 2;
  o.patience = 2;
  o.max_trials = 2;
  o.budget_s = 600;
  auto r = Tune(s, 12, Small(), SmallSpace(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->trials.size(), 2u);
  ASSERT_GE(r->best, 0);
  EXPECT_TRUE(std::filesystem::exists(dir + "/model/tune.json"));
  auto kept = SeqModel::Load(dir + "/model");
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->config().dim, r->trials[static_cast<size_t>(r->best)].cfg.dim);

  // Resume: the two trials come back from the file, one more runs.
  o.max_trials = 3;
  auto r2 = Tune(s, 12, Small(), SmallSpace(), o);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  ASSERT_EQ(r2->trials.size(), 3u);
  EXPECT_TRUE(r2->trials[0].resumed && r2->trials[1].resumed && !r2->trials[2].resumed);
  EXPECT_EQ(r2->trials[0].val_ndcg10, r->trials[0].val_ndcg10);

  // A crash mid-write leaves a torn last line: dropped, that trial runs again, the file stays readable.
  { std::ofstream(dir + "/trials.jsonl", std::ios::app) << "{\"trial\": 3, \"val_nd"; }
  o.max_trials = 4;
  auto r3 = Tune(s, 12, Small(), SmallSpace(), o);
  ASSERT_TRUE(r3.ok()) << r3.status().ToString();
  ASSERT_EQ(r3->trials.size(), 4u);
  EXPECT_FALSE(r3->trials[3].resumed);
  auto r4 = Tune(s, 12, Small(), SmallSpace(), o);  // everything done: nothing runs
  ASSERT_TRUE(r4.ok()) << r4.status().ToString();
  EXPECT_EQ(r4->trials.size(), 4u);
  for (const auto& t : r4->trials) EXPECT_TRUE(t.resumed);

  // Another seed over the same file is another search: refused, naming the file.
  o.seed = 99;
  auto other = Tune(s, 12, Small(), SmallSpace(), o);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("trials.jsonl"), std::string::npos);
  // No time: no trial.
  o.seed = 42;
  o.budget_s = 0;
  o.dir = dir + "/none";
  auto none = Tune(s, 12, Small(), SmallSpace(), o);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->trials.empty());
  std::filesystem::remove_all(dir);
}

TEST(Tune, RefusesAnEmptyOrOutOfRangeSpaceNamingTheList) {
  const std::string dir = FreshDir("vane_tune_space_");
  SeqSplit s = Chains(20, 12);
  TuneOptions o = QuietOptions(dir);
  TuneSpace empty = SmallSpace();
  empty.lr.clear();
  auto r = Tune(s, 12, Small(), empty, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("lr list is empty"), std::string::npos) << r.status().message();
  TuneSpace bad = SmallSpace();
  bad.dropout = {0.1f, 1.5f};
  r = Tune(s, 12, Small(), bad, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dropout list holds 1.5"), std::string::npos) << r.status().message();
  bad = SmallSpace();
  bad.negatives = {-3};
  EXPECT_FALSE(Tune(s, 12, Small(), bad, o).ok());
  EXPECT_FALSE(std::filesystem::exists(dir + "/trials.jsonl"));  // nothing ran
  std::filesystem::remove_all(dir);
}

TEST(Tune, ALongerScheduleStopsEachTrialAfterItsEpochs) {
  const std::string dir = FreshDir("vane_tune_sched_");
  SeqSplit s = Chains(40, 12);
  TuneOptions o = QuietOptions(dir);
  o.epochs = 2;
  o.patience = 5;
  o.schedule_epochs = 10;
  o.max_trials = 1;
  auto r = Tune(s, 12, Small(), SmallSpace(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->trials.size(), 1u);
  EXPECT_EQ(r->trials[0].epochs, 2);         // stopped after its 2 epochs
  EXPECT_EQ(r->trials[0].cfg.epochs, 10);    // of a 10-epoch schedule
  EXPECT_EQ(r->trials[0].cfg.stop_after_epoch, 2);
  // The kept model says how it was searched: the schedule, the stop, the precision.
  std::ifstream in(dir + "/model/tune.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"stop_after_epoch\": 2"), std::string::npos) << text;
  EXPECT_NE(text.find("\"epochs\": 10"), std::string::npos) << text;
  EXPECT_NE(text.find("\"bf16\": false"), std::string::npos) << text;
  // A resume under another schedule or precision is another search: refused, naming what differs.
  o.max_trials = 2;
  o.schedule_epochs = 20;
  auto other = Tune(s, 12, Small(), SmallSpace(), o);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("epochs (recorded 10, now 20)"), std::string::npos) << other.status().message();
  o.schedule_epochs = 10;
  SeqModelConfig bf = Small();
  bf.bf16 = true;
  other = Tune(s, 12, bf, SmallSpace(), o);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("bf16 (recorded false, now true)"), std::string::npos) << other.status().message();
  // A schedule no longer than the trial's epochs would be silently the same as none: refused.
  o.dir = dir + "/short";
  o.schedule_epochs = 2;
  other = Tune(s, 12, Small(), SmallSpace(), o);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("must be longer"), std::string::npos) << other.status().message();
  std::filesystem::remove_all(dir);
}

TEST(Tune, ReportsTheCpusVectorUnits) {
  const std::string r = CpuTrainingReport(3);
  EXPECT_NE(r.find("AVX2 "), std::string::npos);
  EXPECT_NE(r.find("training threads 3"), std::string::npos) << r;
  EXPECT_NE(r.find("AVX-512 BF16 "), std::string::npos);
  EXPECT_NE(r.find("libtorch: "), std::string::npos);
}

}  // namespace
}  // namespace vane
