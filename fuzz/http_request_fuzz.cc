// An HTTP request as `vane serve` receives it, up to vane's own parsing. cpp-httplib's request reading
// (Server::parse_request_line, detail::read_headers) is private to its library, so its steps are mirrored here
// with the detail functions its header declares: the request line split by detail::split (method, target,
// version; path ? query), the path decoded by detail::decode_url, the query parsed by detail::parse_query_text,
// "Name: value" header lines trimmed by detail::trim_copy, a Range header parsed by detail::parse_range_header.
// Then vane's parsing of what a handler reads (src/serve/http/errors.cc ParseSize for n/offset/now, ParseBody,
// SplitList of the list parameters, the key headers) and the error page (ErrorHandler).
// cpp-httplib comes from Debian as a shared library built without instrumentation: its code runs (a crash in it
// is caught) but libFuzzer sees no coverage inside it.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "internal.h"
#include "vane/core/strings.h"

// connection.cc (the socket layer, with the server) is not in the fuzz build: outside a connection's worker thread
// the real function answers nullopt too, so ErrorHandler behaves here as it does for a request without a
// connection error.
std::optional<vane::http::ConnectionError> vane::http::CurrentConnectionError() { return std::nullopt; }

namespace {

// cpp-httplib 0.11.4 Server::parse_request_line, less its lists of methods and versions.
bool ParseRequestLine(const std::string& line, httplib::Request& req) {
  size_t count = 0;
  httplib::detail::split(line.data(), line.data() + line.size(), ' ', [&](const char* b, const char* e) {
    if (count == 0) req.method.assign(b, e);
    else if (count == 1) req.target.assign(b, e);
    else if (count == 2) req.version.assign(b, e);
    ++count;
  });
  if (count != 3) return false;
  count = 0;
  httplib::detail::split(req.target.data(), req.target.data() + req.target.size(), '?', [&](const char* b, const char* e) {
    if (count == 0) req.path = httplib::detail::decode_url(std::string(b, e), false);
    else if (count == 1 && e > b) httplib::detail::parse_query_text(std::string(b, e), req.params);
    ++count;
  });
  return count <= 2;
}

// "Name: value" lines up to an empty one (cpp-httplib's detail::read_headers and parse_header); returns the rest
// (the body), or nullopt for a malformed header block.
std::optional<std::string_view> ParseHeaders(std::string_view in, httplib::Request& req) {
  while (true) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view line = in.substr(0, eol);
    in.remove_prefix(eol + 2);
    if (line.empty()) return in;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    req.headers.emplace(httplib::detail::trim_copy(std::string(line.substr(0, colon))),
                        httplib::detail::decode_url(httplib::detail::trim_copy(std::string(line.substr(colon + 1))), false));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t eol = in.find("\r\n");
  if (eol == std::string_view::npos) return 0;
  httplib::Request req;
  if (!ParseRequestLine(std::string(in.substr(0, eol)), req)) return 0;
  auto body_text = ParseHeaders(in.substr(eol + 2), req);
  if (!body_text) return 0;
  req.body = std::string(*body_text);
  if (req.has_header("Range")) httplib::detail::parse_range_header(req.get_header_value("Range"), req.ranges);

  httplib::Response res;
  for (const char* name : {"n", "offset", "now"}) {
    auto v = vane::http::ParseSize(req, name, 10, res);
    if (!v) {
      FUZZ_CHECK(res.status == 400);
      FUZZ_CHECK(!res.body.empty());
      res = httplib::Response();
    }
  }
  for (const char* name : {"categories", "exclude", "slates", "type", "q", "category"})
    for (const auto& x : vane::SplitList(req.get_param_value(name))) FUZZ_CHECK(!x.empty());
  (void)req.get_header_value("X-API-Key");
  (void)req.get_header_value("X-API-Version");
  auto body = vane::http::ParseBody(req, res);
  if (!body) {
    FUZZ_CHECK(res.status == 400);
    res = httplib::Response();
  }
  res.status = req.path.size() % 2 ? 404 : 413;
  vane::http::ErrorHandler(req, res);
  FUZZ_CHECK(!res.body.empty());
  return 0;
}
