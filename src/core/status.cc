#include "vane/core/status.h"

#include <cstdio>
#include <cstdlib>

namespace vane {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kIoError: return "io_error";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kResourceExhausted: return "resource_exhausted";
    case StatusCode::kInternal: return "internal";
    case StatusCode::kConflict: return "conflict";
    case StatusCode::kTooLarge: return "too_large";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kNotImplemented: return "not_implemented";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

Status Status::Prefixed(std::string_view prefix) const {
  if (ok()) return *this;
  Status s(code_, reason_, std::string(prefix) + message_);
  s.field_ = field_;
  return s;
}

void CheckFailed(const char* file, int line, const char* expr, std::string_view why) {
  std::fprintf(stderr, "%s:%d: check failed: %s (%.*s)\n", file, line, expr, static_cast<int>(why.size()),
               why.data());
  std::abort();
}

}  // namespace vane
