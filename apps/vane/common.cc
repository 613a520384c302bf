#include "common.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "vane/eval/capture.h"
#include "vane/core/strings.h"
#include "vane/events/csv.h"
#include "vane/events/iso8601.h"
#include "vane/events/jsonl.h"

namespace vane::cli {

void AddDataFlags(CLI::App* app, DataFlags& f) {
  app->add_option("--format", f.format,
                  "generated (built-in demo data), vane (alias jsonl), csv (any delimited file: see --columns), "
                  "ml-100k, ml-csv, ml-1m, pairs, sequences, yoochoose, diginetica, taobao; serve also takes none "
                  "(a new store starts empty)")
      ->capture_default_str();
  auto* csv = app->add_option_group("csv", "--format csv: a delimited events file of any layout");
  csv->add_option("--columns", f.columns,
                  "which column holds what, e.g. user=uid,item=product,action=type,ts=time (fields: user item query "
                  "action ts value session context; a column is a header name, or its number from 0)");
  csv->add_option("--delimiter", f.delimiter, "one character; \\t for tab")->capture_default_str();
  csv->add_flag("--no-header", f.no_header, "the first line is data (columns are numbered from 0)");
  csv->add_option("--time-format", f.time_format, "unix (seconds), ms (unix milliseconds) or iso8601")
      ->check(CLI::IsMember({"unix", "ms", "iso8601"}))
      ->capture_default_str();
  csv->add_option("--default-action", f.default_action, "the action of rows with no action column or an empty one");
  csv->add_option("--items", f.items, "an items.jsonl with the catalogue (titles, categories, text)");
  csv->add_option("--actions", f.actions, "the action preset: ecommerce, video, social, news, travel")
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

namespace {

// --columns user=uid,item=product,...: each named field of the mapping set to a column.
Status ParseColumns(const std::string& text, CsvMapping& m) {
  std::map<std::string, std::string*> fields = {{"user", &m.user},     {"item", &m.item}, {"query", &m.query},
                                                {"action", &m.action}, {"ts", &m.ts},     {"value", &m.value},
                                                {"session", &m.session}, {"context", &m.context}};
  for (const std::string& part : SplitList(text)) {
    const size_t eq = part.find('=');
    if (eq == std::string::npos)
      return Status::InvalidArgument("--columns: expected field=column, got '" + part + "'");
    const std::string field = part.substr(0, eq);
    auto it = fields.find(field);
    if (it == fields.end())
      return Status::InvalidArgument("--columns: unknown field '" + field +
                                     "' (fields: user item query action ts value session context)");
    *it->second = part.substr(eq + 1);
  }
  return Status::Ok();
}

Status LoadCsv(const DataFlags& f, Dataset& ds, ImportReport& report) {
  CsvMapping m;
  VANE_RETURN_IF_ERROR(ParseColumns(f.columns, m));
  const std::string delim = f.delimiter == "\\t" || f.delimiter == "tab" ? "\t" : f.delimiter;
  if (delim.size() != 1)
    return Status::InvalidArgument("--delimiter: expected one character (or \\t), got '" + f.delimiter + "'");
  m.delimiter = delim[0];
  m.has_header = !f.no_header;
  m.default_action = f.default_action;
  m.time_format = f.time_format == "ms"        ? CsvMapping::TimeFormat::kUnixMillis
                  : f.time_format == "iso8601" ? CsvMapping::TimeFormat::kIso8601
                                               : CsvMapping::TimeFormat::kUnixSeconds;
  VANE_ASSIGN_OR_RETURN(ds.actions, ActionRegistry::Preset(f.actions));
  ds.name = std::filesystem::path(f.input).stem().string();
  LoadOptions lo = ToLoadOptions(f);
  if (!f.items.empty()) VANE_RETURN_IF_ERROR(ImportItemsJsonl(f.items, lo.import, ds, report));
  return ImportEventsCsv(f.input, m, lo.import, ds, report);
}

}  // namespace

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
  Status s = LoadFile(f, ds, report);
  if (!f.quiet || !s.ok()) report.Print(std::cerr, 10);
  return s;
}

Status LoadFile(const DataFlags& f, Dataset& ds, ImportReport& report) {
  if (f.input.empty()) return Status::InvalidArgument("--input is required with --format " + f.format);
  if (f.format == "csv") return LoadCsv(f, ds, report);
  VANE_ASSIGN_OR_RETURN(Format format, ParseFormat(f.format));
  return LoadDataset(format, f.input, ToLoadOptions(f), ds, report);
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
