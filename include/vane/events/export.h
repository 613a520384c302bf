// Writes a Dataset in vane's native format (items.jsonl + events.jsonl, docs/data_formats.md), so a cleaned
// import can be re-read with --format vane.
#pragma once

#include <string>

#include "vane/core/status.h"
#include "vane/events/dataset.h"

namespace vane {

Status WriteDataset(const Dataset& ds, const std::string& dir);

}  // namespace vane
