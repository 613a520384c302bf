// Status and Result<T>: expected failures as values.
//
// Every fallible call in vane returns a Status (or a Result<T> holding either a value or a non-OK Status).
// Bugs are not Statuses: they abort through VANE_CHECK with file:line and a reason. No exception crosses a
// module boundary. Status is cheap to copy when OK (no allocation). Thread-compatible.
//
// This is the one error type of the library, the store and the service. A Status carries
//   - a code: the kind of failure, rich enough for the HTTP edge to pick a status (serve/http/errors.cc holds the
//     one mapping: invalid 400, not found 404, conflict 409, too large 413, unavailable 503, not implemented 501,
//     internal 500);
//   - a reason: the stable machine-readable error code the API returns ("unknown_user", "malformed_json", ...);
//     when none was given it is the code's name ("invalid_argument");
//   - a message naming the record, field or value and why.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vane {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // malformed input: a bad record, field, flag or request
  kNotFound,         // unknown user, item, file
  kAlreadyExists,
  kIoError,          // the file system said no
  kFailedPrecondition,
  kResourceExhausted,
  kInternal,
  kConflict,        // the request clashes with the current state (e.g. a training already runs)
  kTooLarge,        // a batch, body or value beyond a configured limit
  kUnavailable,     // the store or the service cannot take requests now; retrying later may succeed
  kNotImplemented,  // the feature is not configured on this instance
};

// Returns a stable lower_snake name for `code` ("invalid_argument", ...), used in JSON error bodies.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  Status(StatusCode code, std::string reason, std::string message)
      : code_(code), reason_(std::move(reason)), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status TooLarge(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status NotImplemented(std::string m) { return {StatusCode::kNotImplemented, std::move(m)}; }
  // With a machine-readable reason: Status::NotFound("unknown_user", "user 'x' has no events").
  static Status InvalidArgument(std::string r, std::string m) { return {StatusCode::kInvalidArgument, std::move(r), std::move(m)}; }
  static Status NotFound(std::string r, std::string m) { return {StatusCode::kNotFound, std::move(r), std::move(m)}; }
  static Status Internal(std::string r, std::string m) { return {StatusCode::kInternal, std::move(r), std::move(m)}; }
  static Status Conflict(std::string r, std::string m) { return {StatusCode::kConflict, std::move(r), std::move(m)}; }
  static Status TooLarge(std::string r, std::string m) { return {StatusCode::kTooLarge, std::move(r), std::move(m)}; }
  static Status Unavailable(std::string r, std::string m) { return {StatusCode::kUnavailable, std::move(r), std::move(m)}; }
  static Status NotImplemented(std::string r, std::string m) { return {StatusCode::kNotImplemented, std::move(r), std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // The machine-readable reason ("unknown_user"); the code's name when none was given.
  std::string_view reason() const { return reason_.empty() ? StatusCodeName(code_) : std::string_view(reason_); }
  const std::string& message() const { return message_; }
  // "invalid_argument: <message>", or "ok".
  std::string ToString() const;
  // The input field the failure is about ("ts", "item", "record"); empty when none. Record-level rejections
  // (an ingestion batch's {"index", "field", "reason"}) read it instead of parsing the message.
  const std::string& field() const { return field_; }
  Status WithField(std::string field) && {
    field_ = std::move(field);
    return std::move(*this);
  }
  // The same failure with another message prefix ("store: " + message), code and reason kept.
  Status Prefixed(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string reason_;
  std::string message_;
  std::string field_;
};

// Holds a T or a non-OK Status. REQUIRES: value() only when ok().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, std::string_view why);

}  // namespace vane

// Aborts with file:line when `cond` is false. Active in every build type (unlike assert).
#define VANE_CHECK(cond, why) \
  do { if (!(cond)) ::vane::CheckFailed(__FILE__, __LINE__, #cond, (why)); } while (0)

#define VANE_RETURN_IF_ERROR(expr) \
  do { ::vane::Status vane_s_ = (expr); if (!vane_s_.ok()) return vane_s_; } while (0)

#define VANE_STATUS_CONCAT_INNER_(a, b) a##b
#define VANE_STATUS_CONCAT_(a, b) VANE_STATUS_CONCAT_INNER_(a, b)
// `VANE_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result's value, or returns its Status.
#define VANE_ASSIGN_OR_RETURN(decl, expr) VANE_ASSIGN_OR_RETURN_IMPL_(VANE_STATUS_CONCAT_(vane_r_, __LINE__), decl, expr)
#define VANE_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  decl = std::move(tmp).value()
