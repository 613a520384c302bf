#include "vane/events/ids.h"

#include <fmt/format.h>

#include "values.h"
#include "vane/text/tokenize.h"

namespace vane {
namespace {

constexpr std::string_view kRule = "ids are 1..256 bytes of UTF-8 without control characters or '/'";

Status BadId(std::string_view field, std::string why) {
  return Status::InvalidArgument("bad_id", fmt::format("bad id: {}; {}", why, kRule)).WithField(std::string(field));
}

}  // namespace

Status CheckId(std::string_view field, std::string_view id) {
  static_assert(kMaxIdBytes == 256, "kRule states the limit");
  if (id.empty()) return BadId(field, "empty");
  if (id.size() > kMaxIdBytes) return BadId(field, fmt::format("{} bytes long", id.size()));
  if (!text::IsValidUtf8(id)) return BadId(field, "invalid UTF-8: " + events_detail::Quote(id));
  for (size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c == 0x7f) return BadId(field, fmt::format("control character U+{:04X} at byte {}", c, i));
    if (c == '/') return BadId(field, fmt::format("'/' at byte {}", i));
  }
  return Status::Ok();
}

}  // namespace vane
