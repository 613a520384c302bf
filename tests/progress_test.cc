// The progress line when stderr is a log file, not a terminal (gtest's capture is a file): a short job stays quiet,
// a long one prints its rate and ETA at the log interval and ends with the time it took.
#include "vane/core/progress.h"

#include <string>

#include <gtest/gtest.h>

namespace vane {
namespace {

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(Progress, AShortJobPrintsNothingToALog) {
  testing::internal::CaptureStderr();
  {
    Progress p("scoring", 4096, "users");
    for (uint64_t i = 1; i <= 4096; ++i) p.Update(i);
    p.Finish();
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(Progress, ALongJobPrintsRateAndEtaLinesThenTheTimeItTook) {
  testing::internal::CaptureStderr();
  {
    Progress p("scoring", 4096, "users");
    p.set_log_interval(std::chrono::milliseconds(0));  // as if every update came 30 s after the last line
    for (uint64_t i = 1; i <= 4096; ++i) p.Update(i);
    p.Finish();
  }
  const std::string out = testing::internal::GetCapturedStderr();
  // Lines at 1024, 2048, 3072 and 4096 users done (the bar looks at the clock every 1,024 updates), then "took".
  EXPECT_EQ(Count(out, "ETA"), 4u) << out;
  EXPECT_EQ(Count(out, "took"), 1u) << out;
  EXPECT_NE(out.find("scoring [######......"), std::string::npos) << out;
  EXPECT_NE(out.find("1024/4096 users"), std::string::npos) << out;
  EXPECT_NE(out.find("users/s"), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << "a log gets plain lines, not a redrawn one";
  EXPECT_EQ(out.back(), '\n');
}

TEST(Progress, ForcedProgressAlwaysEndsWithTheTimeItTook) {
  testing::internal::CaptureStderr();
  {
    Progress p("import", 10, "lines", /*force=*/true);
    p.Update(10);
    p.Finish();
    p.Finish();  // a second Finish (or the destructor) draws nothing more
  }
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(Count(out, "took"), 1u) << out;
  EXPECT_NE(out.find("10/10 lines"), std::string::npos) << out;
}

}  // namespace
}  // namespace vane
