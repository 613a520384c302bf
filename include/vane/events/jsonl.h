// vane's native JSONL files: one event or item (json_records.h) per line, read through the cleaning rules of
// cleaner.h.
#pragma once

#include <string>

#include "vane/core/status.h"
#include "vane/events/cleaner.h"

namespace vane {

// One JSON event object per line; "ts" may be a number (unix seconds) or an ISO-8601 string.
Status ImportEventsJsonl(const std::string& path, const ImportOptions& opt, Dataset& ds, ImportReport& report);
// One JSON item object per line; an item already in the catalogue is replaced.
Status ImportItemsJsonl(const std::string& path, const ImportOptions& opt, Dataset& ds, ImportReport& report);

}  // namespace vane
