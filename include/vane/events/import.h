// Cleaning import of behaviour and catalogue files: an umbrella over the headers of each part.
//
//   events/cleaner.h       EventCleaner, ImportOptions, ImportReport, RejectRecord (the validation and counting rules)
//   events/csv.h           CsvMapping, ImportEventsCsv, SplitCsv
//   events/json_records.h  RawEventFromJson, ItemFromJson
//   events/jsonl.h         ImportEventsJsonl, ImportItemsJsonl
//   events/iso8601.h       ParseIso8601
//   events/line_reader.h   LineReader
//
// New code includes the header it needs.
#pragma once

#include "vane/events/cleaner.h"
#include "vane/events/csv.h"
#include "vane/events/iso8601.h"
#include "vane/events/json_records.h"
#include "vane/events/jsonl.h"
#include "vane/events/line_reader.h"
