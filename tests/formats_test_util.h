// Helpers shared by the converter tests (formats_test.cc, formats_real_data_slow_test.cc).
#pragma once

#include <gtest/gtest.h>

#include "vane/events/formats.h"

namespace vane::testing {

// Load options without a progress bar.
inline LoadOptions Quiet() {
  LoadOptions o;
  o.import.progress = false;
  return o;
}

// Every event names a catalogue item (or is a pure search) and a known user.
inline void ExpectConsistent(const Dataset& ds) {
  for (const Event& e : ds.events) {
    ASSERT_LT(e.user.v, ds.num_users());
    if (e.item.valid()) ASSERT_LT(e.item.v, ds.num_items());
    else ASSERT_NE(e.query, kNoQuery);
    ASSERT_LT(e.action, ds.actions.size());
  }
}

}  // namespace vane::testing
