// Prometheus: the request metrics the router records, and the service's gauges and counters (/metrics).
#include <fmt/format.h>

#include "internal.h"

namespace vane::http {

void Metrics::Observe(const std::string& route, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++count_[{route, status}];
  Hist& h = hist_[route];
  for (size_t b = 0; b < kBounds.size(); ++b)
    if (seconds <= kBounds[b]) ++h.buckets[b];
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::Text() const {
  std::lock_guard lock(mu_);
  std::string out = "# HELP vane_http_requests_total HTTP requests by route and status.\n"
                    "# TYPE vane_http_requests_total counter\n";
  for (const auto& [k, n] : count_)
    out += fmt::format("vane_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", k.first, k.second, n);
  out += "# HELP vane_http_request_seconds HTTP request latency by route.\n"
         "# TYPE vane_http_request_seconds histogram\n";
  for (const auto& [r, h] : hist_) {
    for (size_t b = 0; b < kBounds.size(); ++b)
      out += fmt::format("vane_http_request_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", r, kBounds[b], h.buckets[b]);
    out += fmt::format("vane_http_request_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", r, h.count);
    out += fmt::format("vane_http_request_seconds_sum{{route=\"{}\"}} {}\n", r, h.sum);
    out += fmt::format("vane_http_request_seconds_count{{route=\"{}\"}} {}\n", r, h.count);
  }
  return out;
}

void MetricsPage(const Ctx& c, const Req&, Res& res) {
  auto s = c.service.GetStats();
  std::string out = c.metrics.Text();
  out += fmt::format(
      "# TYPE vane_events_ingested_total counter\nvane_events_ingested_total {}\n"
      "# TYPE vane_events_rejected_total counter\nvane_events_rejected_total {}\n"
      "# TYPE vane_events gauge\nvane_events {}\n# TYPE vane_users gauge\nvane_users {}\n"
      "# TYPE vane_items gauge\nvane_items {}\n# TYPE vane_state_bytes gauge\nvane_state_bytes {}\n"
      "# TYPE vane_store_bytes gauge\nvane_store_bytes {}\n"
      "# TYPE vane_recovery_seconds gauge\nvane_recovery_seconds {}\n"
      "# TYPE vane_events_in_memory gauge\nvane_events_in_memory {}\n"
      "# TYPE vane_model_info gauge\nvane_model_info{{version=\"{}\"}} 1\n",
      s.accepted, s.rejected, s.events, s.users, s.items, s.state_bytes, s.store_bytes, s.recovery_seconds,
      s.events_in_memory, s.model_version);
  OnlineStats online = c.service.Online();
  out += "# TYPE vane_online_ctr gauge\n";
  for (const auto& [strategy, o] : online.by_strategy)
    out += fmt::format("vane_online_ctr{{strategy=\"{}\"}} {}\n", strategy, o.ctr());
  out += "# TYPE vane_online_variant_ctr gauge\n";
  for (const auto& [variant, o] : online.by_variant)
    out += fmt::format("vane_online_variant_ctr{{variant=\"{}\"}} {}\n", variant, o.ctr());
  res.set_content(out, "text/plain; version=0.0.4");
}

}  // namespace vane::http
