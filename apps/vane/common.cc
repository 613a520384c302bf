#include "common.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "vane/eval/capture.h"
#include "vane/events/iso8601.h"

namespace vane::cli {

void AddDataFlags(CLI::App* app, DataFlags& f) {
  app->add_option("--format", f.format,
                  "generated (built-in demo data), vane, ml-100k, ml-csv, ml-1m, pairs, sequences, yoochoose, "
                  "diginetica, taobao")
      ->capture_default_str();
  app->add_option("--input", f.input, "file or folder to read (not needed for --format generated)");
  app->add_option("--on-error", f.on_error, "skip: report bad records and go on; fail: stop at the first")
      ->check(CLI::IsMember({"skip", "fail"}))
      ->capture_default_str();
  app->add_option("--max-events", f.max_events, "stop after this many accepted events (0 = all)");
  app->add_option("--seed", f.seed, "seed of the generated data")->capture_default_str();
  app->add_option("--users", f.users, "users of the generated data")->capture_default_str();
  app->add_flag("--quiet", f.quiet, "no progress bar or import summary");
}

LoadOptions ToLoadOptions(const DataFlags& f) {
  LoadOptions lo;
  lo.import.on_error = f.on_error == "fail" ? OnError::kFail : OnError::kSkip;
  lo.import.progress = !f.quiet;
  lo.max_events = f.max_events;
  return lo;
}

Status Load(const DataFlags& f, Dataset& ds, gen::Generated* gen_out) {
  ImportReport report;
  if (f.format == "generated") {
    gen::GenOptions go;
    go.seed = f.seed;
    go.users = f.users;
    gen::Generated g = gen::Generate(go);
    VANE_RETURN_IF_ERROR(BuildGeneratedDataset(g, ds, report));
    if (gen_out) *gen_out = std::move(g);
    return Status::Ok();
  }
  VANE_ASSIGN_OR_RETURN(Format format, ParseFormat(f.format));
  if (f.input.empty()) return Status::InvalidArgument("--input is required with --format " + f.format);
  Status s = LoadDataset(format, f.input, ToLoadOptions(f), ds, report);
  if (!f.quiet || !s.ok()) report.Print(std::cerr, 10);
  return s;
}

int Fail(const Status& s) {
  std::cerr << "error: " << s.ToString() << "\n";
  return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFail;
}

void IngestAll(const Dataset& ds, Engine& engine, bool quiet) {
  std::vector<uint32_t> order(ds.events.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  if (ds.has_timestamps)
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return ds.events[a].ts < ds.events[b].ts; });
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i : order) engine.Ingest(ds.events[i]);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!quiet)
    std::cerr << fmt::format("ingested {} events for {} users in {:.3f} s ({:.0f} events/s)\n", ds.events.size(),
                             ds.num_users(), s, s > 0 ? ds.events.size() / s : 0.0);
}

Timestamp DataNow(const Dataset& ds) {
  Timestamp t = 0;
  for (const Event& e : ds.events) t = std::max(t, e.ts);
  return t + 60;
}

Result<Timestamp> ParseNow(const std::string& text, Timestamp fallback) {
  if (text.empty()) return fallback;
  Timestamp t = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), t);
  if (ec == std::errc() && end == text.data() + text.size() && t >= 0) return t;
  auto iso = ParseIso8601(text);
  if (iso.ok()) return iso;
  return Status::InvalidArgument("--now: expected unix seconds or an ISO-8601 time, got '" + text + "'");
}

Status WriteText(const std::string& path, const std::string& text) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Status::IoError(fmt::format("cannot create {}: {}", parent.string(), ec.message()));
  std::ofstream out(path);
  if (!out) return Status::IoError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  out << text;
  if (!out.flush()) return Status::IoError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  return Status::Ok();
}

void PrintRecs(const RecommendResponse& r, bool zh) {
  std::cout << fmt::format("strategy: {} ({})\n", StrategyName(r.strategy), r.strategy_reason);
  int k = 0;
  for (const auto& x : r.items)
    std::cout << fmt::format("{:2}. [{}] {} \"{}\"  score {:.3f} via {}\n      {}\n", ++k, x.type, x.id, x.title,
                             x.score, x.source, zh ? x.reason_zh : x.reason_en);
  for (const auto& [t, v] : r.slates) {
    std::cout << "slate " << t << ":\n";
    for (const auto& x : v)
      std::cout << fmt::format("    {} \"{}\" - {}\n", x.id, x.title, zh ? x.reason_zh : x.reason_en);
    if (v.empty()) std::cout << "    (no available item of this type)\n";
  }
}

}  // namespace vane::cli
