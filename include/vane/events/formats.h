// Ready converters for public datasets and the sequential-recommendation literature's files.
//
// LoadDataset reads a file (or a dataset folder) in one of the known formats, joins item metadata found beside it
// (titles, genres, tags, attributes) and fills a Dataset through the same cleaning rules as cleaner.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/dataset.h"
#include "vane/events/cleaner.h"

namespace vane {

enum class Format {
  kVane,            // folder or file: items.jsonl + events.jsonl (vane's native format)
  kMovieLens100k,   // u.data (user \t item \t rating \t ts), joins u.item (titles, genres)
  kMovieLensCsv,    // ratings.csv of ml-latest-small/ml-25m (userId,movieId,rating,timestamp), joins movies.csv, tags.csv
  kMovieLens1m,     // ratings.dat (UserID::MovieID::Rating::Timestamp), joins movies.dat
  kPairs,           // "user item" per line, grouped by user in order (ml-1m_sasrec.txt, BERT4Rec beauty.txt);
                    // for ml-1m_sasrec.txt joins titles/genres via sas_to_original_items.txt + movies.dat
  kSequences,       // "user item item ..." per line (S3-Rec Beauty.txt); joins <Name>_item2attributes.json
  kYoochoose,       // session,timestamp(ISO),item,category (RecSys'15 clicks)
  kDiginetica,      // session_id;user_id;item_id;timeframe;eventdate
  kTaobao,          // Taobao behaviour csv (user,item,category,behavior,ts[,name,...]) with Chinese item text
};

Result<Format> ParseFormat(std::string_view name);  // "vane","ml-100k","ml-csv","ml-1m","pairs","sequences",...
std::vector<std::string> FormatNames();

struct LoadOptions {
  ImportOptions import;
  // Order-only formats (pairs, sequences) get synthetic timestamps: base + position * seconds_per_step per user.
  Timestamp synthetic_base = 1000000000;
  int64_t synthetic_step = 60;
  size_t max_events = 0;   // 0 = all; otherwise stop after this many accepted events (smoke runs)
};

// Loads `path` (a file; metadata is looked up in its folder) into ds. Sets ds.name, ds.actions (preset matching
// the format: implicit for benchmark files, ecommerce for yoochoose/diginetica/taobao) and ds.has_timestamps.
Status LoadDataset(Format format, const std::string& path, const LoadOptions& opt, Dataset& ds,
                   ImportReport& report);

}  // namespace vane
