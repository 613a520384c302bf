// vane store check|repair: what a store folder holds and where it is damaged (read-only), and saving what can be
// saved from a damaged one (after copying it).
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "vane/store/store.h"

namespace vane::cli {

namespace {

int RunCheck(const std::string& dir) {
  StoreCheckReport r = CheckStore(dir);
  std::cout << fmt::format("store {}\n", dir) << r.ToString();
  if (!r.clean()) std::cout << fmt::format("(repair: vane store repair --store {})\n", dir);
  return r.clean() ? 0 : kExitFail;
}

int RunRepair(const std::string& dir) {
  auto r = RepairStore(dir);
  if (!r.ok()) return Fail(r.status());
  std::cout << fmt::format("store {}\n", dir) << r->ToString();
  return 0;
}

}  // namespace

Command AddStoreCommand(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("store", "check a store folder, or repair a damaged one");
  cmd->require_subcommand(1);
  CLI::App* check = cmd->add_subcommand(
      "check", "read-only: list the files, verify every checksum, read every event and item; exit 1 on problems");
  check->add_option("--store", *dir, "store directory")->required();
  CLI::App* repair = cmd->add_subcommand(
      "repair", "save what can be saved from a damaged store (a copy of the folder is kept as DIR.damaged-<time>)");
  repair->add_option("--store", *dir, "store directory")->required();
  return {cmd, [dir, check] { return check->parsed() ? RunCheck(*dir) : RunRepair(*dir); }};
}

}  // namespace vane::cli
