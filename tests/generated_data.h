// The generator's bilingual demo data as a Dataset, for the tests that need realistic sessions, searches and text.
#pragma once

#include <gtest/gtest.h>

#include "vane/eval/capture.h"
#include "vane/gen/generator.h"

namespace vane::testing {

inline Dataset Generated(int users) {
  gen::GenOptions go;
  go.users = users;
  Dataset ds;
  ImportReport report;
  EXPECT_TRUE(BuildGeneratedDataset(gen::Generate(go), ds, report).ok());
  return ds;
}

}  // namespace vane::testing
