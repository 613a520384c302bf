// Prometheus (/metrics): the request metrics the router records, the service's counters and gauges, the process's
// own (process_*), the build and the model. Conventions (prometheus.io/docs/practices/naming): a HELP and TYPE line
// for every family; counters end in _total; units in the name (_seconds, _bytes); ratios are left to the query
// (impressions, clicks and conversions are counters, summed across instances before dividing).
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "internal.h"
#include "vane_version.h"

namespace vane::http {
namespace {

// A label value in the exposition format: backslash, double quote and line feed escaped.
std::string Esc(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Family(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <typename T>
void One(std::string& out, const char* name, const char* type, const char* help, T value) {
  Family(out, name, type, help);
  out += fmt::format("{} {}\n", name, value);
}

// process_* as the Prometheus client libraries export them, from /proc/self (Linux).
void ProcessMetrics(std::string& out) {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return;
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> f;  // f[0] is field 3 (state)
  for (std::string x; fields >> x;) f.push_back(x);
  if (f.size() < 22) return;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double cpu = (std::stod(f[11]) + std::stod(f[12])) / tick;  // utime + stime
  const double start_ticks = std::stod(f[19]);
  const double vsize = std::stod(f[20]);
  const double rss = std::stod(f[21]) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  double btime = 0;
  std::ifstream sys("/proc/stat");
  for (std::string line; std::getline(sys, line);)
    if (line.starts_with("btime ")) btime = std::stod(line.substr(6));
  size_t fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  One(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu);
  One(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss);
  One(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", vsize);
  One(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
      btime + start_ticks / tick);
  One(out, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
  One(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", lim.rlim_cur);
}

void OnlineFamilies(std::string& out, const std::map<std::string, OnlineCounts>& groups, const char* label,
                    const char* what, const char* help_suffix) {
  struct F {
    const char* suffix;
    uint64_t OnlineCounts::*field;
    const char* help;
  };
  static constexpr F kFields[] = {{"impressions", &OnlineCounts::impressions, "Recommended items shown to clients"},
                                  {"clicks", &OnlineCounts::clicks, "Clicks on recommended items"},
                                  {"conversions", &OnlineCounts::conversions, "Conversions of recommended items"}};
  for (const F& f : kFields) {
    const std::string name = fmt::format("vane_{}_{}_total", what, f.suffix);
    Family(out, name.c_str(), "counter", fmt::format("{} {} (POST /v1/feedback).", f.help, help_suffix).c_str());
    for (const auto& [k, o] : groups) out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, Esc(k), o.*f.field);
  }
}

}  // namespace

void Metrics::Observe(const std::string& method, const std::string& route, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++count_[{method, route, status}];
  Hist& h = hist_[{method, route}];
  for (size_t b = 0; b < kBounds.size(); ++b)
    if (seconds <= kBounds[b]) ++h.buckets[b];
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::Text() const {
  std::lock_guard lock(mu_);
  std::string out;
  Family(out, "vane_http_requests_total", "counter",
         "HTTP requests by method, route and status code; route (no route) for paths no route matches, (over "
         "capacity) for connections refused at the connection limit, (refused) for requests refused before routing.");
  for (const auto& [k, n] : count_)
    out += fmt::format("vane_http_requests_total{{method=\"{}\",route=\"{}\",code=\"{}\"}} {}\n", Esc(std::get<0>(k)),
                       Esc(std::get<1>(k)), std::get<2>(k), n);
  Family(out, "vane_http_request_seconds", "histogram",
         "HTTP request latency by method and route, from routing to the handler's answer (live streams: until "
         "their first message).");
  for (const auto& [k, h] : hist_) {
    const std::string l = fmt::format("method=\"{}\",route=\"{}\"", Esc(k.first), Esc(k.second));
    for (size_t b = 0; b < kBounds.size(); ++b)
      out += fmt::format("vane_http_request_seconds_bucket{{{},le=\"{}\"}} {}\n", l, kBounds[b], h.buckets[b]);
    out += fmt::format("vane_http_request_seconds_bucket{{{},le=\"+Inf\"}} {}\n", l, h.count);
    out += fmt::format("vane_http_request_seconds_sum{{{}}} {}\n", l, h.sum);
    out += fmt::format("vane_http_request_seconds_count{{{}}} {}\n", l, h.count);
  }
  return out;
}

void MetricsPage(const Ctx& c, const Req&, Res& res) {
  auto s = c.service.GetStats();
  std::string out = c.metrics.Text();
  One(out, "vane_events_ingested_total", "counter", "Events accepted and stored since the process started.", s.accepted);
  One(out, "vane_events_rejected_total", "counter", "Events refused (bad records) since the process started.", s.rejected);
  One(out, "vane_events_duplicates_total", "counter", "Events dropped as duplicates since the process started.",
      s.duplicates);
  One(out, "vane_events", "gauge", "Events in the store.", s.events);
  One(out, "vane_events_in_memory", "gauge", "Events kept in memory (the window of the live state).", s.events_in_memory);
  One(out, "vane_users", "gauge", "Users with events.", s.users);
  One(out, "vane_items", "gauge", "Items in the catalogue.", s.items);
  One(out, "vane_state_bytes", "gauge", "Approximate memory of the live state (interest graph, statistics), bytes.",
      s.state_bytes);
  One(out, "vane_store_bytes", "gauge", "Size of the store's files on disk (tables, logs, manifest), bytes.",
      s.store_bytes);
  One(out, "vane_recovery_seconds", "gauge", "Seconds the last start took to load the state (snapshot and log).",
      s.recovery_seconds);
  One(out, "vane_model_prepared_users", "gauge",
      "Users whose model state the background pass has ready since the state or model was last replaced.",
      s.model_prepared_users);
  One(out, "vane_rebuilds_total", "counter", "Background rebuilds of the state swapped in (after deletions).", s.rebuilds);
  One(out, "vane_pending_erasures", "gauge", "Deleted users not yet erased from the store's files.", s.pending_erasures);
  if (s.cluster) {
    One(out, "vane_cluster_lag_ms", "gauge",
        "Cluster mode: the wall clock minus the shared log's watermark on this node, milliseconds.", s.cluster_lag_ms);
    One(out, "vane_cluster_log_rejected_total", "counter", "Cluster mode: malformed shared-log entries skipped.",
        s.cluster_log_rejected);
    One(out, "vane_cluster_applying", "gauge",
        "Cluster mode: 1 while this node applies the shared log, 0 when it cannot (see /v1/stats cluster.error).",
        s.cluster_error.empty() ? 1 : 0);
    One(out, "vane_cluster_snapshots_written_total", "counter", "Cluster mode: cluster snapshots this node wrote.",
        s.cluster_snapshots_written);
    One(out, "vane_cluster_trimmed_entries_total", "counter",
        "Cluster mode: shared-log entries this node trimmed behind the snapshots.", s.cluster_trimmed_entries);
  }
  One(out, "vane_snapshots_written_total", "counter", "State snapshots written.", s.snapshots_written);
  Family(out, "vane_model_info", "gauge", "The behaviour model version served (none: no model); always 1.");
  out += fmt::format("vane_model_info{{version=\"{}\"}} 1\n", Esc(s.model_version.empty() ? "none" : s.model_version));
  Family(out, "vane_build_info", "gauge", "The vane version and commit this process runs; always 1.");
  out += fmt::format("vane_build_info{{version=\"{}\",commit=\"{}\"}} 1\n", VANE_VERSION, VANE_COMMIT);
  OnlineStats online = c.service.Online();
  OnlineFamilies(out, online.by_strategy, "strategy", "online", "by the strategy that served them");
  OnlineFamilies(out, online.by_variant, "variant", "online_variant", "by A/B variant");
  OnlineFamilies(out, online.by_source, "source", "online_source", "by the candidate source that placed them");
  ProcessMetrics(out);
  res.set_content(out, "text/plain; version=0.0.4");
}

}  // namespace vane::http
