#include "vane/events/export.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace vane {

Status WriteDataset(const Dataset& ds, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  {
    std::ofstream out(dir + "/items.jsonl");
    if (!out) return Status::IoError("cannot write " + dir + "/items.jsonl: " + std::strerror(errno));
    for (uint32_t i = 0; i < ds.catalog.size(); ++i) {
      const Item& it = ds.catalog.item(ItemIdx(i));
      nlohmann::json j = {{"id", it.id}, {"type", it.type}, {"title", it.title}, {"categories", it.categories},
                          {"available", it.available}, {"created", it.created}};
      if (!it.text.empty()) j["text"] = it.text;
      nlohmann::json attrs = nlohmann::json::object();
      for (const auto& [k, v] : it.attributes) attrs[k] = v;
      j["attributes"] = attrs;
      out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    }
  }
  std::ofstream out(dir + "/events.jsonl");
  if (!out) return Status::IoError("cannot write " + dir + "/events.jsonl: " + std::strerror(errno));
  for (const Event& e : ds.events) {
    nlohmann::json j = {{"user", ds.users.Name(e.user.v)}, {"action", ds.actions.spec(e.action).name}, {"ts", e.ts}};
    if (e.item.valid()) j["item"] = ds.catalog.item(e.item).id;
    if (e.query != kNoQuery) j["query"] = ds.queries.Name(e.query);
    if (e.has_value) j["value"] = e.value;
    if (e.session != kNoSession) j["session"] = ds.sessions.Name(e.session);
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
  if (!out) return Status::IoError("write failed: " + dir + "/events.jsonl");
  return Status::Ok();
}

}  // namespace vane
