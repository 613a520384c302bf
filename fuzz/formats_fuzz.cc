// The dataset converters (events/formats.h, LoadDataset): the first input byte picks the format, the rest holds
// its data file and the metadata files read beside it, split at lines ending in \x1e (fuzz_util.h SplitParts):
//   vane        events.jsonl | items.jsonl | actions.json          ml-100k    u.data | u.item | u.genre
//   ml-csv      ratings.csv | movies.csv | tags.csv                ml-1m      ratings.dat | movies.dat
//   pairs       data.txt | sas_to_original_items.txt | movies.dat  sequences  Beauty.txt | Beauty_item2attributes.json
//   yoochoose   yoochoose-clicks.dat                               diginetica train-item-views.csv | products.csv |
//   taobao      UserBehavior.csv                                              product-categories.csv
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "vane/events/dataset.h"
#include "vane/events/formats.h"

namespace {

struct Layout {
  vane::Format format;
  std::vector<const char*> files;  // the data file first
  bool folder;                     // LoadDataset gets the folder (else the data file)
};

const std::vector<Layout>& Layouts() {
  static const std::vector<Layout> kLayouts = {
      {vane::Format::kVane, {"events.jsonl", "items.jsonl", "actions.json"}, true},
      {vane::Format::kMovieLens100k, {"u.data", "u.item", "u.genre"}, true},
      {vane::Format::kMovieLensCsv, {"ratings.csv", "movies.csv", "tags.csv"}, true},
      {vane::Format::kMovieLens1m, {"ratings.dat", "movies.dat"}, true},
      {vane::Format::kPairs, {"data.txt", "sas_to_original_items.txt", "movies.dat"}, false},
      {vane::Format::kSequences, {"Beauty.txt", "Beauty_item2attributes.json"}, false},
      {vane::Format::kYoochoose, {"yoochoose-clicks.dat"}, true},
      {vane::Format::kDiginetica, {"train-item-views.csv", "products.csv", "product-categories.csv"}, true},
      {vane::Format::kTaobao, {"UserBehavior.csv"}, false},
  };
  return kLayouts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Layout& layout = Layouts()[data[0] % Layouts().size()];
  auto parts = vane::fuzz::SplitParts(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1),
                                      layout.files.size());
  vane::fuzz::ClearScratch();
  std::string data_file;
  for (size_t k = 0; k < parts.size(); ++k) {
    std::string p = vane::fuzz::WriteScratch(layout.files[k], parts[k]);
    if (k == 0) data_file = p;
  }
  vane::LoadOptions opt;
  opt.import.progress = false;
  opt.import.on_error = (data[0] & 0x80) ? vane::OnError::kFail : vane::OnError::kSkip;
  vane::Dataset ds;
  vane::ImportReport report;
  vane::Status s = vane::LoadDataset(layout.format, layout.folder ? vane::fuzz::ScratchDir() : data_file, opt, ds, report);
  FUZZ_CHECK(s.code() != vane::StatusCode::kInternal);  // an exception escaped a converter
  // vane's folder reads items.jsonl first, its items counted as accepted records too.
  if (layout.format != vane::Format::kVane) FUZZ_CHECK(ds.events.size() == report.accepted);
  FUZZ_CHECK(report.records_read == report.accepted + report.rejected + report.duplicates);
  FUZZ_CHECK(ds.catalog.size() >= report.items_created);
  return 0;
}
