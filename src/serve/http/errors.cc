// The one mapping from a Status to an HTTP answer, and the answers of the HTTP layer's own errors.
#include <cmath>
#include <algorithm>

#include <fmt/format.h>

#include "internal.h"

namespace vane::http {

int HttpStatus(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kTooLarge: return 413;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kNotImplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kIoError:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

void SendJson(Res& res, int status, const json& j) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(Res& res, const Status& s) {
  json e = {{"code", std::string(s.reason())}, {"message", s.message()}};
  if (!s.field().empty()) e["field"] = s.field();  // the input field a refusal is about
  SendJson(res, HttpStatus(s.code()), json{{"error", std::move(e)}});
}

size_t NestingDepth(std::string_view text, size_t limit) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (ch == '\\') escaped = true;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::optional<json> ParseBody(const Req& req, Res& res) {
  // Checked before parsing: a value nested thousands deep parses, but printing or freeing it recurses that deep.
  if (NestingDepth(req.body, kMaxJsonDepth) > kMaxJsonDepth) {
    SendError(res, Status::InvalidArgument("too_deep", fmt::format("the request body nests arrays and objects deeper "
                                                                   "than {} levels, the limit", kMaxJsonDepth)));
    return std::nullopt;
  }
  json out = json::parse(req.body, nullptr, false);
  if (!out.is_discarded()) return out;
  SendError(res, Status::InvalidArgument("malformed_json", req.body.empty() ? "the request body is empty; expected JSON"
                                                                            : "the request body is not valid JSON"));
  return std::nullopt;
}

std::optional<size_t> ParseSize(const Req& req, const char* name, size_t def, Res& res) {
  if (!req.has_param(name)) return def;
  const std::string v = req.get_param_value(name);
  size_t pos = 0;
  try {
    long long x = std::stoll(v, &pos);
    if (pos == v.size() && x >= 0) return static_cast<size_t>(x);
  } catch (...) {
  }
  SendError(res, Status::InvalidArgument("bad_parameter",
                                         fmt::format("parameter {} must be a non-negative integer, got '{}'", name, v)));
  return std::nullopt;
}

std::optional<float> ParseUnitFloat(const Req& req, const char* name, float def, float lo, float hi, Res& res) {
  if (!req.has_param(name)) return def;
  const std::string v = req.get_param_value(name);
  size_t pos = 0;
  try {
    const float x = std::stof(v, &pos);
    if (pos == v.size() && std::isfinite(x) && x >= lo && x <= hi) return x;
  } catch (...) {
  }
  SendError(res, Status::InvalidArgument("bad_parameter", fmt::format("parameter {} must be a number in [{}, {}], got '{}'",
                                                                      name, lo, hi, v)));
  return std::nullopt;
}

void ErrorHandler(const Req& req, Res& res) {
  if (!res.body.empty()) return;
  if (auto e = CurrentConnectionError()) {  // a deadline or size limit of connection.cc, whatever httplib made of it
    if (req.get_header_value("Connection") != "close") res.set_header("Connection", "close");  // else httplib says it
    return SendJson(res, e->status, json{{"error", {{"code", e->code}, {"message", e->message}}}});
  }
  const int code = res.status;
  if (code == 413)
    SendError(res, Status::TooLarge("payload_too_large", "the request body is larger than the limit"));
  else if (code == 404)
    SendError(res, Status::NotFound("not_found", "no route " + req.method + " " + req.path));
  else
    SendJson(res, code, json{{"error", {{"code", "http_error"}, {"message", "HTTP error " + std::to_string(code)}}}});
  res.status = code;
}

}  // namespace vane::http
