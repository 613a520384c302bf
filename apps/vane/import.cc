// vane import: reads, validates and cleans a data file; prints the import report and the dataset's size.
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "vane/events/export.h"
#include "vane/events/formats.h"

namespace vane::cli {

namespace {

struct ImportArgs {
  DataFlags data;
  std::string out, report_json;
};

// Reads a file with its full report on stdout (and as JSON when asked); generated data has no report.
Status Read(const ImportArgs& a, Dataset& ds) {
  if (a.data.format == "generated") return Load(a.data, ds);
  ImportReport report;
  Status s = LoadFile(a.data, ds, report);
  report.Print(std::cout, 20);
  if (!a.report_json.empty()) VANE_RETURN_IF_ERROR(WriteText(a.report_json, report.ToJson() + "\n"));
  return s;
}

int RunImport(const ImportArgs& a) {
  Dataset ds;
  if (Status s = Read(a, ds); !s.ok()) return Fail(s);
  std::cout << fmt::format("dataset {}: {} users, {} items, {} events, {} queries, {} categories, timestamps: {}\n",
                           ds.name, ds.num_users(), ds.num_items(), ds.events.size(), ds.queries.size(),
                           ds.catalog.category_vocab().size(), ds.has_timestamps ? "yes" : "order only");
  if (!a.out.empty()) {
    if (Status w = WriteDataset(ds, a.out); !w.ok()) return Fail(w);
    std::cout << "wrote cleaned data to " << a.out << "\n";
  }
  return 0;
}

}  // namespace

Command AddImportCommand(CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand("import", "read, validate and clean a data file; print the report");
  AddDataFlags(cmd, a->data);
  cmd->add_option("--out", a->out, "write the cleaned data in vane's format to this folder");
  cmd->add_option("--report-json", a->report_json, "write the import report as JSON");
  return {cmd, [a] { return RunImport(*a); }};
}

}  // namespace vane::cli
