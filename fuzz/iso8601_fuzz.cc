// ParseIso8601 (events/iso8601.h): every time string of the CSV, JSONL, YooChoose and Diginetica readers.
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "vane/events/iso8601.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto r = vane::ParseIso8601(s);
  if (r.ok()) {
    // Four-digit years, offsets under a day: the result stays within years 0..9999 give or take a day.
    FUZZ_CHECK(r.value() >= -62167219200LL - 86400 && r.value() <= 253402300799LL + 86400);
  } else {
    FUZZ_CHECK(!r.status().message().empty());
  }
  return 0;
}
